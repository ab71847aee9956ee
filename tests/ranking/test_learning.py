"""The learned model: training checks, artifacts, activation and the fallback to the formula."""

import datetime as dt

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import EngagementFactory, UserFactory
from trends.models import RankedItem, RankingModelVersion
from trends.ranking import rank_for_user
from trends.ranking.features import FEATURE_NAMES, F
from trends.ranking.learning import Checks, TrainingData, fit_ranker, grouped_ndcg
from trends.ranking.scoring import DEFAULT_WEIGHTS, FormulaScorer, LearnedScorer
from trends.ranking.selectors import RankConfig, ranking_caches_invalidate, scorer_for
from trends.ranking.services import model_train, training_data_from_log


def synthetic(*, signal: bool, lists: int = 1200, per_list: int = 10, seed: int = 0) -> TrainingData:
    """Clicks driven by velocity (a feature the formula ignores) when signal, by nothing otherwise."""
    rng = np.random.default_rng(seed)
    n = lists * per_list
    X = rng.random((n, len(FEATURE_NAMES))).astype(np.float32)
    X[:, F["dismissed"]] = 0
    X[:, F["boost"]] = 0
    X[:, F["pinned"]] = 0
    positions = np.tile(np.arange(per_list), lists)
    exam = 1.0 / (1.0 + positions)
    p = 0.05 + (0.9 * X[:, F["velocity"]] ** 3 if signal else 0.2)
    y = (rng.random(n) < exam * p).astype(np.int8)
    groups = np.repeat(np.arange(lists), per_list)
    explore = np.repeat(rng.random(lists) < 0.3, per_list)
    return TrainingData(X=X, y=y, positions=positions, groups=groups, times=groups.astype(float), explore=explore)


def test_grouped_ndcg_rewards_putting_clicks_first():
    labels = np.array([0, 1, 0, 0, 1, 0], dtype=float)
    groups = np.array([0, 0, 0, 1, 1, 1])
    perfect = np.array([0, 1, 0, 0, 1, 0], dtype=float)
    worst = -perfect
    assert grouped_ndcg(perfect, labels, groups) == pytest.approx(1.0)
    assert grouped_ndcg(worst, labels, groups) < 0.7


def test_model_that_learns_something_new_passes_its_checks():
    fit = fit_ranker(synthetic(signal=True), weights=DEFAULT_WEIGHTS, version="t1")
    assert fit.passed, fit.reason
    assert fit.metrics["check_basis"] == "randomised held-out lists"
    assert fit.metrics["ndcg_at_10_learned"] > fit.metrics["ndcg_at_10_formula"]
    X = np.zeros((2, len(FEATURE_NAMES)), dtype=np.float32)
    X[1, F["velocity"]] = 1.0
    s = fit.scorer.score(X)
    assert s[1] > s[0]


def test_model_that_cannot_beat_the_formula_fails_its_checks():
    fit = fit_ranker(synthetic(signal=False), weights=DEFAULT_WEIGHTS, version="t2")
    assert not fit.passed
    assert fit.scorer is not None  # trained and kept for inspection, but never served


def test_too_little_data_trains_nothing():
    data = synthetic(signal=True, lists=10)
    fit = fit_ranker(data, weights=DEFAULT_WEIGHTS, version="t3", checks=Checks(min_rows=1000))
    assert fit.scorer is None and not fit.passed
    assert fit.reason.startswith("too little data")


@pytest.mark.django_db
def test_no_model_means_formula():
    assert isinstance(scorer_for(RankConfig(weights=DEFAULT_WEIGHTS)), FormulaScorer)


@pytest.mark.django_db
def test_passing_model_is_saved_activated_and_served(make_event):
    outcome = model_train(data=synthetic(signal=True))
    version = outcome.version
    assert version.passed_checks and version.is_active
    assert version.metrics["ndcg_at_10_learned"] > version.metrics["ndcg_at_10_formula"]
    assert version.training_rows == 12000
    ranking_caches_invalidate()
    scorer = scorer_for(RankConfig(weights=DEFAULT_WEIGHTS))
    assert isinstance(scorer, LearnedScorer) and scorer.version == version.version
    # An experiment arm can still force the formula.
    assert isinstance(scorer_for(RankConfig(weights=DEFAULT_WEIGHTS, scorer="formula")), FormulaScorer)
    for i in range(5):
        make_event(title=f"E{i}", trend_score=10.0 - i)
    items = rank_for_user(user=UserFactory(), limit=3)
    assert {it.features["scorer"] for it in items} == {"learned"}
    assert {it.features["model"] for it in items} == {version.version}


