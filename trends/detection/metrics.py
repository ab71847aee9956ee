"""Clustering quality against gold labels: B-cubed precision/recall/F1, NMI, ARI.

Unassigned items (label None or negative) count as singletons, so leaving a post out of every
event costs recall but never precision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np


def _with_singletons(pred: Sequence[Hashable | None]) -> list[Hashable]:
    out: list[Hashable] = []
    for i, p in enumerate(pred):
        if p is None or (isinstance(p, int | np.integer) and p < 0):
            out.append(("__singleton__", i))
        else:
            out.append(p)
    return out


def bcubed(gold: Sequence[Hashable], pred: Sequence[Hashable | None]) -> tuple[float, float, float]:
    """Amigó et al. (2009) B-cubed, computed from the contingency table in O(n)."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred must have the same length")
    n = len(gold)
    if n == 0:
        return 0.0, 0.0, 0.0
    pred_full = _with_singletons(pred)
    pair = Counter(zip(gold, pred_full, strict=True))
    gold_size = Counter(gold)
    pred_size = Counter(pred_full)
    # Each item in cell (g, p) has precision cell/|p| and recall cell/|g|.
    precision = sum(c * c / pred_size[p] for (g, p), c in pair.items()) / n
    recall = sum(c * c / gold_size[g] for (g, p), c in pair.items()) / n
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


def nmi(gold: Sequence[Hashable], pred: Sequence[Hashable | None]) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(_codes(gold), _codes(_with_singletons(pred))))


def ari(gold: Sequence[Hashable], pred: Sequence[Hashable | None]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(_codes(gold), _codes(_with_singletons(pred))))


def _codes(labels: Sequence[Hashable]) -> np.ndarray:
    index: dict[Hashable, int] = {}
    return np.array([index.setdefault(x, len(index)) for x in labels], dtype=np.int64)
