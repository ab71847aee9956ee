"""Pipeline services run by the Celery tasks: embed, cluster, score, lifecycle, describe.

The algorithms live in trends.detection (Django-free, shared with `manage.py evaluate_events`);
this module loads their state from the database, runs them, and writes the results back in bulk.

Cluster state in the database (one Event row per cluster, candidates included):
* a *candidate* is an Event with fewer than TREND_MIN_UNIQUE_AUTHORS authors; its posts have a
  membership (so the state survives between batches) but stay `UNASSIGNED`; the public selectors
  only list events with enough authors. Candidates that never grow are deleted by the lifecycle task.
* the clusterer's profile is kept on the event: `hashtags`, `domains`, `languages` ({term: posts})
  and `entities` = {"names": {...}, "words": {...}} (capitalised names and content words);
* its centroid is `centroid` (float16), its size `tweet_count`, its pace `(last - first) / n`.

`shard_cluster` is the only writer of a shard's clustering (one Celery queue per shard); curators
may edit the same events concurrently, so the touched rows are locked before they are written and
posts that land in an event merged away meanwhile follow it to the surviving one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from trends.detection import lifecycle
from trends.detection.category import CATEGORY_LABELS, categorizer_for
from trends.detection.clusterer import (
    ClusterParams,
    ClusterState,
    OnlineClusterer,
    Post,
    most_common,
    time_scale,
)
from trends.detection.features import PostFeatures, clean_for_embedding, extract
from trends.detection.naming import (
    class_terms,
    context_line,
    ctfidf,
    name_event,
    representatives,
    surface_forms,
)
from trends.detection.scoring import (
    TrendParams,
    WindowPost,
    bucket_start,
    coordinated_authors,
    decayed_peak,
    trend_stats,
)
from trends.embedding import encode_distinct, get_embedder, pack, unpack, unpack_many
from trends.models import (
    Event,
    EventBucket,
    EventLink,
    EventMembership,
    EventSnapshot,
    EventState,
    PipelineState,
    Tweet,
)
from trends.pgcopy import insert_new_tuples, insert_or_add, update_rows

logger = logging.getLogger(__name__)

LIVE = (EventState.EMERGING, EventState.TRENDING, EventState.FADING)
PROFILE_CAPS = {"#": 60, "@e:": 120, "d:": 30, "l:": 10, "": 250}
TREND = TrendParams()
COORDINATED_HEALTH = 0.2


def cluster_params() -> ClusterParams:
    authors = int(settings.TREND_MIN_UNIQUE_AUTHORS)
    return ClusterParams(min_authors=authors, min_members=min(authors, ClusterParams().min_members))


def lifecycle_params() -> lifecycle.LifecycleParams:
    return lifecycle.LifecycleParams(min_authors=int(settings.TREND_MIN_UNIQUE_AUTHORS))


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


def _dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def _author_key(author_id: int | None, tweet_id: int) -> str | int:
    # Imported posts have no author: each counts as its own (see trends/detection/replay.py).
    return author_id if author_id is not None else f"post:{tweet_id}"


def _blocked(tweet: Tweet) -> bool:
    from trends.curation.selectors import blockrules_match

    return blockrules_match(
        text=tweet.text, hashtags=tweet.hashtags or [], author_id=tweet.author_id, domains=tweet.domains or []
    )


def _blocked_ids(tweets) -> set[int]:
    """Ids of the posts a block rule keeps out. The rules are looked up once per batch: with no
    rules at all (the common case) nothing needs checking post by post."""
    if not _any_block_rules():
        return set()
    return {t.pk for t in tweets if _blocked(t)}


def _any_block_rules() -> bool:
    from trends.curation.selectors import blockrules_current

    rules = blockrules_current()
    return bool(rules.author_ids or rules.domains or rules.hashtags or rules.terms is not None or rules.regexes)


class EmbedRow:
    """The columns of a post the embedder reads (see PostRow)."""

    __slots__ = ("pk", "text", "author_id", "hashtags", "domains")
    columns = ("id", "text", "author_id", "hashtags", "domains")

    def __init__(self, pk, text, author_id, hashtags, domains) -> None:
        self.pk = pk
        self.text = text
        self.author_id = author_id
        self.hashtags = hashtags
        self.domains = domains


class PostRow:
    """The columns of a post the clusterer reads, without a model instance per row (hot loop)."""

    __slots__ = ("pk", "text", "embedding", "created_at", "author_id", "lang", "hashtags", "domains", "health")
    columns = ("id", "text", "embedding", "created_at", "author_id", "lang", "hashtags", "domains", "health")
    # Without the columns only block rules read (decoding their JSON is most of a row's load time).
    unblocked_columns = ("id", "text", "embedding", "created_at", "author_id", "lang", "health")

    @classmethod
    def unblocked(cls, pk, text, embedding, created_at, author_id, lang, health) -> PostRow:
        return cls(pk, text, embedding, created_at, author_id, lang, None, None, health)

    def __init__(self, pk, text, embedding, created_at, author_id, lang, hashtags, domains, health) -> None:
        self.pk = pk
        self.text = text
        self.embedding = embedding
        self.created_at = created_at
        self.author_id = author_id
        self.lang = lang
        self.hashtags = hashtags
        self.domains = domains
        self.health = health


def _set_state(ids: list[int], state: int, now: dt.datetime | None) -> None:
    """Move posts to a pipeline state in one statement (one array parameter, not one per id)."""
    if not ids:
        return
    if connection.vendor != "postgresql":
        extra = {"clustered_at": now} if now is not None else {}
        Tweet.objects.filter(pk__in=ids).update(pipeline_state=state, **extra)
        return
    table = Tweet._meta.db_table
    with connection.cursor() as cursor:
        if now is None:
            cursor.execute(f'UPDATE "{table}" SET pipeline_state = %s WHERE id = ANY(%s::bigint[])', [int(state), ids])
        else:
            cursor.execute(
                f'UPDATE "{table}" SET pipeline_state = %s, clustered_at = %s WHERE id = ANY(%s::bigint[])', [int(state), now, ids]
            )


# ----------------------------------------------------------------------------------------- embed
EMBED_FIELDS = ("embedding", "embedding_model", "pipeline_state", "embedded_at", "enqueued_at")


def tweets_embed(*, tweet_ids: list[int], top_up: bool = True) -> int:
    """Embed the given posts that still need it; blocked posts are excluded instead. Idempotent.

    Rows are claimed first (FOR UPDATE SKIP LOCKED), so two deliveries of the same batch never
    encode the same post twice. A small batch (one API post is one task) is topped up with other
    waiting posts, oldest first: encoding 64 posts costs little more than encoding one.
    """
    batch = max(int(settings.EMBEDDING_BATCH_SIZE), len(tweet_ids))
    with transaction.atomic():
        # Plain rows, not model instances: a task carries up to EMBEDDING_TASK_SIZE posts.
        tweets = [
            EmbedRow(*row)
            for row in Tweet.objects.select_for_update(skip_locked=True)
            .filter(pk__in=tweet_ids, pipeline_state=PipelineState.NEW)
            .values_list(*EmbedRow.columns)
        ]
        if top_up and len(tweets) < batch:
            tweets += [
                EmbedRow(*row)
                for row in Tweet.objects.select_for_update(skip_locked=True)
                .filter(pipeline_state=PipelineState.NEW)
                .exclude(pk__in=[t.pk for t in tweets])
                .order_by("enqueued_at")
                .values_list(*EmbedRow.columns)[: batch - len(tweets)]
            ]
        if not tweets:
            return 0
        excluded_set = _blocked_ids(tweets)
        excluded = [t.pk for t in tweets if t.pk in excluded_set]
        todo = [t for t in tweets if t.pk not in excluded_set]
        now = timezone.now()
        if todo:
            embedder = get_embedder()
            vectors = encode_distinct(
                embedder, [clean_for_embedding(t.text) for t in todo], memo_size=settings.EMBEDDING_MEMO_SIZE
            )
            rows = [
                (t.pk, pack(vector), embedder.name, PipelineState.EMBEDDED, now, now)
                for t, vector in zip(todo, vectors, strict=True)
            ]
            # One statement for the batch (COPY + UPDATE ... FROM on PostgreSQL); the state guard
            # keeps a concurrent redelivery from overwriting rows that already moved on.
            update_rows(Tweet, EMBED_FIELDS, rows, where=f"t.pipeline_state = {int(PipelineState.NEW)}")
        if excluded:
            Tweet.objects.filter(pk__in=excluded, pipeline_state=PipelineState.NEW).update(
                pipeline_state=PipelineState.EXCLUDED, clustered_at=now
            )
    return len(tweets)


# ----------------------------------------------------------------------------------------- state I/O
def _profile_to_terms(event: Event) -> Counter:
    terms: Counter = Counter()
    terms.update({f"#{k}": int(v) for k, v in (event.hashtags or {}).items()})
    terms.update({f"d:{k}": int(v) for k, v in (event.domains or {}).items()})
    terms.update({f"l:{k}": int(v) for k, v in (event.languages or {}).items()})
    ents = event.entities or {}
    if isinstance(ents.get("names"), dict) or isinstance(ents.get("words"), dict):
        terms.update({f"@e:{k}": int(v) for k, v in (ents.get("names") or {}).items()})
        terms.update({k: int(v) for k, v in (ents.get("words") or {}).items()})
    return terms


# term -> (profile group prefix, term without it); shared by the process, bounded.
_PROFILE_GROUP: dict[str, tuple[str, str]] = {}
_PROFILE_GROUP_MAX = 200_000


def _profile_group(term: str) -> tuple[str, str]:
    for prefix in ("#", "@e:", "d:", "l:"):
        if term.startswith(prefix):
            return prefix, term[len(prefix):]
    return "", term


def _terms_to_profile(terms: Counter) -> dict[str, dict]:
    groups: dict[str, dict[str, int]] = {"#": {}, "@e:": {}, "d:": {}, "l:": {}, "": {}}
    # Each touched event's whole profile is regrouped every batch: the prefix of a term is
    # looked up once per process, not tested against every prefix every time.
    known = _PROFILE_GROUP
    for term, n in terms.items():
        group = known.get(term)
        if group is None:
            group = _profile_group(term)
            if len(known) < _PROFILE_GROUP_MAX:
                known[term] = group
        groups[group[0]][group[1]] = n
    capped = {p: dict(most_common(c, PROFILE_CAPS[p])) for p, c in groups.items()}
    return {
        "hashtags": capped["#"],
        "domains": capped["d:"],
        "languages": capped["l:"],
        "entities": {"names": capped["@e:"], "words": capped[""]},
    }


def _cluster_from_event(event: Event, dim: int) -> ClusterState:
    n = max(1, event.tweet_count)
    centroid = unpack(event.centroid)
    if centroid is None or centroid.shape[0] != dim:
        centroid = np.zeros(dim, dtype=np.float32)
    first, last = _ts(event.first_seen_at), _ts(event.last_seen_at)
    state = ClusterState(
        id=event.pk,
        first_ts=first,
        last_ts=last,
        vector_sum=centroid * float(n),
        size=event.tweet_count,
        gap=(last - first) / (n - 1) if n > 1 else 0.0,
        term_counts=_profile_to_terms(event),
        is_event=event.author_count >= settings.TREND_MIN_UNIQUE_AUTHORS,
        dormant=event.state == EventState.ARCHIVED,
    )
    # Authors are not loaded (unbounded); only their number matters to the clusterer.
    state.author_counts = Counter({f"known:{i}": 1 for i in range(event.author_count)})
    return state


def _load_clusterer(*, shard: int, since: float, dim: int) -> tuple[OnlineClusterer, dict[int, Event]]:
    params = cluster_params()
    # Ids allocated for new clusters are temporary (negative) until their rows are created.
    temp = iter(range(-1, -10**9, -1))
    clusterer = OnlineClusterer(dim=dim, params=params, id_allocator=lambda: next(temp))
    horizon = _dt(since - params.retire_after_taus * params.max_tau)
    dormant_horizon = _dt(since - params.revive_window)
    events = list(
        Event.objects.filter(shard=shard)
        .filter(
            Q(state__in=LIVE, last_seen_at__gte=horizon)
            | Q(state=EventState.ARCHIVED, last_seen_at__gte=dormant_horizon,
                author_count__gte=settings.TREND_MIN_UNIQUE_AUTHORS)
        )
        .only(
            "id", "state", "centroid", "tweet_count", "author_count", "first_seen_at", "last_seen_at",
            "hashtags", "domains", "languages", "entities",
        )
    )
    doc_freq: Counter = Counter()
    docs = 0
    for event in events:
        c = _cluster_from_event(event, dim)
        clusterer.load_cluster(c, active=event.state != EventState.ARCHIVED)
        if event.state != EventState.ARCHIVED:
            # The active events' profiles are the shard's recent document frequencies.
            doc_freq.update(c.term_counts)
            docs += c.size
    clusterer.doc_freq = doc_freq
    clusterer.docs = docs
    clusterer.now = since
    return clusterer, {e.pk: e for e in events}


# ----------------------------------------------------------------------------------------- cluster
def shard_cluster(*, shard: int, limit: int | None = None) -> int:
    """Cluster the shard's embedded posts in time order. The shard's single writer; idempotent
    (only EMBEDDED posts are read, and they leave that state in the same transaction)."""
    limit = limit or settings.CLUSTER_BATCH_SIZE
    with transaction.atomic():
        # The block rules as of the start of the batch: with none (the common case) the columns
        # only they read are not fetched at all.
        blocking = _any_block_rules()
        make, columns = (PostRow, PostRow.columns) if blocking else (PostRow.unblocked, PostRow.unblocked_columns)
        tweets = [
            make(*row)
            for row in Tweet.objects.select_for_update(skip_locked=True)
            .filter(shard=shard, pipeline_state=PipelineState.EMBEDDED)
            .order_by("created_at", "id")
            .values_list(*columns)[:limit]
        ]
        if not tweets:
            return 0
        now = timezone.now()
        blocked_ids = {t.pk for t in tweets if _blocked(t)} if blocking else set()
        _set_state(sorted(blocked_ids), PipelineState.EXCLUDED, now)
        missing = [t.pk for t in tweets if t.pk not in blocked_ids and not t.embedding]
        # Marked embedded without a vector (a crashed writer): back to the embedder's queue.
        _set_state(missing, PipelineState.NEW, None)
        tweets = [t for t in tweets if t.pk not in blocked_ids and t.embedding]
        if not tweets:
            return len(blocked_ids) + len(missing)
        vectors = unpack_many([t.embedding for t in tweets])
        dim = vectors.shape[1]
        # The shard's state is the database; a worker keeps it in memory between batches only
        # while nobody else changed the shard's events (the token would differ).
        key = (connection.alias, connection.settings_dict.get("NAME"), shard, dim)
        token = _shard_token(shard)
        cached = _STATE_CACHE.pop(key, None)
        if cached is not None and cached[0] == token:
            clusterer = cached[1]
        else:
            clusterer, _ = _load_clusterer(shard=shard, since=_ts(tweets[0].created_at), dim=dim)
        posts: dict[int, PostRow] = {}
        vector_of: dict[int, np.ndarray] = {}
        for tweet, vector in zip(tweets, vectors, strict=True):
            vector_of[tweet.pk] = vector
            # The client's language tag beats the function-word guess (which is then skipped).
            features: PostFeatures = extract(
                tweet.text, lang=tweet.lang.split("-")[0].lower() if tweet.lang else "", embedding_text=False
            )
            posts[tweet.pk] = tweet
            clusterer.add(
                Post(
                    id=tweet.pk,
                    ts=_ts(tweet.created_at),
                    vector=vector,
                    features=features,
                    author=_author_key(tweet.author_id, tweet.pk),
                    health=tweet.health,
                )
            )
        clusterer.maintain(now=clusterer.now)
        created = _write_back(shard=shard, clusterer=clusterer, posts=posts, vector_of=vector_of, now=now)
        clusterer.rename(created)
        clusterer.end_batch()
        after = _shard_token(shard)
        # Kept only once the batch is committed; a rollback leaves nothing stale behind.
        transaction.on_commit(lambda: _STATE_CACHE.__setitem__(key, (after, clusterer)))
    return len(tweets) + len(blocked_ids)


_STATE_CACHE: dict[tuple, tuple[tuple, OnlineClusterer]] = {}


def _shard_token(shard: int) -> tuple:
    """Changes whenever any writer (this one, curators, lifecycle, naming) touched the shard's events."""
    if connection.vendor == "postgresql":
        # Read twice per batch: one plain statement instead of an ORM aggregate each time.
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT COUNT(id), SUM(version), MAX(id), MAX(updated_at), SUM(tweet_count) '
                f'FROM "{Event._meta.db_table}" WHERE shard = %s',
                [shard],
            )
            n, v, m, u, t = cursor.fetchone()
        return (n, None if v is None else int(v), m, u, None if t is None else int(t))
    agg = Event.objects.filter(shard=shard).aggregate(
        n=Count("id"), v=Sum("version"), m=Max("id"), u=Max("updated_at"), t=Sum("tweet_count")
    )
    return (agg["n"], agg["v"], agg["m"], agg["u"], agg["t"])


