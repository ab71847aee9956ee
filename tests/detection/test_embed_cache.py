import numpy as np
import pytest

from trends.detection.embed_cache import EmbeddingCache, text_key


def _encoder(calls):
    def encode(texts):
        calls.append(len(texts))
        return np.stack([np.full(4, float(len(t)), dtype=np.float32) for t in texts])

    return encode


def test_cache_computes_each_text_once_and_survives_a_new_process(tmp_path):
    # A digest ending in a zero byte once lost its last byte on disk; make sure one is covered.
    tricky = next(f"text {i}" for i in range(100_000) if text_key(f"text {i}").endswith(b"\0"))
    texts = ["alpha", "beta", "alpha", tricky]
    calls = []
    vecs, computed = EmbeddingCache(tmp_path, "model/x").encode(texts, _encoder(calls))
    assert computed == 3 and calls == [3]
    assert vecs.shape == (4, 4) and vecs[0, 0] == vecs[2, 0] == 5.0

    def fail(texts):
        raise AssertionError(f"should be cached: {texts}")

    again, computed = EmbeddingCache(tmp_path, "model/x").encode(texts, fail)
    assert computed == 0
    assert np.array_equal(again, vecs)


def test_cache_is_keyed_by_model(tmp_path):
    calls = []
    EmbeddingCache(tmp_path, "m1").encode(["same"], _encoder(calls))
    _, computed = EmbeddingCache(tmp_path, "m2").encode(["same"], _encoder(calls))
    assert computed == 1 and calls == [1, 1]


@pytest.mark.parametrize("texts", [[]])
def test_empty_input(tmp_path, texts):
    vecs, computed = EmbeddingCache(tmp_path, "m").encode(texts, _encoder([]))
    assert computed == 0 and len(vecs) == 0
