"""The transparent formula: every term moves the score the documented way; weights come from settings."""

import numpy as np
import pytest

from tests.factories import EngagementFactory, UserFactory
from trends.ranking import rank_for_user
from trends.ranking.features import CTR_PRIOR, FEATURE_NAMES, F
from trends.ranking.scoring import DEFAULT_WEIGHTS, FormulaScorer, formula_terms
from trends.ranking.selectors import assignment_for


def base_row(**values):
    r = np.zeros((1, len(FEATURE_NAMES)), dtype=np.float32)
    r[0, F["health"]] = 1.0
    r[0, F["ctr"]] = CTR_PRIOR
    for k, v in values.items():
        r[0, F[k]] = v
    return r


def score(**values):
    return float(FormulaScorer(weights=DEFAULT_WEIGHTS).score(base_row(**values))[0])


@pytest.mark.parametrize(
    "feature,low,high",
    [
        ("interest_sim", 0.0, 0.5),
        ("category_affinity", 0.0, 1.0),
        ("social_count", 0.0, np.log1p(2)),
        ("trend_rel", 0.1, 0.9),
        ("freshness", 0.1, 1.0),
        ("health", 0.2, 1.0),
        ("lang_match", 0.0, 1.0),
        ("loc_match", 0.0, 1.0),
        ("ctr", 0.01, 0.3),
        ("boost", 0.0, 0.5),
    ],
)
def test_each_positive_signal_raises_the_score(feature, low, high):
    assert score(**{feature: high}) > score(**{feature: low})


def test_fatigue_lowers_the_score():
    assert score(seen=np.log1p(3)) < score(seen=0.0)


def test_terms_are_bounded_and_health_is_only_a_penalty():
    X = np.vstack([base_row(), base_row(interest_sim=1, category_affinity=1, social_count=5, trend_rel=1, freshness=1, lang_match=1, loc_match=1, ctr=1, seen=5)])
    for name, term in formula_terms(X).items():
        assert term.min() >= -1.0 and term.max() <= 1.0, name
    assert formula_terms(base_row())["health"][0] == 0.0


def test_boost_is_additive_in_score_units():
    assert score(boost=0.25) == pytest.approx(score() + 0.25)


def test_weights_come_from_settings(settings, db):
    settings.RANKING_WEIGHTS = {**DEFAULT_WEIGHTS, "trend": 5.0}
    assert assignment_for(user_id=1).config.weights["trend"] == 5.0
    heavy_trend = FormulaScorer(weights=settings.RANKING_WEIGHTS)
    X = np.vstack([base_row(trend_rel=1.0), base_row(interest_sim=0.6, category_affinity=1.0)])
    assert np.argmax(heavy_trend.score(X)) == 0
    assert np.argmax(FormulaScorer(weights={**DEFAULT_WEIGHTS, "trend": 0.1}).score(X)) == 1


@pytest.mark.django_db
def test_fatigue_and_health_demote_events_in_the_feed(make_event):
    tired = make_event(title="Seen it", category="news", trend_score=100.0)
    # Just above the public floor (EVENT_MIN_PUBLIC_HEALTH): shown, but demoted for poor health.
    spam = make_event(title="Spam burst", category="sports", trend_score=99.0, health=0.35)
    others = [make_event(title=f"O{i}", category=["science", "business", "politics"][i % 3], trend_score=60.0 - i) for i in range(6)]
    user = UserFactory()
    first = [it.event.pk for it in rank_for_user(user=user, limit=8)]
    assert first.index(tired.pk) < 2
    for _ in range(6):
        EngagementFactory(user=user, event=tired, kind="impression")
    again = [it.event.pk for it in rank_for_user(user=user, limit=8)]
    assert again.index(tired.pk) > first.index(tired.pk)
    assert again.index(spam.pk) > again.index(others[0].pk)


@pytest.mark.django_db
def test_events_below_the_health_floor_never_reach_a_feed(make_event, settings):
    settings.EVENT_MIN_PUBLIC_HEALTH = 0.3
    spam = make_event(title="Coordinated burst", category="sports", trend_score=999.0, health=0.05)
    fine = make_event(title="Real event", category="sports", trend_score=5.0)
    served = [it.event.pk for it in rank_for_user(user=UserFactory(), limit=10)]
    assert fine.pk in served and spam.pk not in served
