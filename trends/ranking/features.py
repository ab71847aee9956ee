"""Features per (user, event), computed for many events at once.

Every feature is a column of one float32 matrix so the formula, the learned model and the
logged RankedItem.features all read the same numbers.
"""

from __future__ import annotations

import numpy as np

from trends.ranking.types import CandidatePool, UserContext

FEATURE_NAMES: tuple[str, ...] = (
    "interest_sim",  # cosine(user interest vector, event centroid); 0 on cold start
    "category_affinity",  # the user's preference for the event's category, scaled so the favourite is 1
    "social_count",  # log1p(followed accounts posting in the event)
    "trend",  # log1p(trend score)
    "trend_rel",  # trend score relative to the strongest candidate, 0..1
    "velocity",  # signed log1p of the event's volume growth
    "authors",  # log1p(unique authors)
    "freshness",  # exp(-hours since the last post / FRESHNESS_HOURS)
    "age_hours",  # log1p(hours since first seen)
    "health",  # 1 healthy .. 0 spam/abuse
    "lang_match",  # the event is in one of the user's languages
    "loc_match",  # the event is local to the user
    "ctr",  # observed click-through, smoothed towards CTR_PRIOR
    "seen",  # log1p(times this user was already shown the event): fatigue
    "dismissed",  # the user dismissed or reported it (such items are filtered; kept for logs)
    "boost",  # curator boost
    "pinned",  # an active curator pin
    "engaged",  # the user already clicked, liked, shared or replied to the event
    "recent_sim",  # max cosine to the events the user engaged with most recently (novelty vs more of the same)
)
F = {name: i for i, name in enumerate(FEATURE_NAMES)}

FRESHNESS_HOURS = 12.0
CTR_PRIOR = 0.05
CTR_PRIOR_STRENGTH = 20.0


def interest_similarity(pool: CandidatePool, user: UserContext, rows: np.ndarray | None = None) -> np.ndarray:
    emb = pool.emb if rows is None else pool.emb[rows]
    if not np.any(user.interest):
        return np.zeros(emb.shape[0], dtype=np.float32)
    return emb @ user.interest.astype(np.float32, copy=False)


def smoothed_ctr(clicks: np.ndarray, impressions: np.ndarray) -> np.ndarray:
    """Beta-prior smoothing: a new event starts at the prior instead of 0/0 or a lucky 1/1."""
    return (clicks + CTR_PRIOR * CTR_PRIOR_STRENGTH) / (impressions + CTR_PRIOR_STRENGTH)


def compute_features(
    *,
    pool: CandidatePool,
    user: UserContext,
    rows: np.ndarray,
    now_h: float,
    interest_sim: np.ndarray | None = None,
) -> np.ndarray:
    """The (len(rows), len(FEATURE_NAMES)) feature matrix for the given pool rows."""
    n = rows.shape[0]
    X = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float32)
    if n == 0:
        return X
    X[:, F["interest_sim"]] = (
        interest_similarity(pool, user, rows) if interest_sim is None else interest_sim
    )
    pref = user.category_pref
    top = float(pref.max()) if pref.size and pref.max() > 0 else 1.0
    X[:, F["category_affinity"]] = pref[pool.category[rows]] / top
    X[:, F["social_count"]] = np.log1p(user.social_count[rows])
    trend = np.maximum(pool.trend_score[rows], 0.0)
    X[:, F["trend"]] = np.log1p(trend)
    peak = float(trend.max())
    X[:, F["trend_rel"]] = trend / peak if peak > 0 else 0.0
    vel = pool.velocity[rows]
    X[:, F["velocity"]] = np.sign(vel) * np.log1p(np.abs(vel))
    X[:, F["authors"]] = np.log1p(pool.author_count[rows])
    since_last = np.maximum(now_h - pool.last_seen_h[rows], 0.0)
    X[:, F["freshness"]] = np.exp(-since_last / FRESHNESS_HOURS)
    X[:, F["age_hours"]] = np.log1p(np.maximum(now_h - pool.first_seen_h[rows], 0.0))
    X[:, F["health"]] = pool.health[rows]
    lang = pool.lang[rows]
    if user.has_languages:
        X[:, F["lang_match"]] = np.isin(lang, user.lang_codes)
    else:
        X[:, F["lang_match"]] = 1.0
    if user.loc_code >= 0:
        X[:, F["loc_match"]] = pool.loc[rows] == user.loc_code
    X[:, F["ctr"]] = smoothed_ctr(pool.clicks[rows], pool.impressions[rows])
    X[:, F["seen"]] = np.log1p(user.seen[rows])
    X[:, F["dismissed"]] = user.dismissed[rows]
    X[:, F["boost"]] = pool.boost[rows]
    X[:, F["pinned"]] = pool.pinned_slot[rows] > 0
    if user.engaged is not None:
        X[:, F["engaged"]] = user.engaged[rows]
    if user.engaged_emb is not None and user.engaged_emb.shape[0]:
        X[:, F["recent_sim"]] = (pool.emb[rows] @ user.engaged_emb[:10].T).max(axis=1)
    return X


def features_as_dict(row: np.ndarray) -> dict[str, float]:
    """One feature row as the JSON logged with a RankedItem (rounded: logs, not maths)."""
    return {name: round(float(row[i]), 4) for i, name in enumerate(FEATURE_NAMES)}


def features_from_dicts(rows: list[dict]) -> np.ndarray:
    """The inverse of features_as_dict for a batch of logged rows; missing features read as 0."""
    X = np.zeros((len(rows), len(FEATURE_NAMES)), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, name in enumerate(FEATURE_NAMES):
            value = row.get(name)
            if value is not None:
                X[i, j] = float(value)
    return X
