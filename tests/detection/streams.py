"""Small generated streams for the detection tests (never the shared dataset)."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field

import numpy as np

from trends.detection.replay import StreamRow

DIM = 128
FILLER = [f"word{i}" for i in range(400)]


def hash_embed(text: str, dim: int = DIM) -> np.ndarray:
    """Bag of hashed words, L2-normalised: the same idea as the test suite's fake embedder."""
    v = np.zeros(dim, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
        v[h % dim] += 1.0
    n = float(np.linalg.norm(v)) or 1.0
    return v / n


@dataclass
class Topic:
    name: str
    words: list[str]
    place: str
    hashtag: str
    start: float
    posts: int
    spacing: float = 60.0
    extra: list[str] = field(default_factory=list)


def topic_text(rng: random.Random, t: Topic) -> str:
    words = rng.sample(t.words, k=min(5, len(t.words)))
    parts = [w.capitalize() if i == 0 else w for i, w in enumerate(words)]
    if rng.random() < 0.8:
        parts.append(f"in {t.place}")
    if rng.random() < 0.7:
        parts.append(f"#{t.hashtag}")
    parts.append(rng.choice(FILLER))
    return " ".join(parts)


def noise_text(rng: random.Random) -> str:
    return " ".join(rng.sample(FILLER, k=6))


def make_stream(topics: list[Topic], *, noise: int = 0, seed: int = 7, span: float | None = None) -> list[StreamRow]:
    rng = random.Random(seed)
    rows: list[StreamRow] = []
    next_id = 1
    for t in topics:
        for i in range(t.posts):
            rows.append(StreamRow(id=next_id, ts=t.start + i * t.spacing + rng.random(), text=topic_text(rng, t),
                                  gold=t.name, author=f"{t.name}-a{i}"))
            next_id += 1
    if noise:
        lo = min(t.start for t in topics)
        hi = span or max(t.start + t.posts * t.spacing for t in topics)
        for i in range(noise):
            rows.append(StreamRow(id=next_id, ts=lo + rng.random() * (hi - lo), text=noise_text(rng),
                                  gold="noise", off_topic=True, author=f"n{i}"))
            next_id += 1
    rows.sort(key=lambda r: (r.ts, r.id))
    return rows


def vectors(rows: list[StreamRow]) -> np.ndarray:
    return np.stack([hash_embed(r.text) for r in rows])


QUAKE = ["earthquake", "magnitude", "shaking", "buildings", "collapsed", "aftershock", "rescue", "victims", "tremor"]
FLOOD = ["flood", "water", "rising", "river", "evacuation", "rain", "rescue", "homes", "submerged"]
MATCH = ["goal", "match", "striker", "penalty", "league", "referee", "fans", "stadium", "win"]
