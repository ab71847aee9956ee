import pytest

from trends.detection.scoring import (
    TrendParams,
    WindowPost,
    author_weights,
    coordinated_authors,
    display_score,
    poisson_surprise,
    trend_stats,
)

P = TrendParams()
B = P.bucket_seconds
NOW = 1_700_000_000.0 - (1_700_000_000.0 % B) + B - 1


def _series(per_bucket: dict[int, float]):
    """Buckets keyed by how many buckets before the current one."""
    starts = [NOW - (NOW % B) - k * B for k in per_bucket]
    return starts, list(per_bucket.values())


def test_surprise_grows_with_the_burst_and_is_zero_below_expectation():
    assert poisson_surprise(2, 5.0) == 0.0
    assert 0 < poisson_surprise(6, 2.0) < poisson_surprise(12, 2.0) < poisson_surprise(30, 2.0)
    # -log10 of the Poisson tail P(X >= observed): 8 authors where 1.5 were expected.
    import math

    from scipy.stats import poisson

    assert poisson_surprise(8, 1.5) == pytest.approx(-math.log10(poisson.sf(7, 1.5)))


def test_a_newborn_burst_trends_but_a_big_steady_event_does_not():
    window = dict.fromkeys(range(P.window_buckets), 3.0)
    new = trend_stats(starts=_series(window)[0], counts=_series(window)[1], now=NOW)
    steady_hist = dict.fromkeys(range(P.window_buckets + 200), 3.0)
    steady = trend_stats(starts=_series(steady_hist)[0], counts=_series(steady_hist)[1], now=NOW)
    assert new.observed == steady.observed == 3.0 * P.window_buckets
    assert new.surprise > 10 and steady.surprise < 1.0
    assert new.score > steady.score


def test_velocity_and_acceleration_follow_the_window_counts():
    rising = {k: (4.0 if k < P.window_buckets else 1.0) for k in range(2 * P.window_buckets)}
    s = trend_stats(starts=_series(rising)[0], counts=_series(rising)[1], now=NOW)
    hours = P.window_buckets * B / 3600
    assert s.velocity == pytest.approx(4.0 * P.window_buckets / hours)
    assert s.acceleration > 0
    falling = {k: (1.0 if k < P.window_buckets else 4.0) for k in range(2 * P.window_buckets)}
    assert trend_stats(starts=_series(falling)[0], counts=_series(falling)[1], now=NOW).acceleration < 0


def test_displayed_score_keeps_a_decaying_peak():
    held = display_score(current=1.0, peak=40.0, peak_ts=NOW - P.score_half_life, now=NOW)
    assert held == pytest.approx(20.0)
    assert display_score(current=50.0, peak=40.0, peak_ts=NOW, now=NOW) == 50.0


def test_coordinated_near_duplicates_from_new_accounts_do_not_count():
    spam = [WindowPost(author=f"bot{i}", simhash=0b1010_1111 ^ (1 << (i % 2)), account_age_days=1) for i in range(6)]
    organic = [WindowPost(author=f"user{i}", simhash=(i + 1) * 0x9E3779B97F4A7C15 % 2**63, trust=0.8,
                          account_age_days=400) for i in range(6)]
    flagged = coordinated_authors(spam + organic)
    assert flagged == {f"bot{i}" for i in range(6)}
    weights = author_weights(spam + organic)
    assert sum(weights.values()) == 6


def test_near_duplicates_from_established_accounts_are_not_flagged():
    # Many trusted people quoting the same headline is news, not manipulation.
    posts = [WindowPost(author=f"user{i}", simhash=12345, trust=0.9, account_age_days=900) for i in range(10)]
    assert coordinated_authors(posts) == set()
