"""On-disk embedding cache keyed by (model name, text hash), for replays and evaluations.

Chunks are append-only `.npz` files (keys + float16 vectors) under one folder per model, so a
second replay of the same texts costs no model time and a new CSV only embeds its new texts.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


class EmbeddingCache:
    def __init__(self, root: str | Path, model_name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", model_name)
        self.dir = Path(root) / safe
        self._store: dict[bytes, np.ndarray] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if not self.dir.exists():
            return
        for chunk in sorted(self.dir.glob("*.npz")):
            with np.load(chunk) as data:
                keys, vecs = data["keys"], data["vectors"]
            for k, v in zip(keys, vecs, strict=True):
                # numpy's fixed-width bytes drop trailing NULs: pad the 20-byte digest back.
                self._store[bytes(k).ljust(20, b"\0")] = v

    def encode(
        self,
        texts: list[str],
        encoder: Callable[[list[str]], np.ndarray],
        *,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, int]:
        """Vectors for `texts` (float32, row per text) and how many had to be computed."""
        self._load()
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in self._store and k not in missing:
                missing[k] = t
        if missing:
            miss_keys = list(missing)
            for start in range(0, len(miss_keys), batch_size):
                part = miss_keys[start : start + batch_size]
                vecs = np.asarray(encoder([missing[k] for k in part]), dtype=np.float32)
                self._save(part, vecs)
                for k, v in zip(part, vecs, strict=True):
                    self._store[k] = v.astype(np.float16)
        out = np.stack([self._store[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 0))
        return out, len(missing)

    def _save(self, keys: list[bytes], vecs: np.ndarray) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{uuid.uuid4().hex}.tmp.npz"
        np.savez(tmp, keys=np.array(keys, dtype="S20"), vectors=vecs.astype(np.float16))
        os.replace(tmp, self.dir / f"{uuid.uuid4().hex}.npz")
