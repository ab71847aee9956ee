from trends.detection import lifecycle as lc

BASE = {"author_count": 20, "window_authors": 10, "surprise": 6.0, "score": 30.0, "peak_score": 30.0, "health": 1.0,
            "silence_seconds": 60.0, "tau_seconds": 3600.0}


def step(state, **kw):
    return lc.next_state(state=state, **{**BASE, **kw})


def test_full_lifecycle_emerging_trending_fading_archived():
    assert step(lc.EMERGING, surprise=1.0) == lc.EMERGING
    assert step(lc.EMERGING) == lc.TRENDING
    # Hysteresis: a dip below the entry threshold keeps it trending.
    assert step(lc.TRENDING, surprise=2.0, score=5.0) == lc.TRENDING
    assert step(lc.TRENDING, surprise=0.5, score=5.0) == lc.FADING
    assert step(lc.FADING, surprise=0.5, score=1.0) == lc.FADING
    assert step(lc.FADING, surprise=0.0, silence_seconds=5 * 3600.0) == lc.ARCHIVED


def test_thresholds_min_authors_and_health_block_trending():
    assert step(lc.EMERGING, author_count=3) == lc.EMERGING
    assert step(lc.EMERGING, window_authors=2) == lc.EMERGING
    assert step(lc.EMERGING, health=0.2) == lc.EMERGING
    assert step(lc.TRENDING, health=0.2) == lc.FADING


def test_next_state_is_idempotent():
    for state in (lc.EMERGING, lc.TRENDING, lc.FADING, lc.ARCHIVED):
        for kw in ({}, {"surprise": 0.0, "score": 0.0}, {"silence_seconds": 10 * 86400.0}):
            once = step(state, **kw)
            assert step(once, **kw) == once