def _write_back(*, shard: int, clusterer: OnlineClusterer, posts: dict[int, PostRow],
                vector_of: dict[int, np.ndarray], now: dt.datetime) -> dict[int, int]:
    """Write the batch's outcome; returns {temporary cluster id: new event id}."""
    changes = clusterer.changes
    merged_pairs = [(ch.source, ch.target, ch.details) for ch in changes if ch.kind == "merge"]
    # Create rows for the new clusters that survived the batch (temporary negative ids).
    new_ids = sorted((cid for cid in clusterer.clusters if cid < 0), reverse=True)
    created: dict[int, Event] = {}
    if new_ids:
        rows = []
        for cid in new_ids:
            c = clusterer.clusters[cid]
            rows.append(Event(shard=shard, first_seen_at=_dt(c.first_ts), last_seen_at=_dt(c.last_ts)))
        Event.objects.bulk_create(rows)
        if any(r.pk is None for r in rows):  # backends without RETURNING
            raise RuntimeError("bulk_create did not return primary keys")
        created = dict(zip(new_ids, rows, strict=True))

    def real(cid: int | None) -> int | None:
        if cid is None:
            return None
        cid = clusterer.resolve(cid)
        return created[cid].pk if cid < 0 and cid in created else cid

    # Lock every existing event this batch touches; curators may have merged one meanwhile.
    touched_existing = {cid for cid in clusterer.clusters if cid > 0 and clusterer.clusters[cid].members}
    touched_existing |= {s for s, _, _ in merged_pairs if s > 0} | {t for _, t, _ in merged_pairs if t and t > 0}
    touched_existing |= {ch.source for ch in changes if ch.kind == "split" and ch.source > 0}
    # Locks in id order, the order curation's merge/split take them too: no lock-order deadlock.
    locked = {
        e.pk: e for e in Event.objects.select_for_update().filter(pk__in=touched_existing).order_by("pk")
    }
    redirect = {}
    for pk, e in locked.items():
        if e.state != EventState.MERGED or not e.merged_into_id:
            continue
        # Follow the whole merge chain: a curator may have merged the survivor again meanwhile.
        target, seen = e.merged_into_id, {pk}
        while target not in seen:
            seen.add(target)
            row = Event.objects.filter(pk=target).values_list("state", "merged_into_id").first()
            if row is None or row[0] != EventState.MERGED or not row[1]:
                break
            target = row[1]
        redirect[pk] = target

    # Memberships of this batch's posts.
    member_of: dict[int, int] = {}
    for cid, c in clusterer.clusters.items():
        target = real(cid)
        target = redirect.get(target, target)
        for pid in c.members:
            member_of[pid] = target
    centroid_of = {real(cid): c.centroid for cid, c in clusterer.clusters.items()}
    # Posts of earlier batches that a split moved: their rows follow them.
    moved = [(pid, eid) for pid, eid in member_of.items() if pid not in posts]
    for pid, eid in moved:
        EventMembership.objects.filter(tweet_id=pid).update(event_id=eid)
        del member_of[pid]
    inserted = _insert_memberships(
        member_of=member_of, posts=posts, vector_of=vector_of, centroid_of=centroid_of, now=now
    )

    # Merges between stored events: move rows, fold buckets, leave a merged stub and a link.
    for source, target, details in merged_pairs:
        # The source itself (not where merges lead it) folds into the target's survivor.
        src, dst = source, real(target)
        if source < 0 or src == dst or src not in locked:
            continue
        _fold_event(source=locked[src], target_id=dst, details=details, now=now)
    for ch in changes:
        if ch.kind == "split" and ch.target is not None:
            src, dst = real(ch.source), real(ch.target)
            if src and dst and src != dst:
                EventLink.objects.create(source_id=src, target_id=dst, kind=EventLink.Kind.SPLIT, details=ch.details)

    # Buckets and new-author counts for this batch.
    known = _known_authors(member_of=member_of, posts=posts)
    _add_buckets(member_of=member_of, posts=posts, known=known)

    # Event rows touched by this batch: profile, centroid, counts.
    min_authors = settings.TREND_MIN_UNIQUE_AUTHORS
    updates: list[Event] = []
    promoted: list[int] = []
    revived = {real(ch.source) for ch in changes if ch.kind in ("revive", "split", "merge")}
    revived |= {real(ch.target) for ch in changes if ch.kind in ("split", "merge") and ch.target is not None}
    dirty = set(member_of.values()) | revived
    # Counts are carried forward from the locked row plus what this batch inserted; recounting
    # every touched event's memberships costs O(event size) per batch and grows without bound.
    # Events whose rows moved between events (merge, split, revival) or that a concurrent curator
    # merge redirected posts into are recounted from their rows instead.
    recount = (revived | set(redirect.values()) | (_RECOUNT & dirty)) & dirty
    counts = _member_counts(recount)
    added = _added_counts(inserted=inserted, member_of=member_of, posts=posts, known=known)
    for cid, c in clusterer.clusters.items():
        eid = real(cid)
        if eid not in dirty:
            continue
        event = created[cid] if cid < 0 else locked.get(eid)
        if event is None or event.state == EventState.MERGED:
            continue
        profile = _terms_to_profile(c.term_counts)
        if eid in recount:
            n, authors = counts.get(eid, (event.tweet_count, event.author_count))
        else:
            more_posts, more_authors = added.get(eid, (0, 0))
            n, authors = event.tweet_count + more_posts, event.author_count + more_authors
        was_event = cid > 0 and event.author_count >= min_authors
        event.centroid = pack(c.centroid)
        event.tweet_count = n
        event.author_count = authors
        event.first_seen_at = min(event.first_seen_at, _dt(c.first_ts))
        event.last_seen_at = max(event.last_seen_at, _dt(c.last_ts))
        event.hashtags = profile["hashtags"]
        event.domains = profile["domains"]
        event.languages = profile["languages"]
        event.entities = profile["entities"]
        if profile["languages"]:
            event.language = max(profile["languages"].items(), key=lambda kv: kv[1])[0][:8]
        if event.state == EventState.ARCHIVED:
            # Revived by a strong match: it is live again under the same id.
            event.state = EventState.EMERGING
        event.version = (event.version or 0) + 1
        updates.append(event)
        if authors >= min_authors and not was_event:
            promoted.append(eid)
    fields = ["centroid", "tweet_count", "author_count", "first_seen_at", "last_seen_at", "hashtags", "domains",
              "languages", "entities", "language", "state", "version"]
    # One statement for all touched events (COPY + UPDATE ... FROM on PostgreSQL): the rows are
    # locked above, so nobody else writes them meanwhile.
    update_rows(Event, fields, [(event.pk, *(getattr(event, f) for f in fields)) for event in updates])
    written = {e.pk for e in updates}
    _RECOUNT.difference_update(written)
    # A redirect target is not locked here, so its row is not written: recount it when it next is.
    _RECOUNT.update(set(redirect.values()) - written)
    # Posts of events are assigned; posts of candidates wait, unassigned.
    is_event = {e.pk: e.author_count >= min_authors for e in updates}
    assigned = [pid for pid, eid in member_of.items() if is_event.get(eid, True)]
    waiting = [pid for pid, eid in member_of.items() if not is_event.get(eid, True)]
    # A post whose candidate went quiet and was forgotten within this same batch (a long
    # historical batch) has no cluster left: it is clustered all the same, as background.
    waiting += [pid for pid in posts if pid not in member_of]
    _set_state(assigned, PipelineState.ASSIGNED, now)
    _set_state(waiting, PipelineState.UNASSIGNED, now)
    if promoted:
        # Earlier posts of a promoted candidate become assigned too.
        Tweet.objects.filter(membership__event_id__in=promoted, pipeline_state=PipelineState.UNASSIGNED).update(
            pipeline_state=PipelineState.ASSIGNED
        )
        EventSnapshot.objects.bulk_create(
            EventSnapshot(event_id=eid, taken_at=now, state=EventState.EMERGING, note="detected")
            for eid in promoted
        )
    return {cid: event.pk for cid, event in created.items()}


