"""Trend scoring: does an event burst against its *own* expected volume, counted by unique authors?

Per event we keep a series of fixed-width buckets holding the number of authors seen in the event
for the first time in that bucket (one account counts once, however often it posts). At time
`now`:

* observed  = new unique authors in the last `window_buckets` buckets;
* expected  = the event's own exponentially-decayed rate before the window (half-life
  `baseline_half_life`), floored by `prior_rate` for a newborn event, times the window length;
* surprise  = -log10 P(X >= observed | Poisson(expected)) — the Gnip-style Poisson model,
  expressed as a tail probability so a 1-in-1000 burst scores 3 whatever the volume;
* score     = surprise * log2(1 + observed): at equal surprise the bigger burst ranks higher;
  the displayed trend score keeps the peak and decays it (Mastodon-style half-life) so lists
  don't flicker;
* velocity / acceleration = authors per hour in the window and its change since the previous window.

See docs/trend-scoring.md for why this formula and the thresholds in `TrendParams`.

Manipulation resistance lives in `author_weights`: per-author caps and coordinated
near-duplicate bursts from new or low-trust accounts, whose authors then do not count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson


@dataclass(slots=True, frozen=True)
class TrendParams:
    bucket_seconds: int = 300
    window_buckets: int = 12  # one hour
    # New unique authors per bucket expected of an event that has no history yet (0.3 an hour).
    prior_rate: float = 0.025
    baseline_half_life: float = 24 * 3600.0
    baseline_horizon_buckets: int = 7 * 288  # a week of 5-minute buckets
    score_half_life: float = 4 * 3600.0
    max_surprise: float = 50.0
    # Coordination: this many near-duplicates (SimHash Hamming distance <= dup_bits) in a window
    # from accounts that are new or low-trust make those accounts not count.
    dup_bits: int = 3
    dup_group_min: int = 4
    low_trust: float = 0.2
    new_account_days: float = 7.0


@dataclass(slots=True)
class TrendStats:
    observed: float
    expected: float
    surprise: float
    score: float
    velocity: float
    acceleration: float


def bucket_start(ts: float, params: TrendParams) -> float:
    return math.floor(ts / params.bucket_seconds) * params.bucket_seconds


def poisson_surprise(observed: float, expected: float, cap: float = 50.0) -> float:
    """-log10 P(X >= observed) under Poisson(expected); 0 when nothing unusual."""
    if observed <= 0 or observed <= expected:
        return 0.0
    p = float(poisson.sf(math.ceil(observed) - 1, max(expected, 1e-9)))
    if p <= 0:
        return cap
    return min(cap, -math.log10(p))


def trend_stats(
    *,
    starts: Sequence[float] | np.ndarray,
    counts: Sequence[float] | np.ndarray,
    now: float,
    params: TrendParams | None = None,
) -> TrendStats:
    """Score one event from its bucket series (bucket start seconds, new unique authors)."""
    p = params or TrendParams()
    starts = np.asarray(starts, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    b = p.bucket_seconds
    current = bucket_start(now, p)
    window_start = current - (p.window_buckets - 1) * b
    prev_start = window_start - p.window_buckets * b
    in_window = (starts >= window_start) & (starts <= current)
    in_prev = (starts >= prev_start) & (starts < window_start)
    observed = float(counts[in_window].sum())
    previous = float(counts[in_prev].sum())
    before = starts < window_start
    rate = p.prior_rate
    if before.any():
        first = float(starts.min())
        n_buckets = int(min(p.baseline_horizon_buckets, max(1, (window_start - first) // b)))
        ages = (window_start - starts[before]) / p.baseline_half_life
        decayed = float((counts[before] * np.power(0.5, ages)).sum())
        k = np.arange(1, n_buckets + 1) * b / p.baseline_half_life
        exposure = float(np.power(0.5, k).sum())
        rate = max(p.prior_rate, decayed / exposure)
    expected = rate * p.window_buckets
    surprise = poisson_surprise(observed, expected, p.max_surprise)
    hours = p.window_buckets * b / 3600.0
    velocity = observed / hours
    acceleration = (observed - previous) / (hours * hours)
    return TrendStats(
        observed=observed,
        expected=expected,
        surprise=surprise,
        score=surprise * math.log2(1.0 + observed),
        velocity=velocity,
        acceleration=acceleration,
    )


def decayed_peak(*, peak: float, peak_ts: float, now: float, params: TrendParams | None = None) -> float:
    p = params or TrendParams()
    return peak * math.pow(0.5, max(0.0, now - peak_ts) / p.score_half_life)


def display_score(*, current: float, peak: float, peak_ts: float | None, now: float,
                  params: TrendParams | None = None) -> float:
    """What lists sort by: the current score, or the decayed peak if that is higher."""
    if peak_ts is None:
        return current
    return max(current, decayed_peak(peak=peak, peak_ts=peak_ts, now=now, params=params))


# ---------------------------------------------------------------------- manipulation resistance
@dataclass(slots=True)
class WindowPost:
    author: str | int
    simhash: int | None = None
    trust: float | None = None  # None = unknown (treated as neutral)
    account_age_days: float | None = None
    post_id: int | None = None


def hamming64(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


def coordinated_authors(posts: Sequence[WindowPost], params: TrendParams | None = None) -> set:
    """Authors in groups of near-duplicate posts made mostly by new or low-trust accounts."""
    p = params or TrendParams()
    hashed = [(i, wp) for i, wp in enumerate(posts) if wp.simhash is not None]
    # Group by Hamming distance with a simple leader scheme; windows are small.
    groups: list[list[WindowPost]] = []
    leaders: list[int] = []
    for _, wp in hashed:
        for gi, lead in enumerate(leaders):
            if hamming64(lead, wp.simhash) <= p.dup_bits:
                groups[gi].append(wp)
                break
        else:
            leaders.append(wp.simhash)
            groups.append([wp])
    flagged: set = set()
    for g in groups:
        authors = {wp.author for wp in g}
        if len(authors) < p.dup_group_min:
            continue
        suspicious = [wp for wp in g if _is_suspicious(wp, p)]
        if len(suspicious) * 2 >= len(g):
            flagged |= {wp.author for wp in suspicious}
    return flagged


def _is_suspicious(wp: WindowPost, p: TrendParams) -> bool:
    low = wp.trust is not None and wp.trust < p.low_trust
    new = wp.account_age_days is not None and wp.account_age_days < p.new_account_days
    return low or new


def author_weights(posts: Iterable[WindowPost], params: TrendParams | None = None) -> dict:
    """Weight of each author towards a trend: 1 once however many posts, 0 when coordinated."""
    posts = list(posts)
    flagged = coordinated_authors(posts, params)
    return {wp.author: (0.0 if wp.author in flagged else 1.0) for wp in posts}
