"""Offline ranking metrics shared by training checks, the evaluation command and experiment results."""

from __future__ import annotations

import numpy as np


def dcg(gains: np.ndarray, k: int) -> float:
    g = np.asarray(gains, dtype=np.float64)[:k]
    if g.size == 0:
        return 0.0
    return float(np.sum(g / np.log2(np.arange(2, g.size + 2))))


def ndcg_at_k(ranked_gains: np.ndarray, all_gains: np.ndarray, k: int = 10) -> float | None:
    """NDCG of a ranked list against the ideal order of every candidate's gain; None if nothing is relevant."""
    ideal = dcg(np.sort(np.asarray(all_gains, dtype=np.float64))[::-1], k)
    if ideal <= 0:
        return None
    return dcg(ranked_gains, k) / ideal


def recall_at_k(ranked_relevant: np.ndarray, n_relevant: int, k: int = 10) -> float | None:
    if n_relevant <= 0:
        return None
    return float(np.sum(np.asarray(ranked_relevant)[:k] > 0)) / min(n_relevant, k)


def intra_list_diversity(emb: np.ndarray) -> float:
    """Mean pairwise (1 - cosine) between the items of one list."""
    n = emb.shape[0]
    if n < 2:
        return 0.0
    sims = emb @ emb.T
    upper = sims[np.triu_indices(n, k=1)]
    return float(np.mean(1.0 - upper))


def category_coverage(categories: np.ndarray, n_categories: int) -> float:
    """Share of all categories present in one list."""
    if n_categories <= 0:
        return 0.0
    return float(np.unique(categories).size) / n_categories


def personalization(lists: list[np.ndarray], max_pairs: int = 20000, seed: int = 0) -> float:
    """Mean pairwise dissimilarity (1 - overlap/k) between users' top-k lists (sampled pairs when many)."""
    n = len(lists)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    sets = [set(np.asarray(x).tolist()) for x in lists]
    total_pairs = n * (n - 1) // 2
    if total_pairs <= max_pairs:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        a = rng.integers(0, n, size=max_pairs)
        b = rng.integers(0, n, size=max_pairs)
        pairs = [(int(i), int(j)) for i, j in zip(a, b, strict=True) if i != j]
    values = []
    for i, j in pairs:
        k = max(len(sets[i]), len(sets[j]), 1)
        values.append(1.0 - len(sets[i] & sets[j]) / k)
    return float(np.mean(values)) if values else 0.0
