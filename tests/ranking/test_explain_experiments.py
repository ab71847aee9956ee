"""Explanations and deterministic experiment bucketing."""

from collections import Counter

import numpy as np
import pytest

from trends.ranking.experiments import BUCKETS, bucket_of, variant_for, variant_label
from trends.ranking.explain import explain, follow_phrase, nearest_engaged
from trends.ranking.features import FEATURE_NAMES, F
from trends.ranking.types import CATEGORY_INDEX


def row(**values):
    r = np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    for k, v in values.items():
        r[F[k]] = v
    return r


def test_follow_phrases():
    assert follow_phrase(["a"]) == "Because you follow @a"
    assert follow_phrase(["a", "b"]) == "Because you follow @a and @b"
    assert follow_phrase(["a", "b", "c"]) == "Because you follow @a, @b and 1 other"
    assert follow_phrase(["a", "b", "c", "d"]) == "Because you follow @a, @b and 2 others"


def test_reason_priority():
    sports = CATEGORY_INDEX["sports"]
    assert explain(features=row(), category=sports) == "Trending in Sports"
    assert explain(features=row(loc_match=1), category=sports, location="Lisbon") == "Popular in Lisbon"
    assert (
        explain(features=row(loc_match=1), category=sports, location="Lisbon", engaged_title="Derby", engaged_similarity=0.8)
        == "Because you engaged with “Derby”"
    )
    # A weak similarity is not an honest "because".
    assert explain(features=row(), category=sports, engaged_title="Derby", engaged_similarity=0.2) == "Trending in Sports"
    assert (
        explain(features=row(loc_match=1), category=sports, social_handles=["ana"], location="Lisbon", engaged_title="x", engaged_similarity=0.9)
        == "Because you follow @ana"
    )
    # Location only counts when the event is local.
    assert explain(features=row(loc_match=0), category=sports, location="Lisbon") == "Trending in Sports"


def test_uncategorised_events_just_trend():
    assert explain(features=row(), category=CATEGORY_INDEX["other"]) == "Trending now"


def test_explanations_fit_the_column():
    text = explain(features=row(), category=0, engaged_title="x" * 500, engaged_similarity=1.0)
    assert len(text) <= 200


def test_nearest_engaged_picks_the_most_similar_title():
    eye = np.eye(3, dtype=np.float32)
    titles, sims = nearest_engaged(eye[[1, 0]], eye[[0, 1]], ["first", "second"])
    assert titles == ["second", "first"]
    assert sims.tolist() == [1.0, 1.0]
    titles, sims = nearest_engaged(eye, None, [])
    assert titles == ["", "", ""]


def test_bucketing_is_deterministic_and_key_dependent():
    assert bucket_of(key="exp", user_id=42) == bucket_of(key="exp", user_id=42)
    assert 0 <= bucket_of(key="exp", user_id=42) < BUCKETS
    moved = sum(bucket_of(key="a", user_id=u) != bucket_of(key="b", user_id=u) for u in range(200))
    assert moved > 190  # another experiment reshuffles users independently


def test_variant_split_follows_weights():
    variants = [{"name": "control", "weight": 80}, {"name": "treatment", "weight": 20}]
    counts = Counter(variant_for(key="split", variants=variants, user_id=u)["name"] for u in range(5000))
    assert counts["treatment"] / 5000 == pytest.approx(0.2, abs=0.03)
    again = [variant_for(key="split", variants=variants, user_id=u)["name"] for u in range(100)]
    assert again == [variant_for(key="split", variants=variants, user_id=u)["name"] for u in range(100)]


def test_zero_weight_variants_get_nobody():
    variants = [{"name": "off", "weight": 0}, {"name": "on", "weight": 1}]
    assert {variant_for(key="k", variants=variants, user_id=u)["name"] for u in range(300)} == {"on"}
    assert variant_for(key="k", variants=[{"name": "off", "weight": 0}], user_id=1) is None


def test_variant_label():
    assert variant_label(key="ranker-v2", name="control") == "ranker-v2:control"
    assert len(variant_label(key="k" * 60, name="n" * 60)) == 64
