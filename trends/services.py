"""Write-side business logic for posts and engagement. Views, commands, tasks and the API call these."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from trends import text as textlib
from trends.models import Engagement, Event, PipelineState, Tweet
from trends.pgcopy import insert_new_rows

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 560
# Twitter's epoch: generated ids sort by time alongside imported real tweet ids.
SNOWFLAKE_EPOCH_MS = 1288834974657
EARLIEST_POST = dt.datetime(2006, 3, 21, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
MAX_TWEET_ID = 2**63 - 1
LANG_MAX = 8


@dataclass(frozen=True)
class TweetInput:
    """A validated post, ready to store."""

    text: str
    created_at: dt.datetime
    author_id: int | None = None
    tweet_id: int | None = None
    lang: str = ""
    location: str = ""
    source: str = "api"
    reply_to_id: int | None = None
    retweet_of_id: int | None = None
    quote_of_id: int | None = None
    like_count: int = 0
    retweet_count: int = 0
    reply_count: int = 0
    quote_count: int = 0


@dataclass
class IngestResult:
    created_ids: list[int] = field(default_factory=list)
    existing_ids: list[int] = field(default_factory=list)


def snowflake_id(*, at: dt.datetime | None = None) -> int:
    millis = int((at.timestamp() if at else time.time()) * 1000) - SNOWFLAKE_EPOCH_MS
    return (max(millis, 0) << 22) | secrets.randbits(22)


def shard_for(*, lang: str) -> int:
    """Posts are sharded by language: events rarely cross languages, so each shard's clusterer owns whole events."""
    shards = max(1, int(settings.CLUSTER_SHARDS))
    if shards == 1:
        return 0
    return zlib.crc32((lang or "und").encode()) % shards


def _clean_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError({"text": "Must be a string."})
    if "\x00" in value:
        raise ValidationError({"text": "Must not contain NUL characters."})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError({"text": "Must be valid Unicode text (no lone surrogates)."}) from exc
    stripped = value.strip()
    if not stripped:
        raise ValidationError({"text": "Must not be empty or whitespace only."})
    if len(stripped) > MAX_TEXT_LENGTH:
        raise ValidationError({"text": f"Must be at most {MAX_TEXT_LENGTH} characters (got {len(stripped)})."})
    return stripped


def _clean_datetime(value: Any, *, field_name: str, now: dt.datetime) -> dt.datetime:
    if value is None or value == "":
        return now
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError as exc:
            raise ValidationError({field_name: f"Impossible date or time: {value!r}."}) from exc
        if parsed is None:
            raise ValidationError({field_name: f"Not an ISO 8601 timestamp: {value!r}."})
    else:
        raise ValidationError({field_name: "Must be an ISO 8601 timestamp string."})
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed < EARLIEST_POST:
        raise ValidationError({field_name: "Is before the first post ever made (2006-03-21)."})
    if parsed > now + FUTURE_TOLERANCE:
        raise ValidationError({field_name: "Is in the future."})
    return parsed