@pytest.mark.django_db
def test_failing_model_is_saved_but_formula_keeps_serving():
    model_train(data=synthetic(signal=True), now=timezone.now() - dt.timedelta(hours=1))
    outcome = model_train(data=synthetic(signal=False))
    assert outcome.version is not None and not outcome.version.passed_checks
    assert not outcome.version.is_active
    # The earlier passing model stays active; with it gone, the formula serves.
    assert RankingModelVersion.objects.filter(is_active=True).count() == 1
    RankingModelVersion.objects.filter(passed_checks=True).update(is_active=False)
    ranking_caches_invalidate()
    assert isinstance(scorer_for(RankConfig(weights=DEFAULT_WEIGHTS)), FormulaScorer)


@pytest.mark.django_db
def test_missing_artifact_falls_back_to_formula():
    outcome = model_train(data=synthetic(signal=True))
    RankingModelVersion.objects.filter(pk=outcome.version.pk).update(path="/nonexistent/ranker.pkl")
    ranking_caches_invalidate()
    assert isinstance(scorer_for(RankConfig(weights=DEFAULT_WEIGHTS)), FormulaScorer)


@pytest.mark.django_db
def test_training_rows_come_from_served_items_and_later_clicks(make_event):
    user = UserFactory()
    a, b, c = make_event(), make_event(), make_event()
    served_at = timezone.now() - dt.timedelta(hours=5)
    for pos, event in enumerate([a, b, c], start=1):
        RankedItem.objects.create(
            user=user, event=event, position=pos, score=1.0, features={"trend": 1.5, "explore": 1},
            ranked_at=served_at,
        )
    EngagementFactory(user=user, event=b, kind="click", created_at=served_at + dt.timedelta(minutes=3))
    EngagementFactory(user=user, event=c, kind="click", created_at=served_at - dt.timedelta(days=2))  # before
    for shown in (a, c):
        EngagementFactory(user=user, event=shown, kind="impression", created_at=served_at + dt.timedelta(seconds=2))
    data = training_data_from_log(since=served_at - dt.timedelta(hours=1))
    assert data.y.tolist() == [0, 1, 0]
    assert data.positions.tolist() == [0, 1, 2]
    assert len(set(data.groups.tolist())) == 1
    assert data.explore.all()
    assert data.X[:, F["trend"]].tolist() == [1.5, 1.5, 1.5]


@pytest.mark.django_db
def test_ranked_items_never_shown_are_not_training_rows(make_event):
    user = UserFactory()
    shown, unseen, clicked = make_event(), make_event(), make_event()
    served_at = timezone.now() - dt.timedelta(hours=5)
    for pos, event in enumerate([shown, unseen, clicked], start=1):
        RankedItem.objects.create(user=user, event=event, position=pos, score=1.0, features={}, ranked_at=served_at)
    EngagementFactory(user=user, event=shown, kind="impression", created_at=served_at + dt.timedelta(minutes=1))
    # An impression from an earlier page does not make this one seen.
    EngagementFactory(user=user, event=unseen, kind="impression", created_at=served_at - dt.timedelta(hours=1))
    EngagementFactory(user=user, event=clicked, kind="click", created_at=served_at + dt.timedelta(minutes=2))
    data = training_data_from_log(since=served_at - dt.timedelta(hours=2))
    assert data.y.tolist() == [0, 1]
    assert data.positions.tolist() == [0, 2]


@pytest.mark.django_db
def test_train_ranker_command_exits_nonzero_with_one_line_when_data_is_short():
    with pytest.raises(CommandError) as excinfo:
        call_command("train_ranker")
    message = str(excinfo.value)
    assert "too little data" in message and "\n" not in message


@pytest.mark.django_db
def test_tasks_have_stable_names_and_stay_thin(make_event):
    from trends.ranking import tasks

    assert tasks.train_model.name == "ranking.train_model"
    assert tasks.prune_served_log.name == "ranking.prune_served_log"
    assert tasks.train_model.run()["trained"] is False  # no log yet: nothing trained, nothing raised
    user, event = UserFactory(), make_event()
    old = timezone.now() - dt.timedelta(days=40)
    RankedItem.objects.create(user=user, event=event, position=1, score=1.0, ranked_at=old)
    RankedItem.objects.create(user=user, event=event, position=1, score=1.0, ranked_at=timezone.now())
    assert tasks.prune_served_log.run(keep_days=30) == 1
    assert RankedItem.objects.count() == 1
