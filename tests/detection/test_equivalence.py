"""The optimised clusterer and feature extraction give exactly what the pre-optimisation code gave
(tests/detection/reference_*.py, kept verbatim): same assignments and scores, same changes, same
cluster states (vector sums bit for bit), same features."""

import dataclasses
import random
from collections import Counter

import numpy as np
import pytest

from tests.detection import reference_clusterer as ref
from tests.detection import reference_features as ref_features
from tests.detection.streams import FLOOD, MATCH, QUAKE, Topic, hash_embed, make_stream
from trends.detection import clusterer as new
from trends.detection import features as new_features

T0 = 1_700_000_000.0
CYCLONE = ["cyclone", "landfall", "winds", "storm", "surge", "coast", "shelters", "evacuated", "damage"]

AGGRESSIVE = {
    "maintain_every": 40, "split_check_members": 30, "split_min": 8, "recent_buffer": 60, "min_tau": 60.0,
    "init_tau": 60.0, "max_tau": 900.0, "revive_window": 86400.0, "revive_threshold": 0.5, "min_members": 3,
    "min_authors": 3,
}


def _stream(seed: int) -> list:
    rng = random.Random(seed)
    topics = [
        Topic("quake", QUAKE, "Lima", "limaquake", T0, 120, spacing=20.0),
        Topic("flood", FLOOD, "Porto Alegre", "flood", T0 + 300, 90, spacing=30.0),
        Topic("match", MATCH, "Madrid", "elclasico", T0 + 100, 80, spacing=25.0),
        # Drifts: the same hashtag, then other words (a split candidate).
        Topic("drift-a", QUAKE, "Quito", "ecuador", T0, 60, spacing=15.0),
        Topic("drift-b", MATCH, "Quito", "ecuador", T0 + 900, 60, spacing=15.0),
        # Comes back after a long silence (retire, then revive).
        Topic("back", CYCLONE, "Dhaka", "cyclone", T0, 30, spacing=10.0),
        Topic("back", CYCLONE, "Dhaka", "cyclone", T0 + 20_000, 30, spacing=10.0),
    ]
    rows = make_stream(topics, noise=150, seed=seed, span=25_000.0)
    for i, r in enumerate(rows):
        r.id = i + 1
        # Repeat posters (per-author cap), author-less posts, HTML entities and RT headers.
        roll = rng.random()
        if roll < 0.15:
            r.author = f"regular{rng.randrange(4)}"
        elif roll < 0.2:
            r.author = None
        if rng.random() < 0.1:
            r.text = f"RT @{r.author or 'someone'}: {r.text} &amp; more http://www.news.example.com/x"
    return rows


def _run_both(rows, params: dict, *, batch: int, dim: int = 128, vectors=None, loaded=()) -> Counter:
    """Feed the same posts to both clusterers; returns the kinds of changes seen."""
    temp = {"ref": iter(range(-1, -10**9, -1)), "new": iter(range(-1, -10**9, -1))}
    a = ref.OnlineClusterer(dim=dim, params=ref.ClusterParams(**params), id_allocator=lambda: next(temp["ref"]))
    b = new.OnlineClusterer(dim=dim, params=new.ClusterParams(**params), id_allocator=lambda: next(temp["new"]))
    for state in loaded:
        a.load_cluster(ref.ClusterState(**state(np.float32)))
        b.load_cluster(new.ClusterState(**state(np.float32)))
    _assert_same_state(a, b)
    kinds: Counter = Counter()
    next_id = 1000
    rng = random.Random(5)
    for n, r in enumerate(rows, start=1):
        vector = hash_embed(r.text) if vectors is None else vectors[n - 1]
        health = rng.choice([1.0, 1.0, 0.2, 0.05])
        pa = ref.Post(id=r.id, ts=r.ts, vector=vector, features=ref_features.extract(r.text), author=r.author,
                      health=health)
        pb = new.Post(id=r.id, ts=r.ts, vector=vector, features=new_features.extract(r.text), author=r.author,
                      health=health)
        assert dataclasses.astuple(a.add(pa)) == dataclasses.astuple(b.add(pb)), n
        if n % batch == 0 or n == len(rows):
            # As the pipeline's worker ends a batch: maintain, write back (ids for new clusters), forget.
            assert _changes(a.maintain(now=a.now)) == _changes(b.maintain(now=b.now))
            _assert_same_state(a, b)
            kinds.update(c.kind for c in b.changes)
            mapping = {}
            for cid in sorted((cid for cid in a.clusters if cid < 0), reverse=True):
                mapping[cid] = next_id
                next_id += 1
            a.rename(mapping)
            b.rename(mapping)
            a.end_batch()
            b.end_batch()
            _assert_same_state(a, b)
    assert a.posts_seen == b.posts_seen == len(rows)
    return kinds


def _changes(changes) -> list:
    return [(c.kind, c.source, c.target, c.ts, c.details) for c in changes]