def _clean_optional_id(value: Any, *, field_name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError({field_name: "Must be a positive integer id."})
    if isinstance(value, str):
        # isascii: str.isdigit() also accepts digits like "²" that int() rejects.
        if not (value.strip().isascii() and value.strip().isdigit()):
            raise ValidationError({field_name: "Must be a positive integer id."})
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0 or value > MAX_TWEET_ID:
        raise ValidationError({field_name: "Must be a positive integer id."})
    return value


def _clean_count(value: Any, *, field_name: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**31 - 1:
        raise ValidationError({field_name: "Must be a non-negative integer."})
    return value


def _clean_short(value: Any, *, field_name: str, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field_name: "Must be a string."})
    value = value.strip()
    if "\x00" in value or len(value) > max_length:
        raise ValidationError({field_name: f"Must be at most {max_length} characters without NUL."})
    return value


def tweet_validate(*, data: Mapping[str, Any], now: dt.datetime | None = None) -> TweetInput:
    """Validate one post; raises ValidationError with field-level messages. Pure: touches no database."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def run(name: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
            return None

    text = run("text", _clean_text, data.get("text"))
    created_at = run("created_at", _clean_datetime, data.get("created_at"), field_name="created_at", now=now)
    tweet_id = run("id", _clean_optional_id, data.get("id"), field_name="id")
    reply_to_id = run("reply_to_id", _clean_optional_id, data.get("reply_to_id"), field_name="reply_to_id")
    retweet_of_id = run("retweet_of_id", _clean_optional_id, data.get("retweet_of_id"), field_name="retweet_of_id")
    quote_of_id = run("quote_of_id", _clean_optional_id, data.get("quote_of_id"), field_name="quote_of_id")
    lang = run("lang", _clean_short, data.get("lang"), field_name="lang", max_length=LANG_MAX)
    location = run("location", _clean_short, data.get("location"), field_name="location", max_length=80)
    counts = {
        name: run(name, _clean_count, data.get(name), field_name=name)
        for name in ("like_count", "retweet_count", "reply_count", "quote_count")
    }
    if errors:
        raise ValidationError(errors)
    return TweetInput(
        text=text,
        created_at=created_at,
        author_id=data.get("author_id"),
        tweet_id=tweet_id,
        lang=(lang or "").lower(),
        location=location or "",
        source=str(data.get("source") or "api")[:16],
        reply_to_id=reply_to_id,
        retweet_of_id=retweet_of_id,
        quote_of_id=quote_of_id,
        **counts,
    )


def _tweet_values(item: TweetInput, *, now: dt.datetime) -> dict[str, Any]:
    urls = textlib.extract_urls(item.text)
    return {
        "id": item.tweet_id or snowflake_id(at=item.created_at),
        "author_id": item.author_id,
        "text": item.text,
        "lang": item.lang,
        "location": item.location,
        "created_at": item.created_at,
        "ingested_at": now,
        "source": item.source,
        "reply_to_id": item.reply_to_id,
        "retweet_of_id": item.retweet_of_id,
        "quote_of_id": item.quote_of_id,
        "hashtags": textlib.extract_hashtags(item.text),
        "mentions": textlib.extract_mentions(item.text),
        "urls": urls,
        "domains": textlib.extract_domains(urls),
        "like_count": item.like_count,
        "retweet_count": item.retweet_count,
        "reply_count": item.reply_count,
        "quote_count": item.quote_count,
        "simhash": textlib.simhash64(item.text),
        "shard": shard_for(lang=item.lang),
        "pipeline_state": PipelineState.NEW,
        "enqueued_at": now,
    }


def _embed_on_ingest(rows: list[dict[str, Any]], *, now: dt.datetime) -> bool:
    """With EMBED_ON_INGEST, give the rows their vectors before they are written (each post is then
    written once, already embedded). False when off or when the model fails: the posts then take the
    embedding workers' path, as without the setting; nothing accepted is lost."""
    if not settings.EMBED_ON_INGEST or not rows:
        return False
    from trends.detection.features import clean_for_embedding
    from trends.embedding import encode_distinct, get_embedder, pack

    try:
        embedder = get_embedder()
        vectors = encode_distinct(
            embedder, [clean_for_embedding(row["text"]) for row in rows], memo_size=settings.EMBEDDING_MEMO_SIZE
        )
    except Exception:
        logger.exception("embedding at ingest failed; %s posts go to the embedding workers", len(rows))
        return False
    for row, vector in zip(rows, vectors, strict=True):
        row.update(embedding=pack(vector), embedding_model=embedder.name, pipeline_state=PipelineState.EMBEDDED,
                   embedded_at=now)
    return True


def pipeline_enqueue_clustering(*, shards: set[int]) -> None:
    """Queue the shards' clusterers after the transaction commits (posts embedded at ingest)."""
    if not shards:
        return
    from trends import tasks

    # robust: as for embedding; the sweeper re-enqueues embedded posts that wait too long.
    transaction.on_commit(lambda: tasks.cluster_enqueue(shards=shards), robust=True)


def pipeline_enqueue(*, rows: list[dict[str, Any]], embedded: bool) -> None:
    """The next stage for freshly stored rows: their shards' clusterers, or the embedding workers."""
    if embedded:
        pipeline_enqueue_clustering(shards={row["shard"] for row in rows})
    else:
        pipeline_enqueue_embedding(tweet_ids=[row["id"] for row in rows])


def pipeline_enqueue_embedding(*, tweet_ids: list[int]) -> None:
    """Queue embedding after the transaction commits, so a worker never sees an id that is not stored yet."""
    if not tweet_ids:
        return
    from trends import tasks

    batch = settings.EMBEDDING_TASK_SIZE
    chunks = [tweet_ids[i : i + batch] for i in range(0, len(tweet_ids), batch)]

    def send() -> None:
        for chunk in chunks:
            tasks.embed_tweets.delay(chunk)

    # robust: a broker outage must not turn a committed post into a 500 (a client retry would then
    # duplicate it); the sweeper re-enqueues whatever this send lost.
    transaction.on_commit(send, robust=True)


def tweet_create(*, author, data: Mapping[str, Any], source: str = "api") -> Tweet:
    """Validate and store one post by `author`, then queue it for the pipeline. Raises ValidationError."""
    item = tweet_validate(data={**data, "author_id": author.pk if author else None, "source": source})
    if item.tweet_id is not None and Tweet.objects.filter(pk=item.tweet_id).exists():
        raise ValidationError({"id": "A post with this id already exists."})
    for _attempt in range(3):
        now = timezone.now()
        row = _tweet_values(item, now=now)
        embedded = _embed_on_ingest([row], now=now)
        tweet = Tweet(**row)
        try:
            with transaction.atomic():
                tweet.save(force_insert=True)
                if author is not None:
                    # _meta.model, not type(): request.user is a lazy wrapper around the real class.
                    author._meta.model.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + 1)
                pipeline_enqueue(rows=[row], embedded=embedded)
            return tweet
        except IntegrityError:
            if item.tweet_id is not None:
                raise ValidationError({"id": "A post with this id already exists."}) from None
    raise ValidationError({"id": "Could not allocate a post id; retry."})


