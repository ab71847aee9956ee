import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

# Two shared cores: wall-clock health checks and deadlines would make property tests flaky, not stricter.
hypothesis_settings.register_profile(
    "explore", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
hypothesis_settings.load_profile("explore")


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Each test gets an empty cache, so per-user feed caching never leaks between tests."""
    from django.core.cache import cache

    # Exploration shuffles a share of pages on purpose; tests that assert an order must not see it.
    settings.RANKING_EXPLORE_RATE = 0.0

    from trends.pages import services as page_services

    cache.clear()
    page_services._asked.clear()  # this process's memory of refreshes already asked for
    yield
    cache.clear()


@pytest.fixture
def user(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def fake_embedder(monkeypatch):
    """A deterministic, model-free embedder: hashed bag of words, L2-normalised.

    Unit tests use it so they run in milliseconds; tests marked `model` use the real transformer.
    """
    import hashlib

    import numpy as np

    from trends import embedding

    class HashEmbedder:
        name = "test-hash-embedder"
        dim = 384

        def encode(self, texts):
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            for row, text in enumerate(texts):
                for word in text.lower().split():
                    h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                    out[row, h % self.dim] += 1.0
                norm = np.linalg.norm(out[row]) or 1.0
                out[row] /= norm
            return out

    instance = HashEmbedder()
    monkeypatch.setattr(embedding, "get_embedder", lambda tier=None: instance)
    import trends.pipeline as pipeline_module

    if hasattr(pipeline_module, "get_embedder"):
        monkeypatch.setattr(pipeline_module, "get_embedder", lambda tier=None: instance)
    return instance


@pytest.fixture(autouse=True)
def _eager_tasks(request):
    """Unit tests run tasks in-process; integration tests use real worker processes instead."""
    from explore_site.celery import app

    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
