"""Naming an event: keyphrases by class-based TF-IDF, a short title, a context line, and
representative posts chosen for relevance *and* diversity.

c-TF-IDF (Grootendorst, BERTopic): treat all posts of an event as one document (a class);
weight(t, c) = tf(t, c) * log(1 + A / f(t)), where A is the average number of terms per class and
f(t) the frequency of t over all classes. Terms common to every event ("earthquake" when all
live events are earthquakes) sink; terms that set an event apart rise.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .features import STOPWORDS, extract, tokenise

TITLE_MAX = 120


def class_terms(texts: Iterable[str]) -> Counter:
    """Terms of one class: words, adjacent word pairs (keyphrases), hashtags and names."""
    terms: Counter = Counter()
    for text in texts:
        f = extract(text)
        words = tokenise(text)
        terms.update(words)
        terms.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a != b)
        terms.update(f"#{h}" for h in f.hashtags)
        terms.update(f"@e:{e}" for e in f.entities)
    return terms


def ctfidf(classes: Mapping[int, Counter], background: Counter | None = None) -> dict[int, list[tuple[str, float]]]:
    """c-TF-IDF ranking of each class's terms against all classes (plus an optional background)."""
    if not classes:
        return {}
    freq: Counter = Counter()
    for terms in classes.values():
        freq.update(terms)
    if background:
        freq.update(background)
    total_words = sum(sum(t.values()) for t in classes.values()) + (sum(background.values()) if background else 0)
    n_classes = len(classes) + (1 if background else 0)
    avg = total_words / max(1, n_classes)
    out: dict[int, list[tuple[str, float]]] = {}
    for cid, terms in classes.items():
        size = sum(terms.values()) or 1
        scored = [
            (t, (n / size) * math.log(1.0 + avg / freq[t]))
            for t, n in terms.items()
            # A term must recur inside the event to describe it.
            if n >= 2 or len(terms) < 20
        ]
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        out[cid] = scored
    return out


def _display(term: str, surface: Mapping[str, str]) -> str:
    if term.startswith("@e:"):
        key = term[3:]
        return surface.get(key) or key.title()
    return term


def surface_forms(texts: Iterable[str]) -> dict[str, str]:
    """Most common original casing of each lowercased capitalised phrase."""
    seen: dict[str, Counter] = {}
    for text in texts:
        for m in re.finditer(r"[A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+)*", text):
            phrase = m.group(0)
            seen.setdefault(phrase.lower(), Counter())[phrase] += 1
    out = {}
    for k, c in seen.items():
        # Prefer a normally-cased form over SHOUTING when both occur.
        ranked = sorted(c.items(), key=lambda kv: (kv[0].isupper(), -kv[1]))
        out[k] = ranked[0][0]
    return out


@dataclass(slots=True)
class Naming:
    title: str
    keywords: list[str]
    hashtags: list[str]
    entities: list[str]


def name_event(ranked: Sequence[tuple[str, float]], *, surface: Mapping[str, str] | None = None,
               max_keywords: int = 8) -> Naming:
    """Title = the leading name or hashtag, then the best keyphrases that are not part of it."""
    surface = surface or {}
    entities = [t[3:] for t, _ in ranked if t.startswith("@e:")]
    hashtags = [t[1:] for t, _ in ranked if t.startswith("#")]
    words = [t for t, _ in ranked if not t.startswith(("#", "@e:"))]
    keywords: list[str] = []
    for w in words:
        # Skip a word already covered by a chosen phrase and phrases made of covered words.
        if any(w in k.split() or set(w.split()) <= set(k.split()) for k in keywords):
            continue
        keywords.append(w)
        if len(keywords) >= max_keywords:
            break
    head = ""
    if entities:
        head = _display(f"@e:{entities[0]}", surface)
    elif hashtags:
        head = f"#{hashtags[0]}"
    head_words = set(head.lower().lstrip("#").split())
    tail = [k for k in keywords if not set(k.split()) & head_words and k not in STOPWORDS][:2]
    if head and tail:
        title = f"{head}: {', '.join(tail)}"
    elif head:
        title = head
    else:
        title = ", ".join(keywords[:3]) or "Untitled event"
    return Naming(title=title[:TITLE_MAX], keywords=keywords, hashtags=hashtags[:5], entities=entities[:5])


def context_line(*, category_label: str, place: str = "", since: str = "") -> str:
    parts = [f"Trending in {category_label}"]
    if place:
        parts.append(place)
    if since:
        parts.append(f"since {since}")
    return " · ".join(parts)


def representatives(
    vectors: np.ndarray,
    *,
    centroid: np.ndarray,
    authors: Sequence[object],
    health: Sequence[float] | None = None,
    k: int = 5,
    lam: float = 0.7,
    min_health: float = 0.5,
    duplicate_cos: float = 0.95,
    subclusters: int | None = None,
) -> list[int]:
    """Indices of up to k posts: relevant to the centroid, from distinct authors, covering
    distinct sub-clusters (viewpoints), skipping low-health posts and near-duplicates.

    Maximal Marginal Relevance: argmax  lam * cos(post, centroid) - (1 - lam) * max cos(post, chosen),
    with the first picks forced into sub-clusters not yet covered.
    """
    n = len(vectors)
    if n == 0:
        return []
    health = list(health) if health is not None else [1.0] * n
    ok = np.array([h >= min_health for h in health], dtype=bool)
    if not ok.any():
        return []
    rel = vectors @ centroid
    groups = _subclusters(vectors, subclusters or min(k, max(1, n // 8)))
    chosen: list[int] = []
    used_authors: set = set()
    covered: set[int] = set()
    max_sim = np.full(n, -1.0)
    n_groups = int(groups.max()) + 1 if n else 0
    while len(chosen) < k:
        mmr = lam * rel - (1 - lam) * np.maximum(max_sim, 0.0)
        mask = ok.copy()
        for i in range(n):
            if not mask[i]:
                continue
            if authors[i] in used_authors or max_sim[i] >= duplicate_cos:
                mask[i] = False
        if len(covered) < n_groups:
            fresh = mask & ~np.isin(groups, list(covered))
            if fresh.any():
                mask = fresh
        if not mask.any():
            break
        pick = int(np.argmax(np.where(mask, mmr, -np.inf)))
        chosen.append(pick)
        used_authors.add(authors[pick])
        covered.add(int(groups[pick]))
        max_sim = np.maximum(max_sim, vectors @ vectors[pick])
    return chosen


def _subclusters(vectors: np.ndarray, k: int, iters: int = 8) -> np.ndarray:
    """Deterministic spherical k-means (farthest-point seeding) for viewpoint coverage."""
    n = len(vectors)
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    seeds = [int(np.argmax(vectors @ vectors.mean(axis=0)))]
    closest = vectors @ vectors[seeds[0]]
    for _ in range(1, k):
        nxt = int(np.argmin(closest))
        seeds.append(nxt)
        closest = np.maximum(closest, vectors @ vectors[nxt])
    centers = vectors[seeds].copy()
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iters):
        labels = np.argmax(vectors @ centers.T, axis=1)
        for j in range(k):
            members = vectors[labels == j]
            if len(members):
                c = members.sum(axis=0)
                centers[j] = c / (np.linalg.norm(c) or 1.0)
    return labels
