"""Each feature, computed by the same function the site and the evaluation use."""

import numpy as np
import pytest

from tests.ranking.pools import make_pool, make_user
from trends.models import Category
from trends.ranking.features import (
    CTR_PRIOR,
    FEATURE_NAMES,
    F,
    compute_features,
    features_as_dict,
    features_from_dicts,
    smoothed_ctr,
)
from trends.ranking.profile import build_interest, kind_weights
from trends.ranking.types import CATEGORIES, CATEGORY_INDEX

NOW = 100.0


def feats(pool, user, rows=None):
    rows = np.arange(len(pool)) if rows is None else np.asarray(rows)
    return compute_features(pool=pool, user=user, rows=rows, now_h=NOW)


def test_categories_mirror_the_model_choices():
    assert tuple(Category.values) == CATEGORIES


def test_interest_similarity_is_cosine_and_zero_on_cold_start():
    pool = make_pool(4)
    user = make_user(pool, interest=pool.emb[2])
    X = feats(pool, user)
    assert X[2, F["interest_sim"]] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(X[:, F["interest_sim"]], pool.emb @ pool.emb[2], atol=1e-5)
    assert np.all(feats(pool, make_user(pool))[:, F["interest_sim"]] == 0)


def test_category_affinity_scales_favourite_to_one():
    pool = make_pool(3, category=np.array([0, 1, 2], dtype=np.int16))
    pref = np.array([0.5, 0.25, 0.0, 0.25, 0, 0, 0, 0], dtype=np.float32)
    X = feats(pool, make_user(pool, category_pref=pref))
    assert X[:, F["category_affinity"]].tolist() == [1.0, 0.5, 0.0]


def test_social_count_is_log_of_followed_posters():
    pool = make_pool(3)
    X = feats(pool, make_user(pool, social_count=np.array([0, 1, 3], dtype=np.float32)))
    assert np.allclose(X[:, F["social_count"]], np.log1p([0, 1, 3]))


def test_trend_velocity_authors():
    pool = make_pool(
        3,
        trend_score=np.array([0, 9, 99], dtype=np.float32),
        velocity=np.array([-3, 0, 3], dtype=np.float32),
        author_count=np.array([0, 1, 9], dtype=np.float32),
    )
    X = feats(pool, make_user(pool))
    assert np.allclose(X[:, F["trend"]], np.log1p([0, 9, 99]))
    assert np.allclose(X[:, F["trend_rel"]], [0, 9 / 99, 1])
    assert np.allclose(X[:, F["velocity"]], [-np.log1p(3), 0, np.log1p(3)])
    assert np.allclose(X[:, F["authors"]], np.log1p([0, 1, 9]))


def test_freshness_and_age():
    pool = make_pool(2, first_seen_h=np.array([99.0, 52.0]), last_seen_h=np.array([100.0, 76.0]))
    X = feats(pool, make_user(pool))
    assert X[0, F["freshness"]] == pytest.approx(1.0)
    assert X[1, F["freshness"]] == pytest.approx(np.exp(-2.0))  # 24 h stale, 12 h scale
    assert X[1, F["age_hours"]] == pytest.approx(np.log1p(48.0))
    assert X[0, F["age_hours"]] < X[1, F["age_hours"]]


def test_health_boost_and_pin_pass_through():
    pool = make_pool(
        2,
        health=np.array([1.0, 0.2], dtype=np.float32),
        boost=np.array([0.0, 0.5], dtype=np.float32),
        pinned_slot=np.array([-1, 3], dtype=np.int16),
    )
    X = feats(pool, make_user(pool))
    assert X[:, F["health"]].tolist() == pytest.approx([1.0, 0.2])
    assert X[:, F["boost"]].tolist() == [0.0, 0.5]
    assert X[:, F["pinned"]].tolist() == [0.0, 1.0]


def test_language_and_location_match():
    pool = make_pool(3, lang=np.array([0, 1, -1], dtype=np.int32), loc=np.array([0, -1, 0], dtype=np.int32))
    X = feats(pool, make_user(pool, lang_codes=np.array([0], dtype=np.int32), loc_code=0))
    assert X[:, F["lang_match"]].tolist() == [1.0, 0.0, 0.0]
    assert X[:, F["loc_match"]].tolist() == [1.0, 0.0, 1.0]
    no_langs = feats(pool, make_user(pool, has_languages=False))
    assert np.all(no_langs[:, F["lang_match"]] == 1.0)


