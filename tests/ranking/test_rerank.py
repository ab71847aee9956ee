"""The re-ranker's guarantees: quotas, caps, pins, exclusions, diversity."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.ranking.pools import make_pool, make_user, unit_rows
from trends.ranking.engine import rank_pool
from trends.ranking.rerank import rerank
from trends.ranking.scoring import DEFAULT_WEIGHTS, FormulaScorer
from trends.ranking.types import RankConfig


def run(scores, category=None, source=None, pinned=None, emb=None, length=10, **kw):
    n = len(scores)
    return rerank(
        scores=np.asarray(scores, dtype=np.float32),
        emb=unit_rows(n) if emb is None else emb,
        category=np.zeros(n, np.int16) if category is None else np.asarray(category, np.int16),
        source=np.full(n, -1, np.int32) if source is None else np.asarray(source, np.int32),
        pinned_slot=np.full(n, -1, np.int16) if pinned is None else np.asarray(pinned, np.int16),
        length=length,
        **kw,
    )


def windows(seq, size):
    for start in range(max(1, len(seq) - size + 1)):
        yield seq[start : start + size]


def test_category_quota_holds_in_every_window():
    # Sports dominates the scores; the quota must still mix in other categories.
    cats = [0] * 30 + [1] * 10 + [2] * 10 + [3] * 10
    scores = np.concatenate([np.linspace(10, 9, 30), np.linspace(5, 4, 30)])
    out = run(scores, category=cats, length=20, category_max=3, window=10, mmr_lambda=1.0)
    assert len(out) == 20
    chosen = np.asarray(cats)[out]
    for w in windows(chosen.tolist(), 10):
        assert max(w.count(c) for c in set(w)) <= 3


def test_source_cap_holds_in_every_window():
    sources = [7] * 20 + list(range(20))
    scores = np.concatenate([np.linspace(10, 9, 20), np.linspace(5, 4, 20)])
    cats = list(range(8)) * 5
    out = run(scores, category=cats, source=sources, length=15, source_cap=2, category_max=10, mmr_lambda=1.0)
    chosen = np.asarray(sources)[out].tolist()
    for w in windows(chosen, 10):
        assert w.count(7) <= 2


def test_no_source_means_no_cap():
    out = run(np.linspace(10, 1, 12), source=[-1] * 12, category=list(range(8)) + [0, 1, 2, 3], length=12)
    assert len(out) == 12


def test_pinned_events_sit_in_their_slots_whatever_their_score():
    scores = np.linspace(10, 1, 20)
    pinned = np.full(20, -1)
    pinned[19] = 1  # the weakest item, pinned to slot 1
    pinned[18] = 4
    out = run(scores, pinned=pinned, category=np.arange(20) % 8, length=10)
    assert out[0] == 19 and out[3] == 18
    assert len(set(out.tolist())) == 10


def test_pin_clash_and_pin_beyond_page():
    scores = np.linspace(10, 1, 12)
    pinned = np.full(12, -1)
    pinned[[10, 11]] = 2  # same slot: the stronger gets it, the other the next slot
    pinned[5] = 30  # beyond the page: not promoted into it
    out = run(scores, pinned=pinned, category=np.arange(12) % 8, length=6)
    assert out[1] == 10 and out[2] == 11
    assert 5 not in out.tolist()


def test_mmr_prefers_diverse_items_over_near_duplicates():
    base = unit_rows(1, seed=3)[0]
    other = unit_rows(3, seed=4)
    emb = np.vstack([base, base, base, other]).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    scores = [1.0, 0.99, 0.98, 0.9, 0.89, 0.88]
    greedy = run(scores, emb=emb, length=3, mmr_lambda=1.0, category_max=10)
    diverse = run(scores, emb=emb, length=3, mmr_lambda=0.5, category_max=10)
    assert greedy.tolist() == [0, 1, 2]
    assert diverse[0] == 0 and not {1, 2} & set(diverse.tolist())


def test_caps_relax_rather_than_shorten_the_page():
    out = run(np.linspace(10, 1, 8), category=[0] * 8, length=8, category_max=3)
    assert len(out) == 8


@given(
    n=st.integers(1, 60),
    length=st.integers(1, 25),
    seed=st.integers(0, 10_000),
)
def test_dismissed_items_are_never_shown(n, length, seed):
    rng = np.random.default_rng(seed)
    pool = make_pool(
        n,
        category=rng.integers(0, 8, n).astype(np.int16),
        trend_score=rng.random(n).astype(np.float32) * 100,
        pinned_slot=np.where(rng.random(n) < 0.2, rng.integers(1, 10, n), -1).astype(np.int16),
        source=rng.integers(-1, 5, n).astype(np.int32),
    )
    dismissed = rng.random(n) < 0.4
    user = make_user(pool, dismissed=dismissed, interest=pool.emb[0])
    out = rank_pool(
        pool=pool, user=user, scorer=FormulaScorer(DEFAULT_WEIGHTS), config=RankConfig(weights=DEFAULT_WEIGHTS),
        now_h=100.0, limit=length,
    )
    assert not dismissed[out.rows].any()
    assert len(set(out.rows.tolist())) == len(out.rows)
    shown = ~dismissed
    unpinned = shown & (pool.pinned_slot <= 0)
    # The page is full unless the unpinned items run out: a pin whose slot lies beyond the page
    # waits for its own page and is never promoted into this one.
    assert min(length, int(unpinned.sum())) <= len(out.rows) <= min(length, int(shown.sum()))
    if not (shown & (pool.pinned_slot > 0)).any():
        assert len(out.rows) == min(length, int(shown.sum()))


def test_paging_is_consistent():
    pool = make_pool(40, category=(np.arange(40) % 8).astype(np.int16))
    user = make_user(pool)
    args = {"pool": pool, "user": user, "scorer": FormulaScorer(DEFAULT_WEIGHTS), "config": RankConfig(weights=DEFAULT_WEIGHTS), "now_h": 100.0}
    whole = rank_pool(limit=20, **args).rows.tolist()
    pages = rank_pool(limit=10, **args).rows.tolist() + rank_pool(limit=10, offset=10, **args).rows.tolist()
    assert whole == pages


def test_topic_tab_drops_the_category_quota():
    pool = make_pool(30, category=np.array([0] * 20 + [1] * 10, dtype=np.int16))
    user = make_user(pool)
    out = rank_pool(
        pool=pool, user=user, scorer=FormulaScorer(DEFAULT_WEIGHTS), config=RankConfig(weights=DEFAULT_WEIGHTS),
        now_h=100.0, limit=15, category="sports",
    )
    assert len(out.rows) == 15
    assert set(pool.category[out.rows].tolist()) == {0}


def test_deep_paging_never_repeats_or_skips():
    n = 400
    rng = np.random.default_rng(5)
    pool = make_pool(n, category=rng.integers(0, 8, n).astype(np.int16), trend_score=rng.random(n).astype(np.float32) * 100)
    user = make_user(pool, interest=pool.emb[0])
    config = RankConfig(weights=DEFAULT_WEIGHTS, candidate_limit=n, mmr_pool=50)
    args = {"pool": pool, "user": user, "scorer": FormulaScorer(DEFAULT_WEIGHTS), "config": config, "now_h": 100.0}
    pages = []
    for offset in range(0, 200, 20):
        pages += rank_pool(limit=20, offset=offset, **args).rows.tolist()
    assert len(pages) == len(set(pages)) == 200
    assert pages == rank_pool(limit=200, **args).rows.tolist()
