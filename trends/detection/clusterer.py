"""Single-pass, time-aware online clustering of posts into events.

One `OnlineClusterer` per shard, driven by a single writer. For each post it:

1. finds candidate clusters cheaply: the clusters indexed under the post's rarest terms
   (hashtags, capitalised names, domains, words) plus the few most recently active clusters;
2. scores them with one vectorised product against the centroid matrix (cosine of the embedding)
   plus a lexical score (how much of the post's IDF weight the cluster's profile explains), minus a
   time penalty that grows as the cluster goes quiet relative to its *own* posting rate;
3. joins the best cluster above a threshold, or seeds a new *candidate* cluster. A candidate only
   becomes an event once it has enough members and unique authors; posts of candidates that never
   grow stay unassigned (background chatter is not forced into an event).

`maintain()` (called every few hundred posts and by the periodic task) merges clusters whose
centroids and profiles converged, splits clusters whose recent members drifted into two
separate groups, and retires quiet clusters to a dormant index from which a strong match can
revive them under the same id. Every merge/split/revival is returned as a `ClusterChange` so
the caller can record an EventLink; cluster ids are allocated once and never renumbered.

The state of a cluster is plain data (`ClusterState`) so the worker can load it from and save it
to the database between micro-batches.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import is_, itemgetter

import numpy as np

from .features import PostFeatures

# Weight of each lexical term type (by prefix) relative to a plain word.
TERM_TYPE_WEIGHTS = {"#": 2.0, "@e:": 1.5, "d:": 1.0, "l:": 0.5}


KEY_PREFIXES = ("#", "@e:")
# term -> (term_type_weight(term), is a key term), shared by all clusterers of the process
# (bounded, see _prepare).
_TERM_INFO_CACHE: dict[str, tuple[float, bool]] = {}
_TERM_INFO_CACHE_MAX = 200_000
_count = itemgetter(1)


def term_type_weight(term: str) -> float:
    for prefix, weight in TERM_TYPE_WEIGHTS.items():
        if term.startswith(prefix):
            return weight
    return 1.0


def most_common(counts: Counter, k: int) -> list[tuple[str, int]]:
    """counts.most_common(k) (ties in insertion order), without heapq.nlargest's Python loop over
    every item: the k-th largest count is found with numpy, and only the items at or above it
    are sorted (a stable sort keeps insertion order among ties, as nlargest does)."""
    n = len(counts)
    if n <= k or n < 512:
        return sorted(counts.items(), key=_count, reverse=True)[:k]
    if k <= 0:
        return []
    values = np.fromiter(counts.values(), dtype=np.float64, count=n)
    floor = np.partition(values, n - k)[n - k]
    return sorted(compress(counts.items(), (values >= floor).tolist()), key=_count, reverse=True)[:k]


def _ranked_terms(weights: dict[str, float], k: int) -> list[str]:
    """The k highest-weighted terms, ties in the post's order (a stable sort, as before)."""
    return sorted(weights, key=weights.__getitem__, reverse=True)[:k]


def _norm32(v: np.ndarray) -> np.floating:
    """np.linalg.norm(v) of a 1-D float vector: the same dot and sqrt (result in v's float type),
    without linalg.norm's Python-level argument handling."""
    return np.sqrt(v.dot(v))


def _norm(v: np.ndarray) -> float:
    return float(_norm32(v))


def _mean_rows(m: np.ndarray) -> np.ndarray:
    """m.mean(axis=0) of a float matrix with rows, computed as numpy's _mean does (a sum, then
    an in-place division by the row count as an intp), without its Python-level overhead."""
    total = np.add.reduce(m, axis=0)
    return np.true_divide(total, np.intp(m.shape[0]), out=total, casting="unsafe")


