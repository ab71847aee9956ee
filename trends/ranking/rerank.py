"""Re-ranking: maximal marginal relevance with category quotas, source caps and pinned slots.

Guarantees (tested): pinned events sit at their slot; in every run of `window` consecutive
unpinned picks no category appears more than `category_max` times and no source more than
`source_cap` times, as long as enough other candidates exist (the caps relax only when the
alternative is a shorter page); items the caller excluded are never returned.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def rerank(
    *,
    scores: np.ndarray,
    emb: np.ndarray,
    category: np.ndarray,
    source: np.ndarray,
    pinned_slot: np.ndarray,
    length: int,
    mmr_lambda: float = 0.7,
    window: int = 10,
    category_max: int = 3,
    source_cap: int = 2,
    pool_size: int = 120,
) -> np.ndarray:
    """Indices (into the input arrays) of the re-ranked list, at most `length` long."""
    n = scores.shape[0]
    length = min(length, n)
    if length <= 0:
        return np.zeros(0, dtype=np.int64)

    # Pins first: slot k (1-based) is position k-1; a clash goes to the next free slot.
    fixed: dict[int, int] = {}
    pinned_rows = np.flatnonzero(pinned_slot > 0)
    for row in sorted(pinned_rows.tolist(), key=lambda r: (int(pinned_slot[r]), -float(scores[r]))):
        # A slot past the end of a short list becomes its last place, so a pin is never lost.
        pos = min(int(pinned_slot[row]), n) - 1
        while pos in fixed:
            pos += 1
        if pos >= n:  # clashing pins at the very end: take the nearest free place before them
            pos = max(p for p in range(n) if p not in fixed)
        if pos < length:
            fixed[pos] = row

    free = np.ones(n, dtype=bool)
    if pinned_rows.size:
        free[pinned_rows] = False  # a pin beyond the page length is not promoted into it either
    candidates = np.flatnonzero(free)
    # Candidates come in blocks of `pool_size` by score; the next block opens only when the
    # current one is used up. Which items compete never depends on the page length, so page 2
    # continues page 1 exactly, however deep the paging goes.
    block = max(1, pool_size)
    k = min(candidates.size, block * max(1, -(-length // block)))
    if k < candidates.size:
        top = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[top]
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]

    s = scores[candidates].astype(np.float64)
    # Relevance is scaled on the first block, so later blocks only add (negative-relevance) depth.
    first = s[:block]
    spread = float(first.max() - first.min()) if first.size else 0.0
    rel = (s - first.min()) / spread if spread > 0 else np.ones_like(s)
    cand_emb = emb[candidates]
    cand_cat = category[candidates]
    cand_src = source[candidates]
    max_sim = np.zeros(candidates.size, dtype=np.float64)
    taken = np.zeros(candidates.size, dtype=bool)
    opened = np.arange(candidates.size) < block

    cat_of = category.tolist()
    src_of = source.tolist()
    out: list[int] = []
    for pos in range(length):
        if pos in fixed:
            row = fixed[pos]
            out.append(row)
            if candidates.size:
                max_sim = np.maximum(max_sim, cand_emb @ emb[row])
            continue
        if taken.all():
            # Unpinned candidates ran out; later pinned slots still get placed.
            continue
        if taken[opened].all():
            opened = np.arange(candidates.size) < (int(opened.sum()) + block)
        recent = out[max(0, len(out) - window + 1) :]
        mmr = mmr_lambda * rel - (1.0 - mmr_lambda) * max_sim
        allowed = ~taken & opened
        if recent:
            # Counting a window of ~10 Python ints beats numpy's unique/isin on arrays this small.
            cat_counts = Counter(cat_of[r] for r in recent)
            src_counts = Counter(src_of[r] for r in recent if src_of[r] >= 0)
            cat_ok = np.ones_like(allowed)
            for cat, count in cat_counts.items():
                if count >= category_max:
                    cat_ok &= cand_cat != cat
            src_ok = np.ones_like(allowed)
            for src, count in src_counts.items():
                if count >= source_cap:
                    src_ok &= cand_src != src
            for mask in (allowed & cat_ok & src_ok, allowed & src_ok, allowed):
                if mask.any():
                    allowed = mask
                    break
        choice = int(np.argmax(np.where(allowed, mmr, -np.inf)))
        taken[choice] = True
        out.append(int(candidates[choice]))
        max_sim = np.maximum(max_sim, cand_emb @ cand_emb[choice])

    return np.asarray(out[:length], dtype=np.int64)
