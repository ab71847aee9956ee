"""Per-variant experiment results from exposures (RankedItem) and engagements."""

import pytest

from tests.factories import EngagementFactory, UserFactory
from tests.ranking.conftest import unit
from trends.models import Experiment
from trends.ranking import experiment_results, rank_for_user
from trends.ranking.experiments import variant_for

pytestmark = pytest.mark.django_db


def test_results_per_variant(make_event):
    cats = ["sports", "news", "technology", "politics"]
    for i in range(12):
        make_event(title=f"E{i}", category=cats[i % 4], trend_score=50.0 - i, vec=unit(i))
    variants = [
        {"name": "control", "weight": 50, "config": {}},
        {"name": "diverse", "weight": 50, "config": {"mmr_lambda": 0.3, "scorer": "formula"}},
    ]
    Experiment.objects.create(key="div", description="more diversity", variants=variants)
    users = [UserFactory() for _ in range(8)]
    served = {}
    for user in users:
        items = rank_for_user(user=user, limit=4)
        served[user.pk] = items
        for item in items:
            EngagementFactory(user=user, event=item.event, kind="impression", surface="for_you", variant=item.variant)
        EngagementFactory(user=user, event=items[0].event, kind="click", surface="for_you", variant=items[0].variant)
    # An engagement logged without a variant is attributed by the same deterministic bucketing.
    EngagementFactory(user=users[0], event=served[users[0].pk][1].event, kind="dismiss", surface="for_you")

    results = experiment_results(key="div")
    by_name = {v["name"]: v for v in results["variants"]}
    assert set(by_name) == {"control", "diverse"}
    expected = {
        name: [u for u in users if variant_for(key="div", variants=variants, user_id=u.pk)["name"] == name]
        for name in by_name
    }
    for name, stats in by_name.items():
        n = len(expected[name])
        assert stats["users"] == n
        assert stats["impressions"] == 4 * n
        assert stats["clicks"] == n
        assert stats["lists"] == n
        if n:
            assert stats["ctr"] == pytest.approx(0.25)
            assert 0 < stats["intra_list_diversity"] <= 2
            assert 0 < stats["category_coverage"] <= 1
    first = variant_for(key="div", variants=variants, user_id=users[0].pk)["name"]
    assert by_name[first]["dismissals"] == 1
    assert results["key"] == "div" and results["description"] == "more diversity"


def test_results_for_an_experiment_without_traffic():
    Experiment.objects.create(key="quiet", variants=[{"name": "a", "weight": 1}])
    results = experiment_results(key="quiet")
    assert results["variants"][0]["impressions"] == 0
    assert results["variants"][0]["ctr"] is None
