"""The online clusterer on small generated streams."""

import numpy as np

from tests.detection.streams import MATCH, QUAKE, Topic, hash_embed, make_stream, vectors
from trends.detection.clusterer import ClusterParams, OnlineClusterer, Post
from trends.detection.features import extract
from trends.detection.metrics import bcubed
from trends.detection.replay import replay

T0 = 1_700_000_000.0
LIMA = ["earthquake", "magnitude", "shaking", "aftershock", "andes", "miraflores", "callao", "barranco", "pisco"]
MANILA = ["earthquake", "magnitude", "shaking", "aftershock", "luzon", "makati", "quezon", "pasig", "taguig"]


def _run(rows, params=None):
    cl = OnlineClusterer(dim=vectors(rows[:1]).shape[1], params=params or ClusterParams())
    out = []
    for r in rows:
        a = cl.add(Post(id=r.id, ts=r.ts, vector=hash_embed(r.text), features=extract(r.text), author=r.author))
        out.append(a)
    return cl, out


def test_overlapping_look_alike_events_are_kept_apart_and_noise_stays_out():
    topics = [
        Topic("quake-lima", LIMA, "Lima", "limaquake", T0, 60),
        Topic("quake-manila", MANILA, "Manila", "manilaquake", T0 + 600, 60),
        Topic("match", MATCH, "Madrid", "elclasico", T0 + 300, 60),
    ]
    rows = make_stream(topics, noise=80)
    result = replay(rows, vectors(rows))
    on_topic = [i for i, r in enumerate(rows) if not r.off_topic]
    p, r, f1 = bcubed([rows[i].gold for i in on_topic], [result.labels[i] for i in on_topic])
    assert p > 0.95 and f1 > 0.9
    # Each generated event is its own event id.
    for name in ("quake-lima", "quake-manila", "match"):
        labels = {result.labels[i] for i in on_topic if rows[i].gold == name}
        assert len(labels - {None}) == 1
    noise_in = sum(1 for i, row in enumerate(rows) if row.off_topic and result.labels[i] is not None)
    assert noise_in <= 4
    assert set(result.detections) == {"quake-lima", "quake-manila", "match"}


def test_event_ids_are_stable_and_new_posts_never_renumber_them():
    rows = make_stream([Topic("quake", QUAKE, "Lima", "limaquake", T0, 40)])
    cl, first = _run(rows[:20])
    ids_before = {a.cluster_id for a in first}
    more = make_stream([Topic("quake", QUAKE, "Lima", "limaquake", T0 + 20 * 60, 20)], seed=9)
    for r in more:
        r.id += 1000
        cl.add(Post(id=r.id, ts=r.ts, vector=hash_embed(r.text), features=extract(r.text), author=r.author))
    event_ids = [cid for cid, c in cl.clusters.items() if c.is_event]
    assert len(event_ids) == 1 and event_ids[0] in ids_before


def test_a_lone_post_seeds_a_candidate_that_is_not_an_event():
    rows = make_stream([Topic("quake", QUAKE, "Lima", "limaquake", T0, 3)])
    cl, assignments = _run(rows)
    cid = assignments[0].cluster_id
    assert assignments[0].new_cluster
    assert not cl.clusters[cid].is_event  # 3 posts < min_members


def test_one_author_cannot_make_an_event():
    rows = make_stream([Topic("spam", QUAKE, "Lima", "limaquake", T0, 30)])
    for r in rows:
        r.author = "same-account"
    cl, _ = _run(rows)
    assert not any(c.is_event for c in cl.clusters.values())
    # Beyond the per-author cap the account no longer shapes the cluster's profile.
    biggest = max(cl.clusters.values(), key=lambda c: c.size)
    assert max(biggest.term_counts.values()) <= ClusterParams().per_author_cap