def test_observed_ctr_is_smoothed_towards_the_prior():
    assert smoothed_ctr(np.float32(0), np.float32(0)) == pytest.approx(CTR_PRIOR)
    lucky = smoothed_ctr(np.float32(1), np.float32(1))
    assert CTR_PRIOR < lucky < 0.1  # one click in one impression is not a 100% CTR
    assert smoothed_ctr(np.float32(500), np.float32(1000)) == pytest.approx(0.49, abs=0.01)
    pool = make_pool(2, clicks=np.array([0, 50], dtype=np.float32), impressions=np.array([0, 100], dtype=np.float32))
    X = feats(pool, make_user(pool))
    assert X[0, F["ctr"]] == pytest.approx(CTR_PRIOR)
    assert X[1, F["ctr"]] > 0.4


def test_fatigue_seen_and_dismissed():
    pool = make_pool(3)
    user = make_user(pool, seen=np.array([0, 2, 0], dtype=np.float32), dismissed=np.array([0, 0, 1], dtype=bool))
    X = feats(pool, user)
    assert np.allclose(X[:, F["seen"]], np.log1p([0, 2, 0]))
    assert X[:, F["dismissed"]].tolist() == [0.0, 0.0, 1.0]


def test_rows_subset_and_roundtrip_through_logged_dicts():
    pool = make_pool(5)
    user = make_user(pool, interest=pool.emb[0])
    full = feats(pool, user)
    sub = feats(pool, user, rows=[4, 1])
    absolute = [i for i, name in enumerate(FEATURE_NAMES) if name != "trend_rel"]  # relative to the rows given
    assert np.allclose(sub[0, absolute], full[4, absolute]) and np.allclose(sub[1, absolute], full[1, absolute])
    assert sub[:, F["trend_rel"]].max() == 1.0
    dicts = [features_as_dict(r) for r in full]
    assert set(dicts[0]) == set(FEATURE_NAMES)
    assert np.allclose(features_from_dicts(dicts), full, atol=1e-3)


def test_interest_model_decays_and_negative_feedback_subtracts():
    a, b = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    vec, _ = build_interest(
        emb=np.vstack([a, b]), weights=kind_weights(["click", "click"]),
        categories=np.array([0, 1]), ages_h=np.array([0.0, 144.0]), dim=4,
    )
    assert vec[0] > vec[1] > 0  # the older click counts less (two half-lives: a quarter)
    assert vec[1] / vec[0] == pytest.approx(0.25, rel=1e-3)
    vec, pref = build_interest(
        emb=np.vstack([a, b, b]), weights=kind_weights(["click", "click", "dismiss"]),
        categories=np.array([0, 1, 1]), ages_h=np.zeros(3), dim=4,
    )
    assert vec[1] < 0  # dismissing outweighs a click on the same thing
    assert pref[0] > pref[1]


def test_cold_start_uses_declared_topics_and_followees():
    vec, pref = build_interest(
        emb=np.zeros((0, 4), np.float32), weights=np.zeros(0), categories=np.zeros(0, int),
        ages_h=np.zeros(0), topics=["science"], dim=4,
    )
    assert not vec.any()
    assert int(np.argmax(pref)) == CATEGORY_INDEX["science"]
    assert pref.sum() == pytest.approx(1.0)
    assert pref.min() > 0  # a little of everything
    followee = np.eye(4, dtype=np.float32)[2:3]
    vec, _ = build_interest(
        emb=np.zeros((0, 4), np.float32), weights=np.zeros(0), categories=np.zeros(0, int),
        ages_h=np.zeros(0), followee_emb=followee, dim=4,
    )
    assert vec[2] == pytest.approx(1.0)


def test_engaged_and_recent_similarity():
    pool = make_pool(3)
    user = make_user(pool, engaged=np.array([0, 1, 0], dtype=bool), engaged_emb=pool.emb[[1]])
    X = feats(pool, user)
    assert X[:, F["engaged"]].tolist() == [0.0, 1.0, 0.0]
    assert X[1, F["recent_sim"]] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(X[:, F["recent_sim"]], pool.emb @ pool.emb[1], atol=1e-5)
    cold = feats(pool, make_user(pool))
    assert not cold[:, F["engaged"]].any() and not cold[:, F["recent_sim"]].any()