def _assert_same_state(a, b) -> None:
    assert list(a.clusters) == list(b.clusters)
    for cid, x in a.clusters.items():
        y = b.clusters[cid]
        assert (x.first_ts, x.last_ts, x.size, x.gap, x.is_event, x.dormant, x.merged_into) == (
            y.first_ts, y.last_ts, y.size, y.gap, y.is_event, y.dormant, y.merged_into
        )
        assert list(x.term_counts.items()) == list(y.term_counts.items())
        assert x.author_counts == y.author_counts
        assert x.dominant == y.dominant
        assert x.members == y.members
        assert [m for m, _ in x.recent] == [m for m, _ in y.recent]
        assert x.vector_sum.dtype == y.vector_sum.dtype
        assert x.vector_sum.tobytes() == y.vector_sum.tobytes()
        assert x.centroid.tobytes() == y.centroid.tobytes()
    assert list(a._recent) == list(b._recent)
    assert {t: list(p) for t, p in a._index.items()} == {t: list(p) for t, p in b._index.items()}
    assert a._dormant_index == b._dormant_index
    assert a._slot == b._slot
    assert a._matrix.tobytes() == b._matrix.tobytes()
    assert list(a.doc_freq.items()) == list(b.doc_freq.items())
    assert a.docs == b.docs
    assert a.merged_map == b.merged_map
    assert _changes(a.changes) == _changes(b.changes)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("params,batch", [
    ({"maintain_every": 50}, 97),
    (AGGRESSIVE, 61),
    ({"maintain_every": 30, "emb_weight": 0.9, "lex_weight": 1.1, "time_weight": 0.3, "lex_top": 2}, 83),
])
def test_same_assignments_changes_and_states_as_the_reference(seed, params, batch):
    kinds = _run_both(_stream(seed), params, batch=batch)
    # The equivalence is only worth as much as the paths it walks.
    assert "promote" in kinds
    if params is AGGRESSIVE:
        assert {"retire", "revive"} <= set(kinds)