def test_quiet_event_retires_and_a_strong_match_revives_the_same_id():
    params = ClusterParams(min_tau=60.0, init_tau=60.0, max_tau=600.0, maintain_every=0)
    rows = make_stream([Topic("quake", QUAKE, "Lima", "limaquake", T0, 30)])
    cl, assignments = _run(rows, params)
    event_id = assignments[-1].cluster_id
    assert cl.clusters[event_id].is_event
    later = rows[-1].ts + 3 * 3600
    changes = cl.maintain(now=later)
    assert ("retire", event_id) in {(c.kind, c.source) for c in changes}
    assert event_id not in cl.active_ids
    again = make_stream([Topic("quake", QUAKE, "Lima", "limaquake", later + 10, 5)], seed=3)
    for r in again:
        r.id += 5000
    revived = [
        cl.add(Post(id=r.id, ts=r.ts, vector=hash_embed(r.text), features=extract(r.text), author=r.author))
        for r in again
    ]
    assert revived[0].cluster_id == event_id
    assert any(c.kind == "revive" and c.source == event_id for c in cl.changes)


def _state(cid, vec, terms, size=10, first=T0):
    from collections import Counter

    from trends.detection.clusterer import ClusterState

    v = np.asarray(vec, dtype=np.float32)
    return ClusterState(
        id=cid, first_ts=first, last_ts=T0 + 50, vector_sum=v / np.linalg.norm(v) * size, size=size,
        gap=5.0, term_counts=Counter(terms), author_counts=Counter({f"a{cid}-{i}": 1 for i in range(size)}),
        is_event=True,
    )


def test_converging_clusters_are_merged_and_the_older_id_survives():
    cl = OnlineClusterer(dim=4, params=ClusterParams(maintain_every=0))
    # Same storm in two languages: shared hashtag and place, embeddings only moderately close.
    cl.load_cluster(_state(7, [1, 0, 0, 0], {"#lisbonstorm": 8, "@e:lisbon": 9, "storm": 9}, first=T0))
    cl.load_cluster(_state(3, [0.6, 0.8, 0, 0], {"#lisbonstorm": 7, "@e:lisbon": 8, "tempestade": 9}, first=T0 + 5))
    # A look-alike storm elsewhere: same embedding, different names.
    cl.load_cluster(_state(9, [1, 0, 0, 0], {"#oslostorm": 8, "@e:oslo": 9, "storm": 9}, first=T0 + 1))
    changes = cl.maintain(now=T0 + 60)
    merges = [c for c in changes if c.kind == "merge"]
    assert [(m.source, m.target) for m in merges] == [(3, 7)]
    assert cl.clusters[7].size == 20 and 3 not in cl.clusters and cl.resolve(3) == 7
    assert 9 in cl.clusters


def test_drifting_event_is_split_and_the_split_is_recorded():
    params = ClusterParams(split_check_members=40, split_min=15, maintain_every=0, min_embedding_cos=-1.0,
                           assign_threshold=-10.0)
    cl = OnlineClusterer(dim=4, params=params)
    a = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    b = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)
    for i in range(60):
        vec = a if i < 30 else b
        cl.add(Post(id=i + 1, ts=T0 + i, vector=vec, features=extract(f"post {i} #topic"), author=f"u{i}"))
    assert len(cl.clusters) == 1
    changes = cl.maintain(now=T0 + 100)
    splits = [c for c in changes if c.kind == "split"]
    assert len(splits) == 1
    src, dst = cl.clusters[splits[0].source], cl.clusters[splits[0].target]
    assert src.size + dst.size == 60 and min(src.size, dst.size) >= 15
    assert set(src.members).isdisjoint(dst.members)


def test_candidate_lookup_stays_bounded_as_active_events_grow():
    params = ClusterParams(maintain_every=0, assign_threshold=5.0)
    cl = OnlineClusterer(dim=16, params=params)
    rng = np.random.default_rng(0)
    for i in range(2000):
        v = rng.normal(size=16).astype(np.float32)
        v /= np.linalg.norm(v)
        cl.add(Post(id=i + 1, ts=T0 + i, vector=v, features=extract(f"topic{i} #tag{i}"), author=f"u{i}"))
    weights = cl.post_terms(extract("#tag5 topic7 #tag9 topic11"))
    cands = cl._candidates(weights)
    bound = params.max_candidates + params.recent_candidates
    assert len(cl.active_ids) == 2000
    assert len(cands) <= bound
    # The clusters named by the post's rare terms are among the candidates.
    assert {5 + 1, 9 + 1} <= set(cands)