@dataclass(slots=True)
class ClusterParams:
    """Generic knobs (no event-specific constants). Defaults were tuned on development data."""

    emb_weight: float = 1.0
    lex_weight: float = 0.8
    time_weight: float = 0.25
    # A post joins the best cluster when its combined score reaches this, else seeds a candidate.
    assign_threshold: float = 0.50
    # ...and its embedding cosine alone must reach this (keeps off-topic keyword matches out).
    min_embedding_cos: float = 0.25
    # A term explains a post fully once it appears in this share of the cluster's posts.
    lex_saturation: float = 0.25
    # Look-alike events: a post whose hashtags/names are all unknown to a cluster that has
    # dominant ones (in >= dominant_share of its posts) is penalised by conflict_weight.
    conflict_weight: float = 0.15
    dominant_share: float = 0.5
    # Only this many of a post's highest-IDF terms are used for the candidate lookup.
    lookup_terms: int = 8
    # The most recently active clusters are always candidates (posts without rare terms).
    recent_candidates: int = 16
    # Posting lists longer than this are truncated to the most recently active clusters...
    max_postings: int = 32
    # ...and no more than this many clusters are found through the index.
    max_candidates: int = 48
    # Only the candidates with the closest embeddings get the (slower) lexical comparison.
    lex_top: int = 16
    # Quietness: a cluster's time scale is its smoothed gap between posts times this factor,
    # clamped to [min_tau, max_tau] seconds.
    tau_factor: float = 12.0
    min_tau: float = 3600.0
    max_tau: float = 3 * 86400.0
    init_tau: float = 6 * 3600.0
    # How much the floor grows per doubling of the cluster's size.
    tau_size_boost: float = 1.0
    gap_smoothing: float = 0.1
    # Retire a cluster after this many time scales of silence.
    retire_after_taus: float = 4.0
    # Dormant clusters can be revived for this long after retiring, by a strong match.
    revive_window: float = 14 * 86400.0
    revive_threshold: float = 0.80
    # Promotion of a candidate to an event.
    min_members: int = 5
    min_authors: int = 5
    # Posts by one author count at most this many times towards a cluster's profile.
    per_author_cap: int = 3
    # Merging: embedding cosine + weight * key-term (hashtag/name/domain) profile cosine must
    # reach the threshold, with floors on both.
    merge_threshold: float = 0.60
    merge_key_weight: float = 1.0
    merge_key_min: float = 0.10
    merge_embedding_min: float = 0.30
    merge_min_members: int = 3
    merge_lookup_terms: int = 5
    # Splitting: recent members separate into two groups this far apart, each at least split_min.
    split_check_members: int = 120
    split_max_cos: float = 0.35
    split_min: int = 25
    recent_buffer: int = 200
    maintain_every: int = 200


def time_scale(*, gap: float, size: int, params: ClusterParams) -> float:
    """Seconds of silence after which a cluster counts as quiet (see ClusterParams)."""
    p = params
    if gap <= 0:
        return p.init_tau
    floor = p.min_tau * (1.0 + p.tau_size_boost * math.log2(max(1.0, size / max(1, p.min_members))))
    return min(p.max_tau, max(floor, p.tau_factor * gap))


@dataclass(slots=True)
class Post:
    id: int
    ts: float  # seconds since the epoch
    vector: np.ndarray  # L2-normalised float32
    features: PostFeatures
    author: str | int | None = None
    health: float = 1.0


@dataclass(slots=True)
class ClusterState:
    id: int
    first_ts: float
    last_ts: float
    vector_sum: np.ndarray
    size: int = 0
    gap: float = 0.0  # smoothed seconds between posts; 0 = unknown yet
    term_counts: Counter = field(default_factory=Counter)
    author_counts: Counter = field(default_factory=Counter)
    is_event: bool = False
    dormant: bool = False
    merged_into: int | None = None
    # (post id, vector) of the latest members, for drift checks.
    recent: list[tuple[int, np.ndarray]] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    # Hashtags/names carried by a large share of the posts (refreshed as the cluster grows).
    dominant: frozenset = frozenset()
    # The key terms (KEY_PREFIXES) among term_counts' keys, kept by the clusterer so refreshing
    # `dominant` does not walk every word of a big profile; None = not derived yet.
    key_terms: set | None = field(default=None, repr=False, compare=False)

    @property
    def centroid(self) -> np.ndarray:
        norm = _norm(self.vector_sum)
        return self.vector_sum / norm if norm > 0 else self.vector_sum

    @property
    def unique_authors(self) -> int:
        return len(self.author_counts)

    def tau(self, p: ClusterParams) -> float:
        """The cluster's time scale: its own pace between posts, floored higher for big events
        (a story with hundreds of posts does not end after one quiet hour)."""
        return time_scale(gap=self.gap, size=self.size, params=p)

    def top_terms(self, k: int = 20) -> list[tuple[str, int]]:
        return most_common(self.term_counts, k)

    def key_term_set(self) -> set:
        keys = self.key_terms
        if keys is None:
            keys = self.key_terms = {t for t in self.term_counts if t.startswith(KEY_PREFIXES)}
        return keys


@dataclass(slots=True)
class Assignment:
    post_id: int
    cluster_id: int
    score: float
    embedding_cos: float
    new_cluster: bool


@dataclass(slots=True)
class ClusterChange:
    kind: str  # "merge" | "split" | "promote" | "retire" | "revive"
    source: int
    target: int | None = None
    ts: float = 0.0
    details: dict = field(default_factory=dict)