MEMBERSHIP_COLUMNS = ("tweet_id", "event_id", "similarity", "assigned_at", "tweet_created_at", "author_id")


def _insert_memberships(*, member_of: dict[int, int], posts: dict[int, PostRow], vector_of: dict[int, np.ndarray],
                        centroid_of: dict[int, np.ndarray], now: dt.datetime) -> set[int]:
    """One membership per post (an existing one is left alone), with its cosine to the event's centroid.
    Returns the ids of the posts whose membership was inserted."""
    by_event: dict[int, list[int]] = defaultdict(list)
    for pid, eid in member_of.items():
        by_event[eid].append(pid)
    rows: list[tuple] = []
    for eid, pids in by_event.items():
        cen = centroid_of.get(eid)
        # One matrix-vector product per event instead of one dot product per post.
        sims = np.stack([vector_of[pid] for pid in pids]) @ cen if cen is not None else np.zeros(len(pids))
        for pid, sim in zip(pids, sims.tolist(), strict=True):
            t = posts[pid]
            rows.append((pid, eid, sim, now, t.created_at, t.author_id))
    if connection.vendor == "postgresql":
        # COPY + INSERT ... ON CONFLICT DO NOTHING (trends/pgcopy.py): ignore_conflicts, without
        # building a model instance, an INSERT parameter list or even a dict per row.
        return set(insert_new_tuples(EventMembership, MEMBERSHIP_COLUMNS, rows))
    existing = set(EventMembership.objects.filter(tweet_id__in=list(member_of)).values_list("tweet_id", flat=True))
    EventMembership.objects.bulk_create(
        [EventMembership(**dict(zip(MEMBERSHIP_COLUMNS, r, strict=True))) for r in rows],
        ignore_conflicts=True, batch_size=1000,
    )
    return set(member_of) - existing


