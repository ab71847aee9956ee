from collections import Counter

import numpy as np

from tests.detection.streams import hash_embed
from trends.detection.category import ZeroShotCategorizer
from trends.detection.naming import (
    class_terms,
    context_line,
    ctfidf,
    name_event,
    representatives,
    surface_forms,
)

LIMA = [f"Strong earthquake shakes Lima tonight, buildings damaged #limaquake {i}" for i in range(8)]
OSLO = [f"Strong earthquake? No, the storm in Oslo knocked trees down #oslostorm {i}" for i in range(8)]


def test_ctfidf_ranks_what_sets_an_event_apart_above_shared_words():
    ranked = ctfidf({1: class_terms(LIMA), 2: class_terms(OSLO)})
    top_lima = [t for t, _ in ranked[1][:4]]
    assert "#limaquake" in top_lima or "@e:lima" in top_lima
    scores = dict(ranked[1])
    # "strong" appears in both events: it ranks below the event's own name.
    assert scores["strong"] < scores["#limaquake"]


def test_title_leads_with_the_place_and_adds_keyphrases():
    texts = LIMA
    ranked = ctfidf({1: class_terms(texts), 2: class_terms(OSLO)})
    naming = name_event(ranked[1], surface=surface_forms(texts))
    assert naming.title.startswith("Lima")
    assert 0 < len(naming.title) <= 120
    assert "lima" in naming.entities and "limaquake" in naming.hashtags


def test_surface_forms_prefer_normal_case_over_shouting():
    forms = surface_forms(["SANTIAGO DE COMPOSTELA crash", "crash near Santiago", "Santiago again"])
    assert forms["santiago"] == "Santiago"


def test_context_line():
    assert context_line(category_label="Sports", place="Madrid", since="26 Nov 12:00 UTC") == (
        "Trending in Sports · Madrid · since 26 Nov 12:00 UTC"
    )


def test_representatives_are_relevant_diverse_distinct_authors_and_healthy():
    rng = np.random.default_rng(1)
    a = np.array([1.0, 0, 0, 0, 0, 0, 0, 0])
    b = np.array([0.3, 0.95, 0, 0, 0, 0, 0, 0])
    vecs = []
    for base in [a] * 6 + [b] * 6:
        v = base + rng.normal(scale=0.2, size=8)
        vecs.append(v / np.linalg.norm(v))
    vecs = np.array(vecs, dtype=np.float32)
    centroid = vecs.mean(axis=0)
    centroid /= np.linalg.norm(centroid)
    authors = ["x", "x", "x", "y", "z", "w", "p", "q", "r", "s", "t", "u"]
    health = [1.0] * 12
    health[6] = 0.1  # a low-health post in sub-cluster b
    picks = representatives(vecs, centroid=centroid, authors=authors, health=health, k=4, subclusters=2)
    assert len(picks) == 4
    assert len({authors[i] for i in picks}) == 4
    assert 6 not in picks
    # Both viewpoints (sub-clusters) are covered.
    assert any(i < 6 for i in picks) and any(i >= 6 for i in picks)


def test_zero_shot_category_picks_the_closest_description():
    def encode(texts):
        return np.stack([hash_embed(t, 256) for t in texts])

    cat = ZeroShotCategorizer(encode, min_cos=0.05)
    sports = encode(["football match goal league championship players team score"])[0]
    tech = encode(["new smartphones apps software launch by a tech company"])[0]
    assert cat.classify(sports) == "sports"
    assert cat.classify(tech) == "technology"
    assert cat.classify(np.zeros(256, dtype=np.float32) + 1e-3) in set(cat.names) | {"other"}
    assert Counter(cat.scores(sports)).most_common(1)[0][0] == "sports"
