"""The user interest model: a time-decayed, signed mix of what a user engaged with and what
the accounts they follow post, plus a category distribution seeded by declared topics."""

from __future__ import annotations

import numpy as np

from trends.ranking.types import CATEGORIES, CATEGORY_INDEX

# Negative feedback weighs far more than a like (cf. the-algorithm's heavy-ranker weights).
KIND_WEIGHTS: dict[str, float] = {
    "click": 1.0,
    "like": 1.5,
    "retweet": 2.0,
    "reply": 2.5,
    "dismiss": -3.0,
    "report": -5.0,
}
HALF_LIFE_HOURS = 72.0
FOLLOWEE_WEIGHT = 0.35  # how much the followed accounts' posting counts against one's own engagement
TOPIC_PRIOR = 2.0  # each declared topic counts like two engagements in the category distribution
SMOOTHING = 0.25  # every category keeps a little mass: cold users still see a bit of everything


def build_interest(
    *,
    emb: np.ndarray,
    weights: np.ndarray,
    categories: np.ndarray,
    ages_h: np.ndarray,
    topics: list[str] | None = None,
    followee_emb: np.ndarray | None = None,
    half_life_h: float = HALF_LIFE_HOURS,
    dim: int = 384,
) -> tuple[np.ndarray, np.ndarray]:
    """(unit interest vector or zeros, category distribution) from engagement rows.

    emb: (k, d) embeddings of the engaged events/posts; weights: signed KIND_WEIGHTS per row;
    categories: category index per row (-1 unknown); ages_h: hours since each engagement.
    """
    decayed = weights.astype(np.float32) * np.power(0.5, np.asarray(ages_h, dtype=np.float32) / half_life_h)
    vector = np.zeros(dim, dtype=np.float32)
    if emb.shape[0]:
        dim = emb.shape[1]
        vector = np.zeros(dim, dtype=np.float32)
        vector += decayed @ emb
    if followee_emb is not None and followee_emb.shape[0]:
        # Their mean direction, scaled like a handful of one's own clicks.
        vector += FOLLOWEE_WEIGHT * followee_emb.mean(axis=0) * max(1.0, float(np.abs(decayed).sum()))
    norm = float(np.linalg.norm(vector))
    vector = vector / norm if norm > 1e-6 else np.zeros(dim, dtype=np.float32)

    pref = np.zeros(len(CATEGORIES), dtype=np.float32)
    if categories.size:
        valid = categories >= 0
        np.add.at(pref, categories[valid].astype(np.int64), decayed[valid])
    pref = np.maximum(pref, 0.0)
    for topic in topics or []:
        idx = CATEGORY_INDEX.get(topic)
        if idx is not None:
            pref[idx] += TOPIC_PRIOR
    pref += SMOOTHING
    return vector, pref / pref.sum()


def kind_weights(kinds: list[str]) -> np.ndarray:
    return np.asarray([KIND_WEIGHTS.get(k, 0.0) for k in kinds], dtype=np.float32)