# Events whose counts must be recounted from their memberships the next time this process writes them.
_RECOUNT: set[int] = set()


def _known_authors(*, member_of: dict[int, int], posts: dict[int, PostRow]) -> set[tuple[int, int]]:
    """(event, author) pairs of the batch's authors already seen in the event before this batch."""
    authors = {posts[pid].author_id for pid in member_of if posts[pid].author_id is not None}
    if not member_of or not authors:
        return set()
    if connection.vendor == "postgresql":
        # Three array parameters instead of one placeholder per id (a batch has ~1,000 of them):
        # the same rows, without building and parsing the long IN lists.
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT DISTINCT event_id, author_id FROM "{EventMembership._meta.db_table}" '
                # bigint[] as the columns are: an array psycopg types as smallint[] would make the
                # comparisons cross-type, and PostgreSQL then checks every row against the arrays.
                "WHERE event_id = ANY(%s::bigint[]) AND author_id = ANY(%s::bigint[]) "
                "AND NOT (tweet_id = ANY(%s::bigint[]))",
                [sorted(set(member_of.values())), sorted(authors), list(member_of)],
            )
            return {(int(e), int(a)) for e, a in cursor.fetchall()}
    return set(
        EventMembership.objects.filter(event_id__in=set(member_of.values()), author_id__in=authors)
        .exclude(tweet_id__in=list(member_of))
        .values_list("event_id", "author_id")
        .distinct()
    )