def tweets_ingest(*, items: Iterable[TweetInput], batch_size: int = 1000) -> IngestResult:
    """Store validated posts in bulk, idempotent on tweet id (existing ids are left untouched)."""
    result = IngestResult()
    pending: list[TweetInput] = []

    def flush() -> None:
        if not pending:
            return
        now = timezone.now()
        rows = [_tweet_values(item, now=now) for item in pending]
        ids = [row["id"] for row in rows]
        embedded = _embed_on_ingest(rows, now=now)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # COPY + INSERT ... ON CONFLICT DO NOTHING: idempotent on id, and the fastest write path.
                fresh_ids = insert_new_rows(Tweet, rows)
            else:
                existing = set(Tweet.objects.filter(pk__in=ids).values_list("pk", flat=True))
                fresh = [Tweet(**row) for row in rows if row["id"] not in existing]
                Tweet.objects.bulk_create(fresh, batch_size=batch_size, ignore_conflicts=True)
                fresh_ids = [t.id for t in fresh]
            fresh_set = set(fresh_ids)
            pipeline_enqueue(rows=[row for row in rows if row["id"] in fresh_set], embedded=embedded)
        result.created_ids.extend(fresh_ids)
        result.existing_ids.extend(i for i in ids if i not in fresh_set)
        pending.clear()

    for item in items:
        pending.append(item)
        if len(pending) >= batch_size:
            flush()
    flush()
    return result


# --- engagement -----------------------------------------------------------------------------------

ENGAGEMENT_KINDS = {choice for choice, _ in Engagement.Kind.choices}
# Reports hurt an event's health far more than a dismissal (Twitter weighs report at -369 vs like 0.5).
REPORT_HEALTH_PENALTY = 0.05
MAX_ENGAGEMENT_BATCH = 500


