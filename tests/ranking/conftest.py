import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from trends.embedding import pack


def unit(seed: int, dim: int = 384) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def make_event(db):
    """An event with a centroid; keyword overrides any Event field."""
    from tests.factories import EventFactory

    counter = {"n": 0}

    def make(*, vec=None, **fields):
        counter["n"] += 1
        vec = unit(1000 + counter["n"]) if vec is None else vec
        fields.setdefault("first_seen_at", timezone.now() - dt.timedelta(hours=3))
        fields.setdefault("last_seen_at", timezone.now() - dt.timedelta(minutes=10))
        return EventFactory(centroid=pack(vec), **fields)

    return make


@pytest.fixture(autouse=True)
def _ranking_settings(settings, tmp_path):
    settings.RANKING_MODEL_DIR = str(tmp_path / "models")
    settings.RANKING_EXPLORE_RATE = 0.0
    settings.TREND_MIN_UNIQUE_AUTHORS = 1
