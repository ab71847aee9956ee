"""Replay a labelled stream through the production clusterer, scorer and lifecycle; measure it.

The evaluation command and the tests call `replay()`; the workers run the same
`OnlineClusterer`, `trend_stats` and `next_state` from trends/pipeline.py. Nothing here is
specific to one dataset: any stream of (id, time, text, gold label, off-topic flag) works.

Authors: a labelled CSV has no author column, so each row counts as its own author (the
collection holds posts from many different accounts; a retweet is a different account from the
one it quotes). That makes the unique-author threshold equal to a post threshold here and leaves
per-author caps unexercised; the generated-stream tests cover those.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import lifecycle, metrics
from .clusterer import ClusterParams, OnlineClusterer, Post
from .features import extract
from .scoring import TrendParams, bucket_start, trend_stats

OFF_TOPIC = frozenset({"not related", "not applicable"})


@dataclass(slots=True)
class StreamRow:
    id: int
    ts: float
    text: str
    gold: str | None = None
    off_topic: bool = False
    author: str | int | None = None


@dataclass(slots=True)
class ReplayResult:
    labels: list[int | None]  # final event id per row (None = unassigned), input order
    detections: dict[str, dict] = field(default_factory=dict)  # gold -> {delay, event, ts}
    changes: Counter = field(default_factory=Counter)
    cluster_seconds: float = 0.0
    events_final: int = 0
    trending_events: int = 0


class _Tracker:
    """Per-cluster bucket series and lifecycle state, kept beside the clusterer."""

    def __init__(self, trend: TrendParams, life: lifecycle.LifecycleParams) -> None:
        self.trend = trend
        self.life = life
        self.buckets: dict[int, Counter] = defaultdict(Counter)
        self.state: dict[int, str] = {}
        self.peak: dict[int, float] = defaultdict(float)

    def add(self, cid: int, ts: float) -> None:
        self.buckets[cid][bucket_start(ts, self.trend)] += 1

    def merge(self, gone: int, keep: int) -> None:
        self.buckets[keep].update(self.buckets.pop(gone, Counter()))
        self.peak[keep] = max(self.peak[keep], self.peak.pop(gone, 0.0))
        if self.state.pop(gone, None) == lifecycle.TRENDING:
            self.state[keep] = lifecycle.TRENDING

    def rebuild(self, cid: int, stamps: list[float]) -> None:
        self.buckets[cid] = Counter(bucket_start(t, self.trend) for t in stamps)

    def update(self, cid: int, *, now: float, author_count: int, tau: float, last_ts: float) -> str:
        series = self.buckets[cid]
        starts = np.fromiter(series.keys(), dtype=np.float64, count=len(series))
        counts = np.fromiter(series.values(), dtype=np.float64, count=len(series))
        stats = trend_stats(starts=starts, counts=counts, now=now, params=self.trend)
        self.peak[cid] = max(self.peak[cid], stats.score)
        state = lifecycle.next_state(
            state=self.state.get(cid, lifecycle.EMERGING),
            author_count=author_count,
            window_authors=stats.observed,
            surprise=stats.surprise,
            score=stats.score,
            peak_score=self.peak[cid],
            health=1.0,
            silence_seconds=max(0.0, now - last_ts),
            tau_seconds=tau,
            params=self.life,
        )
        self.state[cid] = state
        return state


def replay(
    rows: list[StreamRow],
    vectors: np.ndarray,
    *,
    params: ClusterParams | None = None,
    trend: TrendParams | None = None,
    life: lifecycle.LifecycleParams | None = None,
) -> ReplayResult:
    params = params or ClusterParams()
    trend = trend or TrendParams()
    life = life or lifecycle.LifecycleParams(min_authors=params.min_authors)
    order = sorted(range(len(rows)), key=lambda i: (rows[i].ts, rows[i].id))
    clusterer = OnlineClusterer(dim=vectors.shape[1], params=params)
    tracker = _Tracker(trend, life)
    arrived: Counter = Counter()
    # Gold composition of each cluster, to judge detections at the moment they happen.
    composition: dict[int, Counter] = defaultdict(Counter)
    row_of: dict[int, int] = {}
    detections: dict[str, dict] = {}
    seen_changes = 0
    change_counts: Counter = Counter()
    started = time.perf_counter()
    for i in order:
        r = rows[i]
        row_of[r.id] = i
        if r.gold is not None:
            arrived[r.gold] += 1
        post = Post(
            id=r.id,
            ts=r.ts,
            vector=vectors[i],
            features=extract(r.text),
            author=r.author if r.author is not None else f"row:{r.id}",
        )
        a = clusterer.add(post)
        cid = a.cluster_id
        tracker.add(cid, r.ts)
        composition[cid][r.gold] += 1
        # Fold merges and splits into the tracker before judging the state.
        for ch in clusterer.changes[seen_changes:]:
            change_counts[ch.kind] += 1
            if ch.kind == "merge" and ch.target is not None:
                tracker.merge(ch.source, ch.target)
                composition[ch.target].update(composition.pop(ch.source, Counter()))
            elif ch.kind == "split" and ch.target is not None:
                for side in (ch.source, ch.target):
                    members = clusterer.clusters[side].members
                    tracker.rebuild(side, [rows[row_of[m]].ts for m in members])
                    composition[side] = Counter(rows[row_of[m]].gold for m in members)
        seen_changes = len(clusterer.changes)
        cid = clusterer.resolve(cid)
        c = clusterer.clusters.get(cid)
        if c is None or not c.is_event:
            continue
        state = tracker.update(
            cid, now=r.ts, author_count=c.unique_authors, tau=c.tau(params), last_ts=c.last_ts
        )
        if state == lifecycle.TRENDING:
            comp = composition[cid]
            gold, n = comp.most_common(1)[0]
            if gold is not None and gold not in detections and n * 2 >= sum(comp.values()):
                detections[gold] = {"delay": arrived[gold], "event": cid, "ts": r.ts}
    clusterer.maintain(now=clusterer.now)
    elapsed = time.perf_counter() - started
    labels: list[int | None] = [None] * len(rows)
    events = 0
    for cid, c in clusterer.clusters.items():
        if not c.is_event or not c.members:
            continue
        events += 1
        for m in c.members:
            labels[row_of[m]] = cid
    return ReplayResult(
        labels=labels,
        detections=detections,
        changes=change_counts,
        cluster_seconds=elapsed,
        events_final=events,
        trending_events=sum(1 for s in tracker.state.values() if s == lifecycle.TRENDING),
    )


def evaluate(rows: list[StreamRow], result: ReplayResult) -> dict:
    """The metrics issue 3 asks for, from a replay's final labels and detections."""
    on_topic = [i for i, r in enumerate(rows) if not r.off_topic and r.gold is not None]
    gold = [rows[i].gold for i in on_topic]
    pred = [result.labels[i] for i in on_topic]
    p, r, f1 = metrics.bcubed(gold, pred)
    in_events = [i for i, lab in enumerate(result.labels) if lab is not None]
    off_in_events = sum(1 for i in in_events if rows[i].off_topic)
    off_total = sum(1 for r_ in rows if r_.off_topic)
    golds = {r_.gold for r_ in rows if r_.gold is not None and not r_.off_topic}
    # Events that are mostly about a gold event (on-topic rows in the majority): how polluted are they?
    per_event: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for i in in_events:
        per_event[result.labels[i]][1 if rows[i].off_topic else 0] += 1
    matched = [(on, off) for on, off in per_event.values() if on >= off]
    matched_rows = sum(on + off for on, off in matched)
    delays = [d["delay"] for d in result.detections.values()]
    return {
        "bcubed_precision": round(p, 4),
        "bcubed_recall": round(r, 4),
        "bcubed_f1": round(f1, 4),
        "nmi": round(metrics.nmi(gold, pred), 4),
        "ari": round(metrics.ari(gold, pred), 4),
        "events_gold": len(golds),
        "events_detected": len(result.detections),
        "median_detection_delay_tweets": statistics.median(delays) if delays else None,
        "max_detection_delay_tweets": max(delays) if delays else None,
        # Share of event members that are off-topic rows ("noise in events").
        "noise_in_events_share": round(off_in_events / len(in_events), 4) if in_events else 0.0,
        # The same, only over events that are mostly on-topic (noise polluting a real event).
        "noise_in_matched_events_share": round(sum(off for _, off in matched) / matched_rows, 4) if matched_rows else 0.0,
        # Share of all off-topic rows that ended up in some event.
        "noise_rows_in_events_share": round(off_in_events / off_total, 4) if off_total else 0.0,
        "assigned_share": round(len(in_events) / len(rows), 4) if rows else 0.0,
        "scored_rows": len(on_topic),
        "rows": len(rows),
        "events_final": result.events_final,
        "merges": result.changes.get("merge", 0),
        "splits": result.changes.get("split", 0),
        "revivals": result.changes.get("revive", 0),
    }
