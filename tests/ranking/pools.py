"""Small hand-built CandidatePool / UserContext objects for the pure ranking tests."""

import numpy as np

from trends.ranking.types import CATEGORIES, CandidatePool, UserContext


def unit_rows(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_pool(n: int = 10, dim: int = 16, **columns) -> CandidatePool:
    base = {
        "ids": np.arange(1, n + 1, dtype=np.int64),
        "emb": unit_rows(n, dim),
        "category": np.zeros(n, dtype=np.int16),
        "lang": np.zeros(n, dtype=np.int32),
        "loc": np.full(n, -1, dtype=np.int32),
        "trend_score": np.linspace(10, 1, n).astype(np.float32),
        "velocity": np.zeros(n, dtype=np.float32),
        "author_count": np.full(n, 10, dtype=np.float32),
        "first_seen_h": np.full(n, 90.0),
        "last_seen_h": np.full(n, 99.0),
        "health": np.ones(n, dtype=np.float32),
        "impressions": np.zeros(n, dtype=np.float32),
        "clicks": np.zeros(n, dtype=np.float32),
        "boost": np.zeros(n, dtype=np.float32),
        "pinned_slot": np.full(n, -1, dtype=np.int16),
        "source": np.full(n, -1, dtype=np.int32),
        "titles": [f"Event {i}" for i in range(1, n + 1)],
        "lang_vocab": {"en": 0, "pt": 1},
        "loc_vocab": {"lisbon": 0},
        "loc_names": ["Lisbon"],
    }
    base.update(columns)
    return CandidatePool(**base)


def make_user(pool: CandidatePool, **fields) -> UserContext:
    n, dim = len(pool), pool.emb.shape[1]
    base = {
        "interest": np.zeros(dim, dtype=np.float32),
        "category_pref": np.full(len(CATEGORIES), 1.0 / len(CATEGORIES), dtype=np.float32),
        "lang_codes": np.array([0], dtype=np.int32),
        "loc_code": -1,
        "social_count": np.zeros(n, dtype=np.float32),
        "seen": np.zeros(n, dtype=np.float32),
        "dismissed": np.zeros(n, dtype=bool),
    }
    base.update(fields)
    return UserContext(**base)
