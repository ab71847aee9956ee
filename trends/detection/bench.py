"""Clustering cost per post as the number of active events grows (no database, no model).

    python -m trends.detection.bench [--sizes 1000 10000 100000] [--posts 2000] [--dim 384] [--repeat 3]

Preloads N active events (random centroids, each with its own hashtag and place plus words drawn
from a shared vocabulary, so posting lists are realistic), then times `OnlineClusterer.add` for a
stream of posts that mention existing events' names or nothing rare at all. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter

import numpy as np

from .clusterer import ClusterParams, ClusterState, OnlineClusterer, Post
from .features import extract

VOCAB = [f"word{i}" for i in range(3000)]


def _unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def run(n_events: int, posts: int, dim: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    params = ClusterParams(maintain_every=0)
    cl = OnlineClusterer(dim=dim, params=params)
    t0 = 1_700_000_000.0
    centroids = np.stack([_unit(rng, dim) for _ in range(n_events)])
    for i in range(n_events):
        terms = Counter({f"#tag{i}": 20, f"@e:place{i}": 15})
        terms.update(dict.fromkeys(pyrng.sample(VOCAB, 12), 3))
        cl.load_cluster(
            ClusterState(id=i + 1, first_ts=t0, last_ts=t0 + pyrng.random() * 600, vector_sum=centroids[i] * 30,
                         size=30, gap=20.0, term_counts=terms, is_event=True)
        )
    cl.doc_freq = Counter(dict.fromkeys(VOCAB, n_events // 100 + 1))
    cl.docs = n_events * 30
    texts, vecs = [], []
    for j in range(posts):
        k = pyrng.randrange(n_events)
        if j % 2:
            texts.append(f"news about Place{k} #tag{k} " + " ".join(pyrng.sample(VOCAB, 6)))
            v = centroids[k] + 0.5 * _unit(rng, dim)
        else:
            texts.append(" ".join(pyrng.sample(VOCAB, 8)))
            v = _unit(rng, dim)
        vecs.append(v / np.linalg.norm(v))
    feats = [extract(t) for t in texts]
    start = time.perf_counter()
    for j in range(posts):
        cl.add(Post(id=10**9 + j, ts=t0 + 600 + j * 0.01, vector=vecs[j], features=feats[j], author=f"a{j}"))
    elapsed = time.perf_counter() - start
    return {"active_events": n_events, "posts": posts, "us_per_post": round(elapsed / posts * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=3, help="Best of N (shared machines are noisy).")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        runs = [run(n, args.posts, args.dim, seed=k) for k in range(args.repeat)]
        rows.append(min(runs, key=lambda r: r["us_per_post"]))
    base = rows[0]["us_per_post"]
    for r in rows:
        r["vs_smallest"] = round(r["us_per_post"] / base, 2)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