class OnlineClusterer:
    def __init__(
        self,
        *,
        dim: int,
        params: ClusterParams | None = None,
        id_allocator: Callable[[], int] | None = None,
    ) -> None:
        self.p = params or ClusterParams()
        self.dim = dim
        self._next_id = 1
        self._alloc = id_allocator or self._default_alloc
        self.clusters: dict[int, ClusterState] = {}
        # Active clusters: centroid rows in one matrix, slots reused after retirement.
        self._matrix = np.zeros((64, dim), dtype=np.float32)
        self._slot: dict[int, int] = {}
        self._slot_owner: list[int | None] = [None] * 64
        self._free: list[int] = list(range(63, -1, -1))
        # Recency order of active clusters (most recent last).
        self._recent: OrderedDict[int, None] = OrderedDict()
        # term -> clusters (active ones in _index, dormant ones in _dormant_index).
        self._index: dict[str, OrderedDict[int, None]] = {}
        self._dormant_index: dict[str, set[int]] = {}
        # Stream-level document frequencies for IDF.
        self.doc_freq: Counter = Counter()
        self.docs = 0
        self.posts_seen = 0
        self.changes: list[ClusterChange] = []
        # Merged-away id -> surviving id, to resolve old ids.
        self.merged_map: dict[int, int] = {}
        self.now = 0.0
        # cluster id -> ((gap, size), time scale); an entry is only used while (gap, size) match.
        self._tau_cache: dict[int, tuple[tuple[float, int], float]] = {}
        # cluster id -> (vector sum bytes, recent members) when its last split check found no split.
        self._split_checked: dict[int, tuple[bytes, list]] = {}

    # ------------------------------------------------------------------ ids & matrix
    def _default_alloc(self) -> int:
        cid = self._next_id
        self._next_id += 1
        return cid

    def _take_slot(self, cid: int) -> int:
        if not self._free:
            old = self._matrix.shape[0]
            self._matrix = np.vstack([self._matrix, np.zeros((old, self.dim), dtype=np.float32)])
            self._slot_owner.extend([None] * old)
            self._free = list(range(2 * old - 1, old - 1, -1))
        slot = self._free.pop()
        self._slot[cid] = slot
        self._slot_owner[slot] = cid
        return slot

    def _release_slot(self, cid: int) -> None:
        slot = self._slot.pop(cid, None)
        if slot is not None:
            self._matrix[slot] = 0.0
            self._slot_owner[slot] = None
            self._free.append(slot)

    def _refresh_row(self, c: ClusterState) -> None:
        slot = self._slot.get(c.id)
        if slot is not None:
            # c.centroid written straight into its row (the same float32 division, no temporary).
            norm = _norm(c.vector_sum)
            if norm > 0:
                np.divide(c.vector_sum, norm, out=self._matrix[slot], casting="unsafe")
            else:
                self._matrix[slot] = c.vector_sum

    @property
    def active_ids(self) -> list[int]:
        return list(self._recent)

    # ------------------------------------------------------------------ lexical
    def idf(self, term: str) -> float:
        return math.log((self.docs + 1.0) / (self.doc_freq.get(term, 0) + 1.0)) + 1.0

    def post_terms(self, f: PostFeatures) -> dict[str, float]:
        return self._prepare(f)[0]

    def _prepare(self, f: PostFeatures) -> tuple[dict[str, float], list[str]]:
        """The post's IDF-weighted terms and, of those, its key terms (KEY_PREFIXES)."""
        terms = f.lexical_terms()
        if f.lang:
            terms.append(f"l:{f.lang}")
        weights: dict[str, float] = {}
        keys: list[str] = []
        # idf() inlined with its inputs hoisted: this runs for every term of every post.
        docs = self.docs + 1.0
        df = self.doc_freq
        info_cache = _TERM_INFO_CACHE
        log = math.log
        for t in terms:
            if t not in weights:
                info = info_cache.get(t)
                if info is None:
                    info = (term_type_weight(t), t.startswith(KEY_PREFIXES))
                    if len(info_cache) < _TERM_INFO_CACHE_MAX:
                        info_cache[t] = info
                weights[t] = info[0] * (log(docs / (df.get(t, 0) + 1.0)) + 1.0)
                if info[1]:
                    keys.append(t)
        return weights, keys

    def _lexical(self, c: ClusterState, weights: dict[str, float], total: float) -> float:
        """Share of the post's IDF weight the cluster's profile explains, minus a conflict
        penalty when the post names only places/hashtags the cluster has never carried while
        the cluster has dominant ones of its own (two floods in two cities)."""
        items = [(t, w, t.startswith(KEY_PREFIXES)) for t, w in weights.items()]
        return self._lexical_items(c, items, sum(k for _, _, k in items), total)

    def _lexical_items(self, c: ClusterState, items: list[tuple[str, float, bool]], keys: int, total: float) -> float:
        """_lexical with the post's terms prepared once (term, weight, is a key term) for all candidates."""
        if total <= 0 or c.size == 0:
            return 0.0
        sat = self.p.lex_saturation * c.size
        tc = c.term_counts
        got = 0.0
        known_keys = 0
        for t, w, is_key in items:
            n = tc.get(t)
            if n:
                got += w * min(1.0, n / sat)
                known_keys += is_key
        score = got / total
        if keys and not known_keys and c.dominant:
            score -= self.p.conflict_weight
        return score

    def _refresh_dominant(self, c: ClusterState) -> None:
        floor = self.p.dominant_share * c.size
        tc = c.term_counts
        # Only the key terms can be dominant: walking them, not the whole profile, is the point.
        c.dominant = frozenset(t for t in c.key_term_set() if (n := tc[t]) >= floor and n >= 2)

    # ------------------------------------------------------------------ candidates
    def _candidates(self, weights: dict[str, float]) -> list[int]:
        """Clusters worth scoring: those under the post's rarest terms (most recently active first),
        within a fixed budget, plus the few most recently active ones. The budget keeps the cost
        per post flat however many clusters are active."""
        return self._candidates_for(_ranked_terms(weights, self.p.lookup_terms))

    def _candidates_for(self, ranked: list[str]) -> list[int]:
        p = self.p
        max_postings, max_candidates = p.max_postings, p.max_candidates
        cands: dict[int, None] = {}
        index = self._index
        # Postings only hold active clusters, so once every active cluster is a candidate nothing
        # after could add one (or move one: a dict keeps first insertion order).
        active = len(self._recent)
        for term in ranked:
            if len(cands) >= active:
                return list(cands)
            posting = index.get(term)
            if not posting:
                continue
            room = max_candidates - len(cands)
            if len(posting) <= room and len(posting) <= max_postings:
                # The whole posting fits the budget whatever it shares with cands: no per-id check.
                cands.update(dict.fromkeys(reversed(posting)))
            else:
                for n, cid in enumerate(reversed(posting)):
                    if n >= max_postings or len(cands) >= max_candidates:
                        break
                    cands[cid] = None
            if len(cands) >= max_candidates:
                break
        if len(cands) < active:
            cands.update(dict.fromkeys(islice(reversed(self._recent), p.recent_candidates)))
        return list(cands)

    def _index_terms(self, c: ClusterState, terms: Iterable[str]) -> None:
        for t in terms:
            posting = self._index.get(t)
            if posting is None:
                posting = self._index[t] = OrderedDict()
            posting[c.id] = None
            posting.move_to_end(c.id)

    # ------------------------------------------------------------------ scoring
    def score_candidates(
        self, post: Post, weights: dict[str, float], cands: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Combined score and embedding cosine of `post` against each candidate, vectorised."""
        keys = [t for t in weights if t.startswith(KEY_PREFIXES)]
        return self._score(post, weights, keys, cands)

    def _score(
        self, post: Post, weights: dict[str, float], keys: list[str], cands: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """score_candidates with the post's key terms already known (see _prepare)."""
        n_cands = len(cands)
        if not n_cands:
            return np.zeros(0), np.zeros(0)
        slots = np.fromiter(map(self._slot.__getitem__, cands), dtype=np.int64, count=n_cands)
        cos = self._matrix[slots] @ post.vector
        p = self.p
        score = np.empty(n_cands, dtype=np.float32)
        score.fill(-np.inf)
        # The lexical profile (a Python loop) is only consulted for the few candidates whose
        # embedding is close enough to matter: the cost per post stays flat.
        eligible = (cos >= p.min_embedding_cos).nonzero()[0]
        if len(eligible) > p.lex_top:
            eligible = eligible[np.argsort(-cos[eligible])[: p.lex_top]]
        if not len(eligible):
            return score, cos
        total = sum(weights.values())
        terms = list(weights)
        term_weights = list(weights.values())
        clusters = self.clusters
        lex_weight, time_weight = p.lex_weight, p.time_weight
        lex_saturation, conflict_weight = p.lex_saturation, p.conflict_weight
        ts = post.ts
        tau_cache = self._tau_cache
        exp = math.exp
        lex_part = []
        time_part = []
        # _lexical_items and _quietness inlined (same arithmetic, same order): this loop runs
        # for every eligible candidate of every post.
        for i in eligible.tolist():
            c = clusters[cands[i]]
            size = c.size
            if total <= 0 or size == 0:
                lex = 0.0
            else:
                sat = lex_saturation * size
                tc = c.term_counts
                got = 0.0
                for n, w in zip(map(tc.get, terms), term_weights, strict=True):
                    if n:
                        share = n / sat
                        got += w * (share if share < 1.0 else 1.0)
                lex = got / total
                if keys and c.dominant and not any(map(tc.get, keys)):
                    lex -= conflict_weight
            lex_part.append(lex_weight * lex)
            silence = ts - c.last_ts
            if silence < 0.0:
                silence = 0.0
            key = (c.gap, size)
            cached = tau_cache.get(c.id)
            if cached is None or cached[0] != key:
                cached = tau_cache[c.id] = (key, c.tau(p))
            time_part.append(time_weight * (1.0 - exp(-silence / cached[1])))
        # The same float32 arithmetic as scoring one candidate at a time (each Python term is
        # rounded to float32 before it is added), for all eligible candidates at once.
        # One conversion for both parts; a weight of 1.0 leaves float32 values as they are.
        lex_time = np.array((lex_part, time_part), dtype=np.float32)
        emb = cos[eligible]
        if p.emb_weight != 1.0:
            emb = p.emb_weight * emb
        score[eligible] = (emb + lex_time[0]) - lex_time[1]
        return score, cos

    def _quietness(self, c: ClusterState, ts: float) -> float:
        """0 for a cluster that just posted, towards 1 as it stays silent beyond its time scale."""
        silence = max(0.0, ts - c.last_ts)
        # The time scale changes only when the cluster's gap or size does: remembered per cluster.
        key = (c.gap, c.size)
        cached = self._tau_cache.get(c.id)
        if cached is None or cached[0] != key:
            cached = self._tau_cache[c.id] = (key, c.tau(self.p))
        return 1.0 - math.exp(-silence / cached[1])

    # ------------------------------------------------------------------ main entry
    def add(self, post: Post) -> Assignment:
        """Assign one post (posts must arrive in time order per shard)."""
        self.now = max(self.now, post.ts)
        weights, keys = self._prepare(post.features)
        ranked = _ranked_terms(weights, self.p.lookup_terms)
        cands = self._candidates_for(ranked)
        score, cos = self._score(post, weights, keys, cands)
        best = -1
        if cands:
            best = int(score.argmax())
            best_score = score[best]
            if not np.isfinite(best_score) or best_score < self.p.assign_threshold:
                best = -1
        if best < 0:
            revived = self._revive_match(post, weights, ranked)
            if revived is not None:
                c, s, e = revived
                assignment = Assignment(post.id, c.id, s, e, False)
            else:
                c = self._new_cluster(post)
                assignment = Assignment(post.id, c.id, 1.0, 1.0, True)
        else:
            c = self.clusters[cands[best]]
            assignment = Assignment(post.id, c.id, float(score[best]), float(cos[best]), False)
        self._join(c, post, weights, keys)
        # Document frequencies after scoring, so a post does not make its own terms common.
        self.docs += 1
        self.doc_freq.update(weights.keys())
        self.posts_seen += 1
        if self.p.maintain_every and self.posts_seen % self.p.maintain_every == 0:
            self.maintain(now=post.ts)
        return assignment

    def _new_cluster(self, post: Post) -> ClusterState:
        cid = self._alloc()
        c = ClusterState(
            id=cid, first_ts=post.ts, last_ts=post.ts, vector_sum=np.zeros(self.dim, dtype=np.float32)
        )
        self.clusters[cid] = c
        self._take_slot(cid)
        self._recent[cid] = None
        return c

    def _join(self, c: ClusterState, post: Post, weights: dict[str, float], keys: list[str] | None = None) -> None:
        author = post.author if post.author is not None else f"post:{post.id}"
        count = c.author_counts[author]
        c.author_counts[author] = count + 1
        # One account posting again and again does not shape the event's profile beyond the cap.
        if count < self.p.per_author_cap:
            c.vector_sum += post.vector * max(0.1, post.health)
            c.term_counts.update(weights.keys())
            if c.key_terms is not None:
                c.key_terms.update(
                    keys if keys is not None else [t for t in weights if t.startswith(KEY_PREFIXES)]
                )
            self._index_terms(c, weights.keys())
        if c.size:
            gap = max(0.0, post.ts - c.last_ts)
            a = self.p.gap_smoothing
            c.gap = gap if c.gap <= 0 else (1 - a) * c.gap + a * gap
        c.size += 1
        c.last_ts = max(c.last_ts, post.ts)
        c.members.append(post.id)
        c.recent.append((post.id, post.vector))
        if len(c.recent) > self.p.recent_buffer:
            del c.recent[: len(c.recent) - self.p.recent_buffer]
        self._refresh_row(c)
        if c.size < 20 or c.size % 10 == 0:
            self._refresh_dominant(c)
        self._recent[c.id] = None
        self._recent.move_to_end(c.id)
        if not c.is_event and c.size >= self.p.min_members and c.unique_authors >= self.p.min_authors:
            c.is_event = True
            self.changes.append(ClusterChange("promote", c.id, ts=post.ts))

    # ------------------------------------------------------------------ dormancy
    def _retire(self, c: ClusterState, ts: float) -> None:
        self._release_slot(c.id)
        self._recent.pop(c.id, None)
        for t in list(c.term_counts):
            posting = self._index.get(t)
            if posting is not None:
                posting.pop(c.id, None)
                if not posting:
                    del self._index[t]
        if c.is_event:
            c.dormant = True
            for t, _ in c.top_terms(10):
                self._dormant_index.setdefault(t, set()).add(c.id)
            self.changes.append(ClusterChange("retire", c.id, ts=ts))
        else:
            # A candidate that never grew is forgotten; its posts stay unassigned.
            del self.clusters[c.id]

    def _try_revive(self, post: Post, weights: dict[str, float]) -> tuple[ClusterState, float, float] | None:
        return self._revive_match(post, weights, _ranked_terms(weights, self.p.lookup_terms))

    def _revive_match(
        self, post: Post, weights: dict[str, float], ranked: list[str]
    ) -> tuple[ClusterState, float, float] | None:
        if not self._dormant_index:
            return None
        found: set[int] = set()
        for t in ranked:
            found |= self._dormant_index.get(t, set())
        best: tuple[ClusterState, float, float] | None = None
        total = sum(weights.values())
        for cid in found:
            c = self.clusters.get(cid)
            if c is None or not c.dormant or post.ts - c.last_ts > self.p.revive_window:
                continue
            e = float(c.centroid @ post.vector)
            s = self.p.emb_weight * e + self.p.lex_weight * self._lexical(c, weights, total)
            if e >= self.p.min_embedding_cos and s >= self.p.revive_threshold and (best is None or s > best[1]):
                best = (c, s, e)
        if best is not None:
            self._revive(best[0], post.ts)
        return best

    def _revive(self, c: ClusterState, ts: float) -> None:
        for t, _ in c.top_terms(10):
            s = self._dormant_index.get(t)
            if s is not None:
                s.discard(c.id)
                if not s:
                    del self._dormant_index[t]
        c.dormant = False
        self._take_slot(c.id)
        self._refresh_row(c)
        self._recent[c.id] = None
        self._index_terms(c, c.term_counts.keys())
        self.changes.append(ClusterChange("revive", c.id, ts=ts))

    # ------------------------------------------------------------------ maintenance
    def maintain(self, *, now: float | None = None) -> list[ClusterChange]:
        """Retire quiet clusters, merge converged ones, split drifted ones. Returns the changes."""
        now = self.now if now is None else now
        start = len(self.changes)
        # Merge first: a cluster about to go quiet still gets its chance to join its twin.
        self._merge_pass(now)
        self._split_pass(now)
        for cid in list(self._recent):
            c = self.clusters[cid]
            if now - c.last_ts > self.p.retire_after_taus * c.tau(self.p):
                self._retire(c, now)
        self._prune_dormant(now)
        return self.changes[start:]

    def _prune_dormant(self, now: float) -> None:
        for t in list(self._dormant_index):
            keep = {
                cid
                for cid in self._dormant_index[t]
                if cid in self.clusters and now - self.clusters[cid].last_ts <= self.p.revive_window
            }
            if keep:
                self._dormant_index[t] = keep
            else:
                del self._dormant_index[t]

    def profile_cos(self, a: ClusterState, b: ClusterState, k: int = 30) -> float:
        """Cosine of the two clusters' IDF-weighted top-term frequency profiles."""
        va = {t: n / a.size * self.idf(t) * term_type_weight(t) for t, n in a.top_terms(k)}
        vb = {t: n / b.size * self.idf(t) * term_type_weight(t) for t, n in b.top_terms(k)}
        dot = sum(w * vb.get(t, 0.0) for t, w in va.items())
        na = math.sqrt(sum(w * w for w in va.values()))
        nb = math.sqrt(sum(w * w for w in vb.values()))
        return dot / (na * nb) if na and nb else 0.0

    def key_profile(self, c: ClusterState, k: int = 200) -> dict[str, float]:
        """IDF-weighted share of the cluster's posts carrying each hashtag / name / domain."""
        # idf() inlined with its inputs hoisted (the same expression).
        docs = self.docs + 1.0
        df = self.doc_freq
        log = math.log
        size = c.size
        return {
            t: n / size * (log(docs / (df.get(t, 0) + 1.0)) + 1.0)
            for t, n in c.top_terms(k)
            if t.startswith(("#", "@e:", "d:"))
        }

    @staticmethod
    def _cos(va: dict[str, float], vb: dict[str, float]) -> float:
        if len(va) > len(vb):
            va, vb = vb, va
        dot = sum(w * vb.get(t, 0.0) for t, w in va.items())
        na = math.sqrt(sum(w * w for w in va.values()))
        nb = math.sqrt(sum(w * w for w in vb.values()))
        return dot / (na * nb) if na and nb else 0.0

    def _merge_pass(self, now: float) -> None:
        """Merge active clusters about the same thing: they share names/hashtags and meaning.

        Candidate pairs come from the inverted index (clusters sharing one of their top key
        terms), so the pass costs O(active x postings), not O(active^2).
        """
        p = self.p
        ids = [cid for cid in self._recent if self.clusters[cid].size >= p.merge_min_members]
        if len(ids) < 2:
            return
        eligible = set(ids)
        profiles = {cid: self.key_profile(self.clusters[cid]) for cid in ids}
        pairs: dict[tuple[int, int], None] = {}
        for cid in ids:
            top = sorted(profiles[cid].items(), key=lambda kv: -kv[1])[: p.merge_lookup_terms]
            for t, _ in top:
                for other in self._index.get(t, ()):
                    if other != cid and other in eligible:
                        pairs[(min(cid, other), max(cid, other))] = None
        scored = []
        for a, b in pairs:
            kc = self._cos(profiles[a], profiles[b])
            if kc < p.merge_key_min:
                continue
            e = float(self._matrix[self._slot[a]] @ self._matrix[self._slot[b]])
            if e < p.merge_embedding_min:
                continue
            s = e + p.merge_key_weight * kc
            if s >= p.merge_threshold:
                scored.append((s, a, b, e, kc))
        # Strongest pairs first; each cluster merges at most once per pass.
        scored.sort(reverse=True)
        done: set[int] = set()
        for _, a_id, b_id, e, kc in scored:
            if a_id in done or b_id in done:
                continue
            a, b = self.clusters[a_id], self.clusters[b_id]
            # The older id survives so links and bookmarks keep pointing at the same event.
            keep, gone = (a, b) if (a.first_ts, a.id) <= (b.first_ts, b.id) else (b, a)
            self._merge(keep, gone, now, e, kc)
            done.update((a_id, b_id))

    def _merge(self, keep: ClusterState, gone: ClusterState, now: float, emb: float, prof: float) -> None:
        keep.vector_sum += gone.vector_sum
        keep.term_counts.update(gone.term_counts)
        if keep.key_terms is not None:
            keep.key_terms |= gone.key_term_set()
        keep.author_counts.update(gone.author_counts)
        keep.size += gone.size
        keep.first_ts = min(keep.first_ts, gone.first_ts)
        keep.last_ts = max(keep.last_ts, gone.last_ts)
        if gone.gap > 0:
            keep.gap = gone.gap if keep.gap <= 0 else min(keep.gap, gone.gap)
        keep.members.extend(gone.members)
        keep.recent = sorted(keep.recent + gone.recent, key=lambda r: r[0])[-self.p.recent_buffer :]
        was_event = keep.is_event
        keep.is_event = keep.is_event or gone.is_event or (
            keep.size >= self.p.min_members and keep.unique_authors >= self.p.min_authors
        )
        self._index_terms(keep, gone.term_counts.keys())
        self._refresh_row(keep)
        self._refresh_dominant(keep)
        self._release_slot(gone.id)
        self._recent.pop(gone.id, None)
        for t in gone.term_counts:
            posting = self._index.get(t)
            if posting is not None:
                posting.pop(gone.id, None)
        gone.merged_into = keep.id
        self.merged_map[gone.id] = keep.id
        gone.members = []
        gone.recent = []
        del self.clusters[gone.id]
        self.changes.append(
            ClusterChange(
                "merge", gone.id, keep.id, now,
                {"embedding_cos": round(emb, 3), "profile_cos": round(prof, 3), "gone_was_event": gone.is_event},
            )
        )
        if keep.is_event and not was_event:
            self.changes.append(ClusterChange("promote", keep.id, ts=now))

    def _split_pass(self, now: float) -> None:
        p = self.p
        checked = self._split_checked
        for cid in list(self._recent):
            c = self.clusters.get(cid)
            if c is None or not c.is_event or len(c.recent) < p.split_check_members:
                continue
            # The check only reads the recent members and the centroid: a cluster that did not
            # split last time and has neither (the same member tuples, the same vector sum)
            # changed since would not split now either. Most clusters are idle between passes.
            seen = checked.get(cid)
            vector_bytes = c.vector_sum.tobytes()
            if (
                seen is not None
                and seen[0] == vector_bytes
                and len(seen[1]) == len(c.recent)
                and all(map(is_, seen[1], c.recent))
            ):
                continue
            if self._maybe_split(c, now):
                checked.pop(cid, None)
            else:
                checked[cid] = (vector_bytes, list(c.recent))

    def _maybe_split(self, c: ClusterState, now: float) -> bool:
        """Split off the recent members that drifted away, if they did; True if it split."""
        p = self.p
        # np.array rather than np.stack: the same matrix, without stack's per-row Python work.
        x = np.array([r[1] for r in c.recent])
        n = x.shape[0]
        # Two-means seeded by the two mutually farthest points (deterministic).
        a = int(np.argmin(x @ c.centroid))
        b = int(np.argmin(x @ x[a]))
        ca, cb = x[a], x[b]
        previous = None
        for _ in range(5):
            side = (x @ ca) < (x @ cb)
            n_b = int(np.count_nonzero(side))
            if n_b == 0 or n_b == n:
                return False
            # Converged: the same sides give the same means, so the remaining rounds would
            # reproduce ca, cb and side exactly.
            if previous is not None and np.array_equal(side, previous):
                break
            ca = _mean_rows(x[~side])
            cb = _mean_rows(x[side])
            ca /= _norm32(ca) or 1.0
            cb /= _norm32(cb) or 1.0
            previous = side
        if min(n_b, n - n_b) < p.split_min or float(ca @ cb) > p.split_max_cos:
            return False
        # The group that is not the cluster's historic core leaves as a new cluster.
        leave = side if float(cb @ c.centroid) < float(ca @ c.centroid) else ~side
        ids = [r[0] for r in c.recent]
        leaving = {ids[i] for i in np.flatnonzero(leave)}
        vecs = x[leave]
        new = self._new_cluster_from(vecs, sorted(leaving), now)
        c.vector_sum -= vecs.sum(axis=0)
        c.size -= len(leaving)
        c.members = [m for m in c.members if m not in leaving]
        c.recent = [r for r in c.recent if r[0] not in leaving]
        self._refresh_row(c)
        self.changes.append(
            ClusterChange("split", c.id, new.id, now, {"moved": len(leaving), "cos": round(float(ca @ cb), 3)})
        )
        return True

    def _new_cluster_from(self, vecs: np.ndarray, members: list[int], now: float) -> ClusterState:
        cid = self._alloc()
        c = ClusterState(
            id=cid, first_ts=now, last_ts=now, vector_sum=vecs.sum(axis=0).astype(np.float32), size=len(members)
        )
        c.members = list(members)
        c.recent = list(zip(members, vecs, strict=True))
        c.is_event = len(members) >= self.p.min_members
        for m in members:
            c.author_counts[f"post:{m}"] += 1
        self.clusters[cid] = c
        self._take_slot(cid)
        self._refresh_row(c)
        self._recent[cid] = None
        return c

    # ------------------------------------------------------------------ state I/O
    def load_cluster(self, c: ClusterState, *, active: bool = True) -> None:
        """Install a cluster loaded from storage (the worker's single-writer shard state)."""
        self.clusters[c.id] = c
        self._next_id = max(self._next_id, c.id + 1)
        self._refresh_dominant(c)
        if active and not c.dormant:
            self._take_slot(c.id)
            self._refresh_row(c)
            self._recent[c.id] = None
            self._index_terms(c, c.term_counts.keys())
        elif c.is_event:
            c.dormant = True
            for t, _ in c.top_terms(10):
                self._dormant_index.setdefault(t, set()).add(c.id)

    def rename(self, mapping: dict[int, int]) -> None:
        """Give clusters new ids (temporary ids -> database ids after their rows exist)."""
        if not mapping:
            return
        for old, new in mapping.items():
            c = self.clusters.pop(old)
            c.id = new
            self.clusters[new] = c
            slot = self._slot.pop(old, None)
            if slot is not None:
                self._slot[new] = slot
                self._slot_owner[slot] = new
            checked = self._split_checked.pop(old, None)
            if checked is not None:
                self._split_checked[new] = checked
            for t in c.term_counts:
                posting = self._index.get(t)
                if posting is not None and old in posting:
                    self._index[t] = OrderedDict((mapping.get(k, k), None) for k in posting)
                bucket = self._dormant_index.get(t)
                if bucket is not None and old in bucket:
                    bucket.discard(old)
                    bucket.add(new)
            self._next_id = max(self._next_id, new + 1)
        self._recent = OrderedDict((mapping.get(k, k), None) for k in self._recent)
        self.merged_map = {mapping.get(k, k): mapping.get(v, v) for k, v in self.merged_map.items()}

    def end_batch(self) -> None:
        """Forget what only the caller needed for writing the batch back (members, changes)."""
        for c in self.clusters.values():
            c.members = []
        self.changes = []
        self.merged_map = {}
        self._tau_cache = {cid: v for cid, v in self._tau_cache.items() if cid in self.clusters}
        self._split_checked = {cid: v for cid, v in self._split_checked.items() if cid in self.clusters}
        # Keep document frequencies bounded on a long-lived clusterer: rebuild them from the
        # active profiles (what a reload from the database would give).
        if len(self.doc_freq) > 50 * max(1, len(self._recent)) + 100_000:
            df: Counter = Counter()
            docs = 0
            for cid in self._recent:
                c = self.clusters[cid]
                df.update(c.term_counts)
                docs += c.size
            self.doc_freq, self.docs = df, docs

    def resolve(self, cid: int) -> int:
        """Follow merges to the surviving cluster id."""
        for _ in range(10_000):
            nxt = self.merged_map.get(cid)
            if nxt is None:
                return cid
            cid = nxt
        return cid
