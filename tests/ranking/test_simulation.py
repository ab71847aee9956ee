"""The offline evaluation: a small simulated world through the site's ranking code."""

import json

import pytest
from django.core.management import call_command

from trends.ranking import simulation
from trends.ranking.simulation import POLICIES, SimConfig, run_simulation

METRICS = ("ndcg_at_10", "recall_at_10", "intra_list_diversity", "category_coverage", "personalization")


def TinyConfig(seed: int = 0) -> SimConfig:  # noqa: N802 - stands in for the SimConfig class
    return SimConfig(
        seed=seed, n_users=120, days=4, train_days=3, events_per_day=60, latency_candidates=300, latency_runs=10
    )


def test_simulation_reports_every_policy_and_is_deterministic():
    a = run_simulation(cfg=TinyConfig(seed=3))
    b = run_simulation(cfg=TinyConfig(seed=3))
    for policy in POLICIES:
        assert set(a[policy]) == set(METRICS)
        assert a[policy] == b[policy]
        assert 0 <= a[policy]["ndcg_at_10"] <= 1
    assert a["rank_p50_ms"] > 0 and a["rank_p99_ms"] >= a["rank_p50_ms"]
    # Personalised policies differ between users; trend score alone shows everyone much the same.
    assert a["formula"]["personalization"] > a["popularity"]["personalization"]


def test_evaluate_ranking_command_prints_one_json_object(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(simulation, "SimConfig", TinyConfig)
    out = tmp_path / "eval.json"
    call_command("evaluate_ranking", "--seed", "1", "--json", str(out))
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    for policy in POLICIES:
        assert set(METRICS) <= set(printed[policy])
    assert {"rank_p50_ms", "rank_p99_ms"} <= set(printed)


@pytest.mark.parametrize("policy", POLICIES)
def test_policy_names_are_the_interface(policy):
    assert policy in ("chronological", "popularity", "formula", "learned")
