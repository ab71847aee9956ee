"""The pure ranking core: candidate pool + user context in, ordered rows out.

Stages: eligibility -> candidate generation -> features -> scoring -> re-ranking -> explanations.
The site (selectors) and the offline evaluation (simulation) both call `rank_pool`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trends.ranking.explain import explain, nearest_engaged
from trends.ranking.features import F, compute_features, interest_similarity
from trends.ranking.rerank import rerank
from trends.ranking.scoring import Scorer
from trends.ranking.types import CATEGORY_INDEX, CandidatePool, RankConfig, UserContext


@dataclass
class RankOutput:
    rows: np.ndarray  # pool rows, in feed order, for the requested page
    scores: np.ndarray  # scorer output per returned row
    features: np.ndarray  # feature matrix per returned row
    explanations: list[str]


def eligible_mask(
    *, pool: CandidatePool, user: UserContext, category: str | None, language_filter: bool
) -> np.ndarray:
    """Rows that may be shown at all: never dismissed; in the tab's category; readable by the user."""
    mask = ~user.dismissed
    if category:
        mask &= pool.category == CATEGORY_INDEX.get(category, -99)
    if language_filter and user.has_languages:
        # Unknown-language events and events friends post in stay eligible.
        mask &= np.isin(pool.lang, user.lang_codes) | (pool.lang < 0) | (user.social_count > 0)
    return mask


def generate_candidates(
    *, pool: CandidatePool, user: UserContext, mask: np.ndarray, sims: np.ndarray, limit: int
) -> np.ndarray:
    """Union of: trending for the user's languages/location, social proof, interest-similar events."""
    rows = np.flatnonzero(mask)
    if rows.size <= limit:
        return rows
    picked = [rows[user.social_count[rows] > 0]]
    third = max(1, limit // 3)
    trend = pool.trend_score[rows] + np.where(pool.loc[rows] == user.loc_code, 1e-3, 0.0)
    picked.append(rows[_top(trend, third)])
    if user.loc_code >= 0:
        local = rows[pool.loc[rows] == user.loc_code]
        picked.append(local[_top(pool.trend_score[local], third // 3)])
    if np.any(user.interest):
        picked.append(rows[_top(sims[rows], third)])
    # Declared/learned category taste also pulls in the best of each liked category.
    pref = user.category_pref[pool.category[rows]]
    picked.append(rows[_top(pref * np.log1p(np.maximum(pool.trend_score[rows], 0)), third)])
    out = np.unique(np.concatenate(picked))
    if out.size > limit:
        # Social proof first, then by a cheap blend; keeps the heavy scorer's input bounded.
        blend = (
            user.social_count[out]
            + np.clip(sims[out], 0, 1)
            + np.log1p(np.maximum(pool.trend_score[out], 0)) / 10.0
        )
        out = out[_top(blend, limit)]
    return out


def _top(values: np.ndarray, k: int) -> np.ndarray:
    if k <= 0 or values.size == 0:
        return np.zeros(0, dtype=np.int64)
    if k >= values.size:
        return np.arange(values.size)
    return np.argpartition(-values, k - 1)[:k]


def rank_pool(
    *,
    pool: CandidatePool,
    user: UserContext,
    scorer: Scorer,
    config: RankConfig,
    now_h: float,
    limit: int = 20,
    offset: int = 0,
    category: str | None = None,
    explain_items: bool = True,
) -> RankOutput:
    mask = eligible_mask(pool=pool, user=user, category=category, language_filter=config.language_filter)
    readable = None
    if config.language_filter and int(mask.sum()) < offset + limit:
        # Too little in the user's languages (a small community, a narrow topic tab): a fuller page
        # with other languages after the readable events beats a near-empty one.
        readable = mask
        mask = eligible_mask(pool=pool, user=user, category=category, language_filter=False)
    sims = interest_similarity(pool, user)
    rows = generate_candidates(pool=pool, user=user, mask=mask, sims=sims, limit=config.candidate_limit)
    X = compute_features(pool=pool, user=user, rows=rows, now_h=now_h, interest_sim=sims[rows])
    scores = scorer.score(X) if rows.size else np.zeros(0, dtype=np.float32)
    if readable is not None and rows.size:
        ok = readable[rows]
        if ok.any() and (~ok).any():
            gap = float(scores[ok].min() - scores[~ok].max()) - 1.0
            if gap < 0:
                scores = scores.copy()
                scores[~ok] += gap
    order = rerank(
        scores=scores,
        emb=pool.emb[rows],
        category=pool.category[rows],
        source=pool.source[rows],
        pinned_slot=pool.pinned_slot[rows],
        length=offset + limit,
        mmr_lambda=config.mmr_lambda,
        window=config.window,
        # A topic tab is one category by definition.
        category_max=config.window if category else config.category_max,
        source_cap=config.source_cap,
        pool_size=config.mmr_pool,
    )[offset:]
    out_rows = rows[order]
    feats = X[order]
    explanations: list[str] = []
    if explain_items and out_rows.size:
        titles, best = nearest_engaged(pool.emb[out_rows], user.engaged_emb, user.engaged_titles)
        for i, row in enumerate(out_rows.tolist()):
            explanations.append(
                explain(
                    features=feats[i],
                    category=int(pool.category[row]),
                    social_handles=user.social_handles.get(int(pool.ids[row])),
                    location=user.location_name,
                    engaged_title=titles[i],
                    engaged_similarity=float(best[i]),
                )
            )
    return RankOutput(rows=out_rows, scores=scores[order], features=feats, explanations=explanations)


def trending_order(*, pool: CandidatePool, mask: np.ndarray, limit: int, offset: int) -> np.ndarray:
    """Non-personalised order: trend score, pins in their slots, no personal re-ranking."""
    rows = np.flatnonzero(mask)
    order = rerank(
        scores=pool.trend_score[rows] + pool.boost[rows],
        emb=pool.emb[rows],
        category=pool.category[rows],
        source=pool.source[rows],
        pinned_slot=pool.pinned_slot[rows],
        length=offset + limit,
        mmr_lambda=1.0,  # pure relevance; only caps and pins apply
        window=10,
        category_max=10,
        source_cap=2,
        pool_size=60,
    )[offset:]
    return rows[order]


__all__ = ["F", "RankOutput", "eligible_mask", "generate_candidates", "rank_pool", "trending_order"]