def _added_counts(*, inserted: set[int], member_of: dict[int, int], posts: dict[int, PostRow],
                  known: set[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """(posts, new unique authors) that this batch's inserted memberships add to each event;
    author-less posts count as their own author (as in _member_counts)."""
    n: Counter = Counter()
    fresh: dict[int, set] = defaultdict(set)
    for pid in inserted:
        eid = member_of[pid]
        n[eid] += 1
        author = posts[pid].author_id
        if author is None:
            fresh[eid].add(f"post:{pid}")
        elif (eid, author) not in known:
            fresh[eid].add(author)
    return {eid: (count, len(fresh[eid])) for eid, count in n.items()}


def _member_counts(event_ids: set[int]) -> dict[int, tuple[int, int]]:
    """(posts, unique authors) per event from the rows; author-less posts count as their own author."""
    out: dict[int, tuple[int, int]] = {}
    rows = (
        EventMembership.objects.filter(event_id__in=event_ids)
        .values("event_id")
        .annotate(n=Count("tweet"), authors=Count("author_id", distinct=True),
                  anonymous=Count("tweet", filter=Q(author_id__isnull=True)))
    )
    for r in rows:
        out[r["event_id"]] = (r["n"], r["authors"] + r["anonymous"])
    return out


def _add_buckets(*, member_of: dict[int, int], posts: dict[int, PostRow], known: set[tuple[int, int]]) -> None:
    """Posts and new authors per event and time bucket; `known`: authors seen in the event before
    this batch (_known_authors), who do not count as new."""
    by_event: dict[int, list[PostRow]] = defaultdict(list)
    for pid, eid in member_of.items():
        by_event[eid].append(posts[pid])
    if not by_event:
        return
    cells: dict[tuple[int, dt.datetime], list[int]] = {}
    # A batch spans few buckets: one datetime per bucket, not one per post.
    starts: dict[float, dt.datetime] = {}
    for eid, items in by_event.items():
        seen: set = set()
        for t in sorted(items, key=lambda t: (t.created_at, t.pk)):
            ts = bucket_start(_ts(t.created_at), TREND)
            start = starts.get(ts)
            if start is None:
                start = starts[ts] = _dt(ts)
            cell = cells.setdefault((eid, start), [0, 0])
            cell[0] += 1
            key = _author_key(t.author_id, t.pk)
            if key not in seen and (t.author_id is None or (eid, t.author_id) not in known):
                cell[1] += 1
            seen.add(key)
    if connection.vendor == "postgresql":
        # Insert new buckets and add to existing ones in one statement. Adding (rather than
        # writing read-then-computed totals) is also right if another writer touched a bucket.
        insert_or_add(EventBucket, ("event", "start"), ("tweets", "new_authors"),
                      [(eid, start, n, authors_new) for (eid, start), (n, authors_new) in cells.items()])
        return
    existing = {
        (b.event_id, b.start): b
        for b in EventBucket.objects.filter(event_id__in=list(by_event), start__in={s for _, s in cells})
    }
    new_rows = []
    changed = []
    for (eid, start), (n, authors_new) in cells.items():
        if (eid, start) in existing:
            # Absolute values are safe: buckets are written only by the shard's single writer.
            bucket = existing[(eid, start)]
            changed.append((bucket.pk, bucket.tweets + n, bucket.new_authors + authors_new))
        else:
            new_rows.append(EventBucket(event_id=eid, start=start, tweets=n, new_authors=authors_new))
    update_rows(EventBucket, ("tweets", "new_authors"), changed)
    EventBucket.objects.bulk_create(new_rows, batch_size=1000)


def _fold_event(*, source: Event, target_id: int, details: dict, now: dt.datetime) -> None:
    EventMembership.objects.filter(event=source).update(event_id=target_id)
    for b in EventBucket.objects.filter(event=source):
        updated = EventBucket.objects.filter(event_id=target_id, start=b.start).update(
            tweets=F("tweets") + b.tweets, new_authors=F("new_authors") + b.new_authors
        )
        if not updated:
            EventBucket.objects.create(event_id=target_id, start=b.start, tweets=b.tweets, new_authors=b.new_authors)
    EventBucket.objects.filter(event=source).delete()
    source.state = EventState.MERGED
    source.merged_into_id = target_id
    source.version = (source.version or 0) + 1
    source.save(update_fields=["state", "merged_into", "version", "updated_at"])
    EventLink.objects.create(source=source, target_id=target_id, kind=EventLink.Kind.MERGE, details=details)
    EventSnapshot.objects.create(
        event=source, taken_at=now, state=EventState.MERGED, title=source.title, tweet_count=source.tweet_count,
        author_count=source.author_count, trend_score=source.trend_score, keywords=source.keywords,
        note=f"merged into event {target_id}",
    )


# ----------------------------------------------------------------------------------------- score
def events_score(*, now: dt.datetime | None = None) -> int:
    """Burst of each live event against its own expected volume, by unique authors (see
    trends/detection/scoring.py and docs/trend-scoring.md). Idempotent for a given `now`."""
    now = now or timezone.now()
    now_ts = _ts(now)
    min_authors = settings.TREND_MIN_UNIQUE_AUTHORS
    horizon = _dt(now_ts - TREND.baseline_horizon_buckets * TREND.bucket_seconds)
    events = list(
        Event.objects.filter(state__in=LIVE, author_count__gte=min_authors).only(
            "id", "trend_score", "peak_score", "peak_at", "last_seen_at", "health", "surprise", "velocity",
            "acceleration",
        )
    )
    if not events:
        return 0
    ids = [e.pk for e in events]
    series: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for eid, start, n in EventBucket.objects.filter(event_id__in=ids, start__gte=horizon).values_list(
        "event_id", "start", "new_authors"
    ):
        series[eid][0].append(_ts(start))
        series[eid][1].append(float(n))
    window_start = _dt(bucket_start(now_ts, TREND) - (TREND.window_buckets - 1) * TREND.bucket_seconds)
    window = _window_posts(ids=[e.pk for e in events if e.last_seen_at >= window_start], since=window_start, now=now)
    coordinated_posts: list[int] = []
    for event in events:
        starts, counts = series.get(event.pk, ([], []))
        posts = window.get(event.pk, [])
        flagged = coordinated_authors(posts, TREND) if posts else set()
        if flagged:
            # Coordinated accounts do not count: scale the window's new authors by the clean share.
            keep = len({wp.author for wp in posts} - flagged) / max(1, len({wp.author for wp in posts}))
            cutoff = _ts(window_start)
            counts = [n * keep if s >= cutoff else n for s, n in zip(starts, counts, strict=True)]
        if flagged:
            coordinated_posts.extend(wp.post_id for wp in posts if wp.author in flagged and wp.post_id)
        stats = trend_stats(starts=starts, counts=counts, now=now_ts, params=TREND)
        share_bad = (sum(1 for wp in posts if wp.author in flagged) / len(posts)) if posts else 0.0
        event.health = round(max(0.0, 1.0 - share_bad), 4)
        peak_ts = _ts(event.peak_at) if event.peak_at else None
        held = decayed_peak(peak=event.peak_score, peak_ts=peak_ts, now=now_ts, params=TREND) if peak_ts else 0.0
        if stats.score >= held and stats.score > 0:
            event.peak_score = stats.score
            event.peak_at = now
            held = stats.score
        event.trend_score = round(max(stats.score, held), 4)
        event.surprise = round(stats.surprise, 4)
        event.velocity = round(stats.velocity, 4)
        event.acceleration = round(stats.acceleration, 4)
    Event.objects.bulk_update(
        events, ["trend_score", "peak_score", "peak_at", "surprise", "velocity", "acceleration", "health"],
        batch_size=500,
    )
    if coordinated_posts:
        # Low health keeps these posts out of representative posts (and tells ranking).
        Tweet.objects.filter(pk__in=coordinated_posts, health__gt=COORDINATED_HEALTH).update(health=COORDINATED_HEALTH)
    return len(events)


def _window_posts(*, ids: list[int], since: dt.datetime, now: dt.datetime) -> dict[int, list[WindowPost]]:
    out: dict[int, list[WindowPost]] = defaultdict(list)
    if not ids:
        return out
    rows = EventMembership.objects.filter(event_id__in=ids, tweet_created_at__gte=since).values_list(
        "event_id", "tweet_id", "author_id", "tweet__simhash", "tweet__author__trust_score",
        "tweet__author__date_joined", "tweet__author__verified",
    )
    for eid, tid, author_id, simhash, trust, joined, verified in rows.iterator(chunk_size=2000):
        age = (now - joined).total_seconds() / 86400 if joined else None
        out[eid].append(
            WindowPost(
                author=_author_key(author_id, tid),
                simhash=simhash,
                trust=None if author_id is None or verified else trust,
                account_age_days=age,
                post_id=tid,
            )
        )
    return out


# ----------------------------------------------------------------------------------------- lifecycle
def events_update_lifecycle(*, now: dt.datetime | None = None) -> int:
    """Move events emerging -> trending -> fading -> archived (trends/detection/lifecycle.py).
    Each change is a conditional update on the state it was computed from, so it is idempotent and
    safe beside the clusterer and curators; a snapshot records every change (the story so far)."""
    now = now or timezone.now()
    now_ts = _ts(now)
    params = cluster_params()
    life = lifecycle_params()
    changed = 0
    events = Event.objects.filter(state__in=LIVE, author_count__gte=life.min_authors).only(
        "id", "state", "author_count", "tweet_count", "first_seen_at", "last_seen_at", "surprise", "trend_score",
        "peak_score", "health", "velocity", "title", "keywords", "trending_since",
    )
    hours = TREND.window_buckets * TREND.bucket_seconds / 3600.0
    for event in events.iterator(chunk_size=1000):
        n = max(1, event.tweet_count)
        gap = (_ts(event.last_seen_at) - _ts(event.first_seen_at)) / (n - 1) if n > 1 else 0.0
        tau = time_scale(gap=gap, size=event.tweet_count, params=params)
        state = lifecycle.next_state(
            state=event.state,
            author_count=event.author_count,
            window_authors=event.velocity * hours,
            surprise=event.surprise,
            score=event.trend_score,
            peak_score=event.peak_score,
            health=event.health,
            silence_seconds=max(0.0, now_ts - _ts(event.last_seen_at)),
            tau_seconds=tau,
            params=life,
        )
        if state == event.state:
            continue
        extra = {}
        if state == EventState.TRENDING and not event.trending_since:
            extra["trending_since"] = now
        done = Event.objects.filter(pk=event.pk, state=event.state).update(
            state=state, version=F("version") + 1, **extra
        )
        if done:
            changed += 1
            EventSnapshot.objects.create(
                event_id=event.pk, taken_at=now, state=state, title=event.title, tweet_count=event.tweet_count,
                author_count=event.author_count, trend_score=event.trend_score, keywords=event.keywords,
                note=f"{event.state} -> {state}",
            )
    # Candidates that never gathered enough authors are forgotten; their posts stay unassigned.
    stale = now - dt.timedelta(seconds=life.archive_after_max)
    Event.objects.filter(
        state=EventState.EMERGING, author_count__lt=life.min_authors, last_seen_at__lt=stale,
        pinned_slot__isnull=True, hidden=False, title_locked=False,
    ).delete()
    return changed


# ----------------------------------------------------------------------------------------- describe
def events_describe(*, event_ids: list[int] | None = None, sample: int = 300, limit: int = 200) -> int:
    """Title, keywords, context line, category and representative posts of live, visible events.
    Locked fields are left alone; blocked or excluded posts are never chosen as representatives."""
    # Hidden events are a curator's call: the pipeline leaves their public face alone.
    qs = Event.objects.filter(state__in=LIVE, author_count__gte=settings.TREND_MIN_UNIQUE_AUTHORS, hidden=False)
    if event_ids is not None:
        qs = qs.filter(pk__in=event_ids)
    events = list(qs.order_by("-trend_score", "-last_seen_at")[:limit])
    if not events:
        return 0
    from trends.curation.selectors import blockrules_match

    members: dict[int, list[Tweet]] = {}
    for event in events:
        members[event.pk] = list(
            Tweet.objects.filter(membership__event=event, is_deleted=False)
            .exclude(pipeline_state=PipelineState.EXCLUDED)
            .select_related("author")
            .only("id", "text", "embedding", "author_id", "health", "hashtags", "domains", "location",
                  "author__location", "author__trust_score")
            .order_by("-created_at")[:sample]
        )
    ranked = ctfidf({e.pk: class_terms(t.text for t in members[e.pk]) for e in events})
    embedder = get_embedder()
    categorizer = categorizer_for(embedder.name, embedder.encode)
    described = 0
    for event in events:
        tweets = members[event.pk]
        if not tweets:
            continue
        surface = surface_forms(t.text for t in tweets)
        naming = name_event(ranked.get(event.pk, []), surface=surface)
        centroid = unpack(event.centroid)
        if not event.category_locked and centroid is not None and centroid.shape[0] == categorizer.prototypes.shape[1]:
            event.category = categorizer.classify(centroid)
        places = Counter(
            (t.location or (t.author.location if t.author else "")).strip() for t in tweets
        )
        places.pop("", None)
        top_name = naming.entities[0] if naming.entities else ""
        place = places.most_common(1)[0][0] if places else surface.get(top_name, top_name.title())
        event.location = place[:80]
        event.keywords = naming.keywords
        if not event.title_locked:
            event.title = naming.title
        if not event.summary_locked:
            since = event.trending_since or event.first_seen_at
            event.summary = context_line(
                category_label=CATEGORY_LABELS.get(event.category, "Other"),
                place=event.location,
                since=since.strftime("%d %b %H:%M UTC") if since else "",
            )
        if not event.representatives_locked:
            usable = [
                t for t in tweets
                if t.embedding and not blockrules_match(text=t.text, hashtags=t.hashtags or [],
                                                        author_id=t.author_id, domains=t.domains or [])
            ]
            if usable and centroid is not None:
                vecs = unpack_many([t.embedding for t in usable])
                if vecs.shape[1] == centroid.shape[0]:
                    picks = representatives(
                        vecs, centroid=centroid,
                        authors=[_author_key(t.author_id, t.pk) for t in usable],
                        health=[min(t.health, 1.0) for t in usable],
                    )
                    event.representative_tweet_ids = [usable[i].pk for i in picks]
        fields = ["title", "summary", "category", "keywords", "location", "representative_tweet_ids"]
        # Optimistic concurrency: a curator's edit since we read the row wins; we retry next run.
        if Event.objects.filter(pk=event.pk, version=event.version).update(
            version=F("version") + 1, **{f: getattr(event, f) for f in fields}
        ):
            described += 1
    return described