def test_same_splits_as_the_reference():
    params = {"split_check_members": 40, "split_min": 15, "maintain_every": 20, "min_embedding_cos": -1.0,
              "assign_threshold": -10.0}
    rng = np.random.default_rng(2)
    base = [np.eye(8, dtype=np.float32)[i] for i in range(3)]
    rows, vecs = [], []
    for i in range(240):
        # One story, then a second one under the same hashtag, then a third: drift, twice.
        v = base[min(2, i // 80)] + rng.normal(scale=0.3, size=8).astype(np.float32)
        vecs.append((v / np.linalg.norm(v)).astype(np.float32))
        rows.append(_Row(id=i + 1, ts=T0 + i * 5, text=f"post {i} #topic word{i % 7}", author=f"u{i % 90}"))
    kinds = _run_both(rows, params, batch=50, dim=8, vectors=vecs)
    assert kinds["split"] >= 1


def test_same_merges_as_the_reference():
    def state(cid, vec, terms, first):
        def make(dtype):
            v = np.asarray(vec, dtype=dtype)
            return {
                "id": cid, "first_ts": first, "last_ts": T0 + 50, "vector_sum": v / np.linalg.norm(v) * 10,
                "size": 10, "gap": 5.0, "term_counts": Counter(terms), "is_event": True,
                "author_counts": Counter({f"a{cid}-{i}": 1 for i in range(10)}),
            }
        return make

    loaded = [
        state(7, [1, 0, 0, 0], {"#lisbonstorm": 8, "@e:lisbon": 9, "storm": 9}, T0),
        state(3, [0.6, 0.8, 0, 0], {"#lisbonstorm": 7, "@e:lisbon": 8, "tempestade": 9}, T0 + 5),
        state(9, [1, 0, 0, 0], {"#oslostorm": 8, "@e:oslo": 9, "storm": 9}, T0 + 1),
        state(11, [0, 0, 1, 0], {"#other": 8, "@e:paris": 9, "strike": 9}, T0 + 2),
    ]
    rows = [_Row(id=i + 1, ts=T0 + 60 + i, text=f"Storm in Lisbon #lisbonstorm {i}", author=f"p{i}") for i in range(30)]
    vecs = [np.array([0.8, 0.6, 0.0, 0.0], dtype=np.float32)] * 30
    kinds = _run_both(rows, {"maintain_every": 7}, batch=10, dim=4, vectors=vecs, loaded=loaded)
    assert kinds["merge"] >= 1


@dataclasses.dataclass
class _Row:
    id: int
    ts: float
    text: str
    author: str | None


def _fuzz_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    parts = [
        "RT @news_desk:", "MT @x", "via @Reporter", "rt @low:", "@someone", "&amp;", "&amp;lt;", "&lt;b&gt;", "&",
        "http://www.Example.com/path?q=1", "https://t.co/abc", "www.foo.org/x", "HTTPS://BBC.co.uk/news.", "#CamelCase",
        "#123", "#São_Paulo", "#a", "Lac Megantic", "The Boston Marathon", "In Boston", "Boston's", "São Paulo",
        "Ñuñoa", "BREAKING", "NASA", "Rio de Janeiro", "end.", "What?", "yes:", "people", "the", "el", "la",
        "terremoto", "flood-waters", "don't", "’quoted’", "x", "ab", "word42", "42", "…", "\n", "  ", "Oklahoma City",
        "United States Of America Today", "Hello World", "omg", "Wow", "é", "ﬁre",
    ]
    return [" ".join(rng.choice(parts) for _ in range(rng.randrange(0, 14))) for _ in range(n)]


def test_features_are_the_reference_features():
    for text in _fuzz_texts(3000, 11) + [""]:
        for lang in ("", "en"):
            for embedding_text in (False, True):
                got = new_features.extract(text, lang=lang, embedding_text=embedding_text)
                want = ref_features.extract(text, lang=lang, embedding_text=embedding_text)
                assert dataclasses.astuple(got) == dataclasses.astuple(want), text
        assert new_features.tokenise(text) == ref_features.tokenise(text)
        assert new_features.extract_entities(text) == ref_features.extract_entities(text)
        assert new_features.extract_domains(text) == ref_features.extract_domains(text)
        assert new_features.rt_source(text) == ref_features.rt_source(text)
        words = [w.lower() for w in new_features._words(text)]
        assert new_features.guess_language(words) == ref_features.guess_language(words)
    rng = random.Random(12)
    function_words = sorted(new_features.STOPWORDS) + ["lima", "quake", "x"]
    for _ in range(3000):
        words = [rng.choice(function_words) for _ in range(rng.randrange(0, 12))]
        assert new_features.guess_language(words) == ref_features.guess_language(words), words


def test_most_common_is_counter_most_common_ties_included():
    rng = random.Random(3)
    for n in (0, 1, 10, 511, 512, 513, 3000):
        counts = Counter({f"t{i}": rng.choice([1, 1, 1, 2, 2, 3, 5, 8, rng.randrange(100)]) for i in range(n)})
        for k in (0, 1, 5, 10, 200, 250, n, n + 5):
            assert new.most_common(counts, k) == counts.most_common(k), (n, k)


def test_numpy_shortcuts_are_bit_identical_to_numpy():
    rng = np.random.default_rng(4)
    for rows in (1, 2, 7, 60, 200):
        for dtype in (np.float32, np.float64):
            m = rng.normal(size=(rows, 384)).astype(dtype)
            assert new._mean_rows(m).tobytes() == m.mean(axis=0).tobytes()
            v = m[0]
            assert new._norm32(v) == np.linalg.norm(v)
            assert type(new._norm32(v)) is type(np.linalg.norm(v))
    zero = np.zeros(8, dtype=np.float32)
    assert new._norm(zero) == float(np.linalg.norm(zero)) == 0.0


def test_a_cluster_unchanged_since_its_split_check_is_not_checked_again():
    params = new.ClusterParams(split_check_members=40, split_min=15, maintain_every=0, min_embedding_cos=-1.0,
                               assign_threshold=-10.0)
    cl = new.OnlineClusterer(dim=4, params=params)
    a = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    for i in range(50):
        cl.add(new.Post(id=i + 1, ts=T0 + i, vector=a, features=new_features.extract(f"post {i} #topic"),
                        author=f"u{i}"))
    checks = []
    original = cl._maybe_split
    cl._maybe_split = lambda c, now: checks.append(c.id) or original(c, now)
    cl.maintain(now=T0 + 100)
    cl.maintain(now=T0 + 101)
    assert len(checks) == 1
    cl.add(new.Post(id=99, ts=T0 + 102, vector=a, features=new_features.extract("post 99 #topic"), author="u99"))
    cl.maintain(now=T0 + 103)
    assert len(checks) == 2


def _reference_terms_to_profile(terms: Counter) -> dict:
    groups: dict[str, Counter] = {"#": Counter(), "@e:": Counter(), "d:": Counter(), "l:": Counter(), "": Counter()}
    for term, n in terms.items():
        for prefix in ("#", "@e:", "d:", "l:"):
            if term.startswith(prefix):
                groups[prefix][term[len(prefix):]] = n
                break
        else:
            groups[""][term] = n
    from trends.pipeline import PROFILE_CAPS

    capped = {p: dict(c.most_common(PROFILE_CAPS[p])) for p, c in groups.items()}
    return {
        "hashtags": capped["#"],
        "domains": capped["d:"],
        "languages": capped["l:"],
        "entities": {"names": capped["@e:"], "words": capped[""]},
    }


def test_profiles_are_the_reference_profiles():
    from trends.pipeline import _terms_to_profile

    rng = random.Random(8)
    prefixes = ["#", "@e:", "d:", "l:", "", "", ""]
    for n in (0, 5, 300, 2000):
        terms = Counter({f"{rng.choice(prefixes)}w{i}": rng.choice([1, 1, 2, 3, rng.randrange(50)]) for i in range(n)})
        got, want = _terms_to_profile(terms), _reference_terms_to_profile(terms)
        assert got == want
        assert [list(g) for g in got.values() if isinstance(g, dict)] == [
            list(g) for g in want.values() if isinstance(g, dict)
        ]