def engagement_log_batch(*, user, items: list[Mapping[str, Any]], now: dt.datetime | None = None) -> list[Engagement]:
    """Log impressions/clicks/dismissals in one bulk insert and update event aggregates.

    Every item is validated before anything is written: a bad item rejects the whole batch.
    """
    now = now or timezone.now()
    if len(items) > MAX_ENGAGEMENT_BATCH:
        raise ValidationError({"items": f"At most {MAX_ENGAGEMENT_BATCH} items per batch."})
    rows: list[Engagement] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.setdefault(f"items[{index}]", []).append("Must be an object.")
            continue
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in ENGAGEMENT_KINDS:
            errors.setdefault(f"items[{index}].kind", []).append(
                f"Must be one of {', '.join(sorted(ENGAGEMENT_KINDS))}."
            )
            continue
        event_id = item.get("event_id")
        tweet_id = item.get("tweet_id")
        bad_id = False
        for name, value in (("event_id", event_id), ("tweet_id", tweet_id)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TWEET_ID):
                errors.setdefault(f"items[{index}].{name}", []).append("Must be a positive integer id.")
                bad_id = True
        if bad_id:
            continue
        if event_id is None and tweet_id is None:
            errors.setdefault(f"items[{index}]", []).append("Needs event_id or tweet_id.")
            continue
        position = item.get("position")
        if position is not None and (not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < 1000):
            errors.setdefault(f"items[{index}].position", []).append("Must be an integer 0-999.")
            continue
        rows.append(
            Engagement(
                user=user,
                event_id=event_id,
                tweet_id=tweet_id,
                kind=kind,
                created_at=now,
                surface=str(item.get("surface") or "")[:16],
                position=position,
                variant=str(item.get("variant") or "")[:64],
            )
        )
    event_ids = {row.event_id for row in rows if row.event_id is not None}
    known_events = set(Event.objects.filter(pk__in=event_ids).values_list("pk", flat=True)) if event_ids else set()
    for index, row in enumerate(rows):
        if row.event_id is not None and row.event_id not in known_events:
            errors.setdefault(f"items[{index}].event_id", []).append("Unknown event.")
    tweet_ids = {row.tweet_id for row in rows if row.tweet_id is not None}
    known_tweets = set(Tweet.objects.filter(pk__in=tweet_ids).values_list("pk", flat=True)) if tweet_ids else set()
    for index, row in enumerate(rows):
        if row.tweet_id is not None and row.tweet_id not in known_tweets:
            errors.setdefault(f"items[{index}].tweet_id", []).append("Unknown post.")
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        Engagement.objects.bulk_create(rows)
        _event_aggregates_apply(rows)
    return rows


def _event_aggregates_apply(rows: list[Engagement]) -> None:
    per_event: dict[int, dict[str, int]] = {}
    for row in rows:
        if row.event_id is None:
            continue
        counts = per_event.setdefault(row.event_id, {})
        counts[row.kind] = counts.get(row.kind, 0) + 1
    for event_id, counts in per_event.items():
        updates: dict[str, Any] = {}
        if counts.get("impression"):
            updates["impressions"] = F("impressions") + counts["impression"]
        if counts.get("click"):
            updates["clicks"] = F("clicks") + counts["click"]
        if counts.get("dismiss"):
            updates["dismissals"] = F("dismissals") + counts["dismiss"]
        if counts.get("report"):
            updates["spam_reports"] = F("spam_reports") + counts["report"]
        if updates:
            Event.objects.filter(pk=event_id).update(**updates)
        if counts.get("report"):
            event = Event.objects.only("health").get(pk=event_id)
            penalty = REPORT_HEALTH_PENALTY * counts["report"]
            Event.objects.filter(pk=event_id).update(health=max(0.0, event.health - penalty))


def event_dismiss(*, user, event: Event, surface: str = "") -> Engagement:
    """"Not interested": the event never shows in this user's feed again."""
    return engagement_log_batch(user=user, items=[{"kind": "dismiss", "event_id": event.pk, "surface": surface}])[0]


def event_report(*, user, event: Event, surface: str = "") -> Engagement:
    """"Spam or abusive": hidden for this user at once, and counted against the event's health."""
    already = Engagement.objects.filter(user=user, event=event, kind=Engagement.Kind.REPORT).exists()
    if already:
        # One account reports once: repeated reports cannot sink an event.
        return engagement_log_batch(user=user, items=[{"kind": "dismiss", "event_id": event.pk, "surface": surface}])[0]
    return engagement_log_batch(user=user, items=[{"kind": "report", "event_id": event.pk, "surface": surface}])[0]
