"""Event lifecycle: emerging -> trending -> fading -> archived, from scores and silence.

Thresholds (documented in docs/trend-scoring.md):

* **emerging**: a promoted cluster (>= `min_authors` unique authors) that is not bursting yet.
* **trending**: surprise >= `trend_surprise` (a burst that Poisson chance explains less than once in
  a thousand windows) with >= `trend_min_window_authors` new authors in the window, >= `min_authors`
  authors in total, and health >= `min_health`.
* stays trending while surprise >= `keep_surprise` (hysteresis so lists do not flicker) or the
  displayed score is still >= `keep_peak_share` of its peak.
* **fading**: no longer bursting but heard from within `archive_after_taus` of its own time scale.
* **archived**: silent for `archive_after_taus` time scales (the same rule that retires the cluster
  from the online clusterer) or for `archive_after_max` seconds, whichever comes first.

`next_state` is a pure function so the periodic task and the offline replay move events the
same way; applying it twice gives the same state (idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass

EMERGING, TRENDING, FADING, ARCHIVED = "emerging", "trending", "fading", "archived"


@dataclass(slots=True, frozen=True)
class LifecycleParams:
    min_authors: int = 5
    trend_surprise: float = 3.0
    trend_min_window_authors: int = 3
    keep_surprise: float = 1.5
    keep_peak_share: float = 0.5
    min_health: float = 0.5
    archive_after_taus: float = 4.0
    archive_after_max: float = 3 * 86400.0


def next_state(
    *,
    state: str,
    author_count: int,
    window_authors: float,
    surprise: float,
    score: float,
    peak_score: float,
    health: float,
    silence_seconds: float,
    tau_seconds: float,
    params: LifecycleParams | None = None,
) -> str:
    p = params or LifecycleParams()
    if silence_seconds >= min(p.archive_after_max, p.archive_after_taus * tau_seconds):
        return ARCHIVED
    healthy = health >= p.min_health and author_count >= p.min_authors
    bursting = healthy and surprise >= p.trend_surprise and window_authors >= p.trend_min_window_authors
    if bursting:
        return TRENDING
    if state == TRENDING and healthy and (
        surprise >= p.keep_surprise or (peak_score > 0 and score >= p.keep_peak_share * peak_score)
    ):
        return TRENDING
    if state in (TRENDING, FADING):
        return FADING
    if state == ARCHIVED:
        # An archived event that gets posts again is revived by the clusterer, not here.
        return FADING if silence_seconds < tau_seconds else ARCHIVED
    return EMERGING
