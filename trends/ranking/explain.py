"""Why an item is in the feed, in words a user understands; the strongest reason wins."""

from __future__ import annotations

import numpy as np

from trends.ranking.features import F
from trends.ranking.types import CATEGORIES, CATEGORY_LABELS

ENGAGED_SIMILARITY = 0.5  # cosine above which "Because you engaged with …" is honest
MAX_LENGTH = 200


def follow_phrase(handles: list[str]) -> str:
    shown = [f"@{h}" for h in handles[:2]]
    if len(handles) == 1:
        return f"Because you follow {shown[0]}"
    if len(handles) == 2:
        return f"Because you follow {shown[0]} and {shown[1]}"
    others = len(handles) - 2
    return f"Because you follow {shown[0]}, {shown[1]} and {others} other{'s' if others > 1 else ''}"


def trending_phrase(category: int) -> str:
    """ "Trending in Sports"; uncategorised events just trend ("Trending in Other" reads badly)."""
    name = CATEGORIES[int(category)]
    return "Trending now" if name == "other" else f"Trending in {CATEGORY_LABELS[name]}"


def explain(
    *,
    features: np.ndarray,
    category: int,
    social_handles: list[str] | None = None,
    location: str = "",
    engaged_title: str = "",
    engaged_similarity: float = 0.0,
) -> str:
    """One explanation for one ranked item from its feature row and context."""
    if social_handles:
        text = follow_phrase(social_handles)
    elif engaged_title and engaged_similarity >= ENGAGED_SIMILARITY:
        text = f"Because you engaged with “{engaged_title}”"
    elif location and features[F["loc_match"]] > 0:
        text = f"Popular in {location}"
    else:
        text = trending_phrase(category)
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - 1] + "…"
    return text


def nearest_engaged(
    item_emb: np.ndarray, engaged_emb: np.ndarray | None, titles: list[str]
) -> tuple[list[str], np.ndarray]:
    """For each item, the title of the most similar event the user engaged with, and that similarity."""
    n = item_emb.shape[0]
    if engaged_emb is None or engaged_emb.shape[0] == 0 or not titles:
        return [""] * n, np.zeros(n, dtype=np.float32)
    sims = item_emb @ engaged_emb.T
    best = sims.argmax(axis=1)
    return [titles[int(b)] for b in best], sims[np.arange(n), best]
