"""Write side of curation. Every function here is what a curator can do, from a page or the API.

Rules each function keeps:
- the actor must hold the permission (checked here too, so an endpoint that forgets cannot leak it);
- event rows are locked (`select_for_update`, in id order, so two curators or a curator and a
  worker never deadlock) inside one transaction, and every write bumps `Event.version`;
- every change writes one AuditLogEntry per target with the fields before and after.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from trends.curation import permissions as perms
from trends.curation.regex_safety import regex_validate
from trends.curation.selectors import BLOCKRULES_VERSION_KEY
from trends.embedding import pack, unpack, unpack_many
from trends.models import (
    AuditLogEntry,
    BlockRule,
    Category,
    Event,
    EventBucket,
    EventLink,
    EventMembership,
    EventSnapshot,
    EventState,
    ReviewStatus,
    Tweet,
)
from trends.pages.services import pages_invalidate_all
from users.models import HANDLE_VALIDATOR, User

logger = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 120
MAX_SUMMARY_LENGTH = 1000
MAX_REASON_LENGTH = 200
MAX_REPRESENTATIVES = 10
MAX_PIN_DAYS = 30
MAX_TERM_LENGTH = 100
DEFAULT_BUCKET_SECONDS = 300
LIVE_STATES = (EventState.EMERGING, EventState.TRENDING, EventState.FADING)
DOMAIN_RE = re.compile(r"^(?=.{3,200}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
HASHTAG_RE = re.compile(r"^\w{1,100}$")

REVIEW_FIELDS = ("review_status", "reviewed_by_id", "reviewed_at")
PIN_FIELDS = ("pinned_slot", "pinned_until")
HIDE_FIELDS = ("hidden", "hidden_reason")


class EditConflict(Exception):
    """The event changed after the form was rendered; the edit was not applied."""

    def __init__(self, event: Event, expected_version: int) -> None:
        self.event = event
        self.expected_version = expected_version
        super().__init__(
            f"Event #{event.pk} changed meanwhile (you saw version {expected_version}, it is now "
            f"version {event.version}). Nothing was saved; check the current values and try again."
        )


# --- helpers --------------------------------------------------------------------------------------

_EVENT_FIELDS = {f.attname: f for f in Event._meta.concrete_fields}


def _require(actor, perm: str) -> None:
    if not perms.user_can(actor, perm):
        raise PermissionDenied(f"{getattr(actor, 'username', 'anonymous')} lacks {perm}")


def _actor_name(actor) -> str:
    return getattr(actor, "username", None) or "system"


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _snapshot(obj, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _json_value(getattr(obj, name)) for name in fields}


def _restore_event(event: Event, values: Mapping[str, Any]) -> list[str]:
    for name, value in values.items():
        field = _EVENT_FIELDS[name]
        setattr(event, name, None if value is None else field.to_python(value))
    return list(values)


def _audit(
    *, actor, action: str, target, before: Mapping[str, Any], after: Mapping[str, Any], reason: str = ""
) -> AuditLogEntry:
    # Every curation action is audited, so this is the one place that makes stored pages stale.
    pages_invalidate_all()
    return AuditLogEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.model_name if hasattr(target, "_meta") else str(target[0]),
        target_id=str(target.pk if hasattr(target, "pk") else target[1]),
        before=dict(before),
        after=dict(after),
        reason=(reason or "")[:MAX_REASON_LENGTH],
    )


def _lock_events(ids: Iterable[int]) -> dict[int, Event]:
    """Lock event rows in id order for the rest of the transaction; returns them freshly read."""
    ids = sorted({int(i) for i in ids})
    if not connection.features.has_select_for_update:
        # SQLite has no row locks: a write as the first statement takes the database write lock
        # before anything is read, so no other writer can slip in between our read and our write.
        Event.objects.filter(pk__in=ids).update(version=F("version"))
    events = {e.pk: e for e in Event.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    missing = set(ids) - set(events)
    if missing:
        raise ValidationError(f"No such event: {', '.join(map(str, sorted(missing)))}")
    return events


_INVALIDATION_HOOKS = (
    # (module, function): the ranking's candidate pool, then the site's cached feeds.
    ("trends.ranking.selectors", "ranking_caches_invalidate"),
    ("trends.ranking", "ranking_caches_invalidate"),
    ("trends.site", "feeds_invalidate_all"),
)


def _public_feeds_changed() -> None:
    """Ranking and feeds cache what the public sees for a few seconds; an approval or a takedown must
    not wait for that. Calls each cache's invalidation where the module offers one."""
    import importlib

    called = set()
    for module_name, function_name in _INVALIDATION_HOOKS:
        try:
            fn = getattr(importlib.import_module(module_name), function_name, None)
        except ImportError:
            continue
        if callable(fn) and fn not in called:
            called.add(fn)
            try:
                fn()
            except Exception:  # noqa: BLE001 - the curation change is committed; a cache will expire anyway
                logger.warning("cache invalidation %s.%s failed", module_name, function_name, exc_info=True)


def _save(event: Event, fields: Iterable[str]) -> None:
    event.version += 1
    event.save(update_fields=sorted({*fields, "version", "updated_at"}))
    transaction.on_commit(_public_feeds_changed)


def _check_version(event: Event, expected_version: int | None, seen_values: Mapping[str, Any] | None) -> None:
    """Refuse a stale edit. A version bump that left the edited fields as the editor saw them (the
    pipeline adding posts to a hot event bumps it every few seconds) is not a conflict."""
    if expected_version is None or event.version == int(expected_version):
        return
    if seen_values is not None and all(
        str(_json_value(getattr(event, name)) or "") == str(value or "") for name, value in seen_values.items()
    ):
        return
    raise EditConflict(event, int(expected_version))


def _snapshot_event(event: Event, note: str, now: dt.datetime) -> None:
    EventSnapshot.objects.create(
        event=event,
        taken_at=now,
        state=event.state,
        title=event.title,
        tweet_count=event.tweet_count,
        author_count=event.author_count,
        trend_score=event.trend_score,
        keywords=event.keywords,
        note=note[:200],
    )


def _event_summary(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "title": event.title,
        "state": event.state,
        "tweet_count": event.tweet_count,
        "author_count": event.author_count,
        "version": event.version,
    }


def _event_edit(
    *,
    actor,
    event: Event | int,
    action: str,
    changes: Mapping[str, Any],
    perm: str = perms.PERM_CURATE,
    expected_version: int | None = None,
    seen_values: Mapping[str, Any] | None = None,
    reason: str = "",
    validate=None,
) -> Event:
    _require(actor, perm)
    event_id = event.pk if isinstance(event, Event) else int(event)
    with transaction.atomic():
        locked = _lock_events([event_id])[event_id]
        _check_version(locked, expected_version, seen_values)
        if locked.state == EventState.MERGED:
            raise ValidationError(f"Event #{event_id} was merged into #{locked.merged_into_id}; edit that one.")
        if validate:
            validate(locked)
        before = _snapshot(locked, changes)
        for name, value in changes.items():
            setattr(locked, name, value)
        after = _snapshot(locked, changes)
        if before == after:
            return locked
        _save(locked, changes)
        _audit(actor=actor, action=action, target=locked, before=before, after=after, reason=reason)
    return locked


# --- review ---------------------------------------------------------------------------------------


def _review_decide(*, actor, event_ids: Iterable[int], status: str, action: str, reason: str) -> list[Event]:
    _require(actor, perms.PERM_REVIEW)
    event_ids = list(event_ids)
    if not event_ids:
        raise ValidationError("Choose at least one event.")
    now = timezone.now()
    changed = []
    with transaction.atomic():
        for event in _lock_events(event_ids).values():
            if event.state == EventState.MERGED or event.review_status == status:
                continue
            before = _snapshot(event, REVIEW_FIELDS)
            event.review_status = status
            event.reviewed_by = actor
            event.reviewed_at = now
            _save(event, REVIEW_FIELDS)
            _audit(actor=actor, action=action, target=event, before=before, after=_snapshot(event, REVIEW_FIELDS), reason=reason)
            changed.append(event)
    return changed


def event_approve(*, actor, event_ids: Iterable[int], reason: str = "") -> list[Event]:
    """Approve events (one or many): they become public. Returns the events whose status changed."""
    return _review_decide(actor=actor, event_ids=event_ids, status=ReviewStatus.APPROVED, action="event.approve", reason=reason)


def event_reject(*, actor, event_ids: Iterable[int], reason: str = "") -> list[Event]:
    """Reject events: they are never shown publicly (also a takedown for an already public one)."""
    return _review_decide(actor=actor, event_ids=event_ids, status=ReviewStatus.REJECTED, action="event.reject", reason=reason)


# --- editing --------------------------------------------------------------------------------------


def event_rename(
    *, actor, event: Event | int, title: str, expected_version: int | None = None,
    seen_values: Mapping[str, Any] | None = None, reason: str = "",
) -> Event:
    """Set the title and lock it, so the naming task never overwrites a curator's words."""
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError("A title cannot be empty.")
    if len(title) > MAX_TITLE_LENGTH:
        raise ValidationError(f"Keep titles within {MAX_TITLE_LENGTH} characters.")
    return _event_edit(
        actor=actor, event=event, action="event.rename", changes={"title": title, "title_locked": True},
        expected_version=expected_version, seen_values=seen_values, reason=reason,
    )


def event_set_summary(
    *, actor, event: Event | int, summary: str, expected_version: int | None = None,
    seen_values: Mapping[str, Any] | None = None, reason: str = "",
) -> Event:
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise ValidationError(f"Keep summaries within {MAX_SUMMARY_LENGTH} characters.")
    # An empty summary hands the field back to the pipeline.
    return _event_edit(
        actor=actor, event=event, action="event.summary",
        changes={"summary": summary, "summary_locked": bool(summary)},
        expected_version=expected_version, seen_values=seen_values, reason=reason,
    )


def event_set_category(
    *, actor, event: Event | int, category: str, expected_version: int | None = None,
    seen_values: Mapping[str, Any] | None = None, reason: str = "",
) -> Event:
    if category not in Category.values:
        raise ValidationError(f"Unknown category {category!r}.")
    return _event_edit(
        actor=actor, event=event, action="event.category", changes={"category": category, "category_locked": True},
        expected_version=expected_version, seen_values=seen_values, reason=reason,
    )


def event_set_representatives(
    *, actor, event: Event | int, tweet_ids: Sequence[int], expected_version: int | None = None, reason: str = "",
) -> Event:
    """Choose the posts shown for the event, in order; an empty choice hands it back to the pipeline."""
    ids = list(dict.fromkeys(int(i) for i in tweet_ids))
    if len(ids) > MAX_REPRESENTATIVES:
        raise ValidationError(f"Choose at most {MAX_REPRESENTATIVES} posts.")

    def validate(locked: Event) -> None:
        found = set(EventMembership.objects.filter(event=locked, tweet_id__in=ids).values_list("tweet_id", flat=True))
        if len(found) != len(ids):
            raise ValidationError(f"Not posts of this event: {sorted(set(ids) - found)}")

    return _event_edit(
        actor=actor, event=event, action="event.representatives",
        changes={"representative_tweet_ids": ids, "representatives_locked": bool(ids)},
        expected_version=expected_version, reason=reason, validate=validate,
    )


def pin_slots() -> int:
    return int(getattr(settings, "CURATION_PIN_SLOTS", 5))


def event_pin(
    *, actor, event: Event | int, slot: int, until: dt.datetime, expected_version: int | None = None, reason: str = "",
) -> Event:
    """Pin an event to a slot (1 = top) until a time. An event already in that slot is unpinned."""
    _require(actor, perms.PERM_CURATE)
    slot = int(slot)
    if not 1 <= slot <= pin_slots():
        raise ValidationError(f"Choose a slot from 1 to {pin_slots()}.")
    now = timezone.now()
    if until is None or timezone.is_naive(until):
        raise ValidationError("Give the pin an expiry time with a time zone.")
    if until <= now:
        raise ValidationError("The pin must expire in the future.")
    if until > now + dt.timedelta(days=MAX_PIN_DAYS):
        raise ValidationError(f"Pins last at most {MAX_PIN_DAYS} days.")
    event_id = event.pk if isinstance(event, Event) else int(event)
    with transaction.atomic():
        occupants = set(
            Event.objects.filter(pinned_slot=slot).exclude(pk=event_id).values_list("pk", flat=True)
        )
        locked = _lock_events({event_id, *occupants})
        target = locked[event_id]
        _check_version(target, expected_version, None)
        if target.state == EventState.MERGED or target.hidden or target.review_status in (
            ReviewStatus.PENDING, ReviewStatus.REJECTED
        ):
            raise ValidationError("Only a visible event can be pinned: approve or unhide it first.")
        for other in locked.values():
            if other.pk != event_id and other.pinned_slot == slot:
                before = _snapshot(other, PIN_FIELDS)
                other.pinned_slot = None
                other.pinned_until = None
                _save(other, PIN_FIELDS)
                _audit(actor=actor, action="event.unpin", target=other, before=before,
                       after=_snapshot(other, PIN_FIELDS), reason=f"displaced by event #{event_id}")
        before = _snapshot(target, PIN_FIELDS)
        target.pinned_slot = slot
        target.pinned_until = until
        _save(target, PIN_FIELDS)
        _audit(actor=actor, action="event.pin", target=target, before=before, after=_snapshot(target, PIN_FIELDS), reason=reason)
    return target


def event_unpin(*, actor, event: Event | int, expected_version: int | None = None, reason: str = "") -> Event:
    return _event_edit(
        actor=actor, event=event, action="event.unpin", changes={"pinned_slot": None, "pinned_until": None},
        expected_version=expected_version, reason=reason,
    )


def event_hide(*, actor, event: Event | int, reason: str, expected_version: int | None = None) -> Event:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Say why the event is hidden; the reason is kept in the audit log.")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(f"Keep the reason within {MAX_REASON_LENGTH} characters.")
    return _event_edit(
        actor=actor, event=event, action="event.hide", changes={"hidden": True, "hidden_reason": reason},
        expected_version=expected_version, reason=reason,
    )


def event_unhide(*, actor, event: Event | int, reason: str = "", expected_version: int | None = None) -> Event:
    return _event_edit(
        actor=actor, event=event, action="event.unhide", changes={"hidden": False, "hidden_reason": ""},
        expected_version=expected_version, reason=reason,
    )


# --- merge and split ------------------------------------------------------------------------------


def _chunks(items: list[int], size: int = 500):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _recount(event: Event) -> None:
    """Counts and first/last seen from the memberships themselves: the truth, whatever drifted."""
    stats = EventMembership.objects.filter(event=event).aggregate(
        n=Count("tweet"), authors=Count("author_id", distinct=True),
        anonymous=Count("tweet", filter=Q(author_id__isnull=True)),
        first=Min("tweet_created_at"), last=Max("tweet_created_at"),
    )
    event.tweet_count = stats["n"]
    # Posts without a known author count as their own author, as the pipeline counts them.
    event.author_count = stats["authors"] + stats["anonymous"]
    if stats["first"]:
        event.first_seen_at = stats["first"]
        event.last_seen_at = stats["last"]


def _members_centroid(event: Event) -> bytes | None:
    blobs = list(
        Tweet.objects.filter(membership__event=event, embedding__isnull=False).values_list("embedding", flat=True)
    )
    if not blobs:
        return None
    mean = unpack_many(blobs).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return pack(mean / norm) if norm > 0 else None


def _weighted_centroid(a: Event, b: Event) -> bytes | None:
    """Count-weighted mean of two centroids, renormalised: the centroid of the union of members."""
    va, vb = unpack(a.centroid), unpack(b.centroid)
    if va is None or vb is None or va.shape != vb.shape:
        return b.centroid if va is None else a.centroid
    mean = va * max(a.tweet_count, 0) + vb * max(b.tweet_count, 0)
    norm = float(np.linalg.norm(mean))
    return pack(mean / norm) if norm > 0 else b.centroid


def _buckets_add(source: Event, target: Event) -> None:
    for bucket in EventBucket.objects.filter(event=source):
        updated = EventBucket.objects.filter(event=target, start=bucket.start).update(
            tweets=F("tweets") + bucket.tweets, new_authors=F("new_authors") + bucket.new_authors
        )
        if not updated:
            EventBucket.objects.create(event=target, start=bucket.start, tweets=bucket.tweets, new_authors=bucket.new_authors)
    EventBucket.objects.filter(event=source).delete()


def _bucket_grid(event: Event) -> tuple[float, float] | None:
    """(width, offset) in seconds of the event's existing buckets; None when it has none."""
    starts = sorted(EventBucket.objects.filter(event=event).values_list("start", flat=True))
    if not starts:
        return None
    diffs = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False) if b > a]
    width = min(diffs) if diffs else float(getattr(settings, "EVENT_BUCKET_SECONDS", DEFAULT_BUCKET_SECONDS))
    return width, starts[0].timestamp() % width


def _buckets_rebuild(event: Event, grid: tuple[float, float]) -> None:
    width, offset = grid
    counts: dict[float, list[int]] = {}
    seen_authors: set[int] = set()
    rows = EventMembership.objects.filter(event=event).order_by("tweet_created_at").values_list("tweet_created_at", "author_id")
    for created_at, author_id in rows.iterator(chunk_size=2000):
        ts = created_at.timestamp()
        start = (ts - offset) // width * width + offset
        cell = counts.setdefault(start, [0, 0])
        cell[0] += 1
        if author_id is not None and author_id not in seen_authors:
            seen_authors.add(author_id)
            cell[1] += 1
    EventBucket.objects.filter(event=event).delete()
    EventBucket.objects.bulk_create(
        EventBucket(event=event, start=dt.datetime.fromtimestamp(start, tz=dt.UTC), tweets=n, new_authors=authors)
        for start, (n, authors) in sorted(counts.items())
    )


def event_merge(*, actor, source: Event | int, target: Event | int, reason: str = "") -> Event:
    """Fold `source` into `target`: every post of source moves, source becomes a `merged` stub."""
    _require(actor, perms.PERM_CURATE)
    source_id = source.pk if isinstance(source, Event) else int(source)
    target_id = target.pk if isinstance(target, Event) else int(target)
    if source_id == target_id:
        raise ValidationError("An event cannot be merged into itself.")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_events([source_id, target_id])
        src, dst = locked[source_id], locked[target_id]
        for event in (src, dst):
            if event.state == EventState.MERGED:
                raise ValidationError(f"Event #{event.pk} was already merged into #{event.merged_into_id}.")
        before = {"source": _event_summary(src), "target": _event_summary(dst)}
        _snapshot_event(src, f"merged into #{dst.pk} by {_actor_name(actor)}", now)
        _snapshot_event(dst, f"absorbed #{src.pk} by {_actor_name(actor)}", now)
        # Counts as the rows stand now (under the lock), not as a worker last wrote them.
        _recount(src)
        _recount(dst)
        centroid = _weighted_centroid(src, dst)
        moved = EventMembership.objects.filter(event=src).update(event=dst)
        _buckets_add(src, dst)
        _recount(dst)
        dst.centroid = centroid
        dst.trend_score = max(dst.trend_score, src.trend_score)
        dst.peak_score = max(dst.peak_score, src.peak_score)
        if not dst.representatives_locked:
            dst.representative_tweet_ids = list(dst.representative_tweet_ids or []) + [
                t for t in (src.representative_tweet_ids or []) if t not in (dst.representative_tweet_ids or [])
            ][: max(0, MAX_REPRESENTATIVES - len(dst.representative_tweet_ids or []))]
        _save(dst, ["tweet_count", "author_count", "first_seen_at", "last_seen_at", "centroid",
                    "trend_score", "peak_score", "representative_tweet_ids"])
        src.state = EventState.MERGED
        src.merged_into = dst
        src.tweet_count = 0
        src.author_count = 0
        src.trend_score = 0.0
        src.pinned_slot = None
        src.pinned_until = None
        _save(src, ["state", "merged_into", "tweet_count", "author_count", "trend_score", "pinned_slot", "pinned_until"])
        EventLink.objects.create(
            source=src, target=dst, kind=EventLink.Kind.MERGE, actor=_actor_name(actor),
            details={"moved_posts": moved, "reason": reason[:MAX_REASON_LENGTH]},
        )
        _audit(actor=actor, action="event.merge", target=dst, before=before,
               after={"source": _event_summary(src), "target": _event_summary(dst), "moved_posts": moved}, reason=reason)
    return dst


def _subcluster_choice(event: Event) -> list[int]:
    """The smaller half of a 2-means split of the members' embeddings: the part that drifted away."""
    from sklearn.cluster import KMeans

    rows = list(
        Tweet.objects.filter(membership__event=event, embedding__isnull=False).order_by("pk").values_list("pk", "embedding")
    )
    if len(rows) < 2:
        raise ValidationError("Too few embedded posts to find sub-clusters; choose posts by hand.")
    vectors = unpack_many([blob for _, blob in rows])
    if np.allclose(vectors, vectors[0], atol=1e-3):
        raise ValidationError("All posts are alike; there is no sub-cluster to split off.")
    labels = KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(vectors)
    sizes = np.bincount(labels, minlength=2)
    if sizes.min() == 0:
        raise ValidationError("No distinct sub-cluster found; choose posts by hand.")
    minority = int(np.argmin(sizes))
    return [pk for (pk, _), label in zip(rows, labels, strict=True) if label == minority]


def event_split(
    *, actor, event: Event | int, tweet_ids: Sequence[int] | None = None, by_subcluster: bool = False, reason: str = "",
) -> Event:
    """Move some posts of an event into a new event (chosen by hand, or the smaller of two sub-clusters).

    The original keeps its id and the rest of its posts; the new event is linked as split off from it.
    """
    _require(actor, perms.PERM_CURATE)
    if (tweet_ids is None) == (not by_subcluster):
        raise ValidationError("Choose posts to split off, or split by sub-cluster (not both).")
    event_id = event.pk if isinstance(event, Event) else int(event)
    now = timezone.now()
    with transaction.atomic():
        src = _lock_events([event_id])[event_id]
        if src.state == EventState.MERGED:
            raise ValidationError(f"Event #{event_id} was merged into #{src.merged_into_id}.")
        members = set(EventMembership.objects.filter(event=src).values_list("tweet_id", flat=True))
        if by_subcluster:
            chosen = _subcluster_choice(src)
            method = "subcluster"
        else:
            chosen = sorted({int(t) for t in tweet_ids})
            method = "selected"
            strangers = set(chosen) - members
            if strangers:
                raise ValidationError(f"Not posts of event #{event_id}: {sorted(strangers)[:10]}")
        if not chosen:
            raise ValidationError("Choose at least one post to split off.")
        if len(chosen) >= len(members):
            raise ValidationError("Leave at least one post in the original event.")
        before = {"source": _event_summary(src)}
        _snapshot_event(src, f"split by {_actor_name(actor)}: {len(chosen)} posts moved", now)
        grid = _bucket_grid(src)
        new = Event.objects.create(
            shard=src.shard,
            title=(f"{src.title} (split)" if src.title else "")[:MAX_TITLE_LENGTH],
            category=src.category,
            language=src.language,
            location=src.location,
            state=src.state if src.state in LIVE_STATES else EventState.EMERGING,
            first_seen_at=src.first_seen_at,
            last_seen_at=src.last_seen_at,
            centroid=src.centroid,
            # The curator split a reviewed event deliberately; its parts keep its review decision.
            review_status=src.review_status,
            review_requested_at=src.review_requested_at,
            reviewed_by=src.reviewed_by,
            reviewed_at=src.reviewed_at,
        )
        for chunk in _chunks(chosen):
            EventMembership.objects.filter(event=src, tweet_id__in=chunk).update(event=new)
        for part in (src, new):
            _recount(part)
            part.centroid = _members_centroid(part) or src.centroid
            if grid:
                _buckets_rebuild(part, grid)
        moved = set(chosen)
        representatives = list(src.representative_tweet_ids or [])
        src.representative_tweet_ids = [t for t in representatives if t not in moved]
        new.representative_tweet_ids = [t for t in representatives if t in moved]
        _save(src, ["tweet_count", "author_count", "first_seen_at", "last_seen_at", "centroid", "representative_tweet_ids"])
        _save(new, ["tweet_count", "author_count", "first_seen_at", "last_seen_at", "centroid", "representative_tweet_ids"])
        EventLink.objects.create(
            source=src, target=new, kind=EventLink.Kind.SPLIT, actor=_actor_name(actor),
            details={"method": method, "moved_posts": len(chosen), "tweet_ids": chosen[:1000], "reason": reason[:MAX_REASON_LENGTH]},
        )
        _snapshot_event(new, f"split off #{src.pk} by {_actor_name(actor)}", now)
        _audit(actor=actor, action="event.split", target=src, before=before,
               after={"source": _event_summary(src), "new": _event_summary(new), "method": method,
                      "tweet_ids": chosen[:200]}, reason=reason)
    return new


def events_reconcile(*, since: dt.datetime | None = None) -> dict[str, int]:
    """Safety net after merges and splits: posts a worker put into an event after it was merged away
    move on to the surviving event, and counts of recently curated events are recomputed from rows."""
    since = since or timezone.now() - dt.timedelta(hours=1)
    rehomed = 0
    stray = list(
        EventMembership.objects.filter(event__state=EventState.MERGED).values_list("event_id", flat=True).distinct()
    )
    for merged_id in stray:
        with transaction.atomic():
            chain = [merged_id]
            current = Event.objects.get(pk=merged_id)
            while current.state == EventState.MERGED and current.merged_into_id and len(chain) < 20:
                chain.append(current.merged_into_id)
                current = Event.objects.get(pk=current.merged_into_id)
            if current.state == EventState.MERGED:
                continue
            locked = _lock_events([merged_id, current.pk])
            rehomed += EventMembership.objects.filter(event_id=merged_id).update(event=locked[current.pk])
            for event in locked.values():
                _recount(event)
                _save(event, ["tweet_count", "author_count", "first_seen_at", "last_seen_at"])
    touched = {
        int(t) for t in AuditLogEntry.objects.filter(
            action__in=["event.merge", "event.split"], created_at__gte=since
        ).values_list("target_id", flat=True)
    }
    touched |= set(
        EventLink.objects.filter(kind=EventLink.Kind.SPLIT, created_at__gte=since).values_list("target_id", flat=True)
    )
    fixed = 0
    for event_id in sorted(touched):
        with transaction.atomic():
            try:
                event = _lock_events([event_id])[event_id]
            except ValidationError:
                continue
            counts = (event.tweet_count, event.author_count)
            _recount(event)
            if (event.tweet_count, event.author_count) != counts:
                _save(event, ["tweet_count", "author_count", "first_seen_at", "last_seen_at"])
                fixed += 1
    return {"rehomed_posts": rehomed, "recounted_events": fixed}


# --- sources and block rules ----------------------------------------------------------------------


def blockrules_invalidate() -> None:
    """Tell every process to recompile its rules on its next match (see selectors.blockrules_current)."""
    cache.set(BLOCKRULES_VERSION_KEY, time.time_ns(), timeout=None)


def _blockrules_changed() -> None:
    # Now, so this process sees its own change at once; and after commit, so a process that
    # recompiled in between (still seeing the old rows) recompiles again.
    blockrules_invalidate()
    transaction.on_commit(blockrules_invalidate)


def author_set_trust(
    *, actor, author: User | int, trusted: bool | None = None, blocked: bool | None = None, reason: str = ""
) -> User:
    """Trust (skips review) or block (kept out of trends) an author's future posts. Exclusive states."""
    _require(actor, perms.PERM_BLOCKLIST)
    if trusted is None and blocked is None:
        raise ValidationError("Say whether to trust or block the author.")
    if trusted and blocked:
        raise ValidationError("An author cannot be both trusted and blocked.")
    author_id = author.pk if isinstance(author, User) else int(author)
    fields = ("is_trusted_source", "is_blocked_source")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=author_id).first()
        if user is None:
            raise ValidationError(f"No such account: {author_id}")
        before = _snapshot(user, fields)
        if trusted is not None:
            user.is_trusted_source = trusted
            if trusted:
                user.is_blocked_source = False
        if blocked is not None:
            user.is_blocked_source = blocked
            if blocked:
                user.is_trusted_source = False
        after = _snapshot(user, fields)
        if before != after:
            user.save(update_fields=list(fields))
            _audit(actor=actor, action="user.trust", target=user, before=before, after=after, reason=reason)
            _blockrules_changed()
    return user


def blockrule_normalise(*, kind: str, value: str) -> str:
    value = (value or "").strip()
    if kind == BlockRule.Kind.TERM:
        value = " ".join(value.split()).casefold()
        if not value or len(value) > MAX_TERM_LENGTH:
            raise ValidationError(f"A term is 1 to {MAX_TERM_LENGTH} characters.")
        return value
    if kind == BlockRule.Kind.HASHTAG:
        value = value.lstrip("#").casefold()
        if not HASHTAG_RE.match(value):
            raise ValidationError("A hashtag is letters, digits and underscores, without spaces.")
        return value
    if kind == BlockRule.Kind.REGEX:
        return regex_validate(pattern=value)
    if kind == BlockRule.Kind.ACCOUNT:
        value = value.lstrip("@")
        HANDLE_VALIDATOR(value)
        user = User.objects.filter(username__iexact=value).first()
        if user is None:
            raise ValidationError(f"No account @{value}.")
        return user.username
    if kind == BlockRule.Kind.DOMAIN:
        value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.casefold()).split("/")[0].split(":")[0].rstrip(".")
        value = value.removeprefix("www.")
        if not DOMAIN_RE.match(value):
            raise ValidationError("Enter a domain such as example.com.")
        return value
    raise ValidationError(f"Unknown rule kind {kind!r}.")


def _rule_fields(rule: BlockRule) -> dict[str, Any]:
    return {"kind": rule.kind, "action": rule.action, "value": rule.value, "is_active": rule.is_active}


def blockrule_create(*, actor, kind: str, value: str, action: str = BlockRule.Action.BLOCK, note: str = "") -> BlockRule:
    """Add (or reactivate) a block or allow rule. The opposite rule for the same value is switched off."""
    _require(actor, perms.PERM_BLOCKLIST)
    if action not in BlockRule.Action.values:
        raise ValidationError(f"Unknown action {action!r}.")
    if action == BlockRule.Action.ALLOW and kind not in (BlockRule.Kind.ACCOUNT, BlockRule.Kind.DOMAIN):
        raise ValidationError("Only accounts and domains can be allowlisted.")
    value = blockrule_normalise(kind=kind, value=value)
    with transaction.atomic():
        rule = BlockRule.objects.select_for_update().filter(kind=kind, action=action, value=value).first()
        if rule is not None and rule.is_active:
            raise ValidationError(f"That {rule.get_kind_display().lower()} rule already exists.")
        if rule is None:
            before: dict[str, Any] = {}
            rule = BlockRule.objects.create(kind=kind, action=action, value=value, note=note[:200], created_by=actor)
        else:
            before = _rule_fields(rule)
            rule.is_active = True
            rule.note = note[:200] or rule.note
            rule.save(update_fields=["is_active", "note"])
        _audit(actor=actor, action="blockrule.create", target=rule, before=before, after=_rule_fields(rule), reason=note)
        opposite = BlockRule.Action.ALLOW if action == BlockRule.Action.BLOCK else BlockRule.Action.BLOCK
        for other in BlockRule.objects.select_for_update().filter(kind=kind, action=opposite, value=value, is_active=True):
            other_before = _rule_fields(other)
            other.is_active = False
            other.save(update_fields=["is_active"])
            _audit(actor=actor, action="blockrule.deactivate", target=other, before=other_before,
                   after=_rule_fields(other), reason=f"replaced by rule #{rule.pk}")
        _blockrules_changed()
    return rule


def blockrule_set_active(*, actor, rule: BlockRule | int, active: bool, reason: str = "") -> BlockRule:
    _require(actor, perms.PERM_BLOCKLIST)
    rule_id = rule.pk if isinstance(rule, BlockRule) else int(rule)
    with transaction.atomic():
        locked = BlockRule.objects.select_for_update().filter(pk=rule_id).first()
        if locked is None:
            raise ValidationError(f"No such rule: {rule_id}")
        if locked.is_active == active:
            return locked
        before = _rule_fields(locked)
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        _audit(actor=actor, action="blockrule.activate" if active else "blockrule.deactivate", target=locked,
               before=before, after=_rule_fields(locked), reason=reason)
        _blockrules_changed()
    return locked


# --- audit log undo -------------------------------------------------------------------------------

# What can be undone, and the permission undoing it needs (besides view_auditlog). Merges and splits
# are not: later posts may already have joined the merged or split events.
UNDOABLE_ACTIONS = {
    "event.rename": perms.PERM_CURATE,
    "event.summary": perms.PERM_CURATE,
    "event.category": perms.PERM_CURATE,
    "event.representatives": perms.PERM_CURATE,
    "event.pin": perms.PERM_CURATE,
    "event.unpin": perms.PERM_CURATE,
    "event.hide": perms.PERM_CURATE,
    "event.unhide": perms.PERM_CURATE,
    "event.approve": perms.PERM_REVIEW,
    "event.reject": perms.PERM_REVIEW,
    "blockrule.create": perms.PERM_BLOCKLIST,
    "blockrule.activate": perms.PERM_BLOCKLIST,
    "blockrule.deactivate": perms.PERM_BLOCKLIST,
    "user.trust": perms.PERM_BLOCKLIST,
}


def auditlog_can_undo(entry: AuditLogEntry) -> bool:
    return entry.undone_at is None and entry.action in UNDOABLE_ACTIONS


def auditlog_undo(*, actor, entry: AuditLogEntry | int, reason: str = "") -> AuditLogEntry:
    """Put the target back as it was before `entry`, if nothing changed it since. Logged as `undo.<action>`."""
    _require(actor, perms.PERM_AUDIT)
    entry_id = entry.pk if isinstance(entry, AuditLogEntry) else int(entry)
    with transaction.atomic():
        if not connection.features.has_select_for_update:
            AuditLogEntry.objects.filter(pk=entry_id).update(undone_at=F("undone_at"))
        original = AuditLogEntry.objects.select_for_update().filter(pk=entry_id).first()
        if original is None:
            raise ValidationError(f"No audit entry #{entry_id}.")
        if original.action not in UNDOABLE_ACTIONS:
            raise ValidationError(f"“{original.action}” cannot be undone.")
        _require(actor, UNDOABLE_ACTIONS[original.action])
        if original.undone_at is not None:
            raise ValidationError(f"Entry #{entry_id} was already undone.")
        changed_since = ValidationError(
            "It was changed again since this entry; undo the later entries first, or edit it directly."
        )
        if original.target_type == "event":
            event = _lock_events([int(original.target_id)])[int(original.target_id)]
            if event.state == EventState.MERGED:
                raise ValidationError("The event was merged since; it cannot be changed any more.")
            if _snapshot(event, original.after) != original.after:
                raise changed_since
            current = _snapshot(event, original.before)
            _save(event, _restore_event(event, original.before))
            restored = _snapshot(event, original.before)
        elif original.target_type == "blockrule":
            rule = BlockRule.objects.select_for_update().get(pk=int(original.target_id))
            if _rule_fields(rule) != original.after:
                raise changed_since
            current = _rule_fields(rule)
            # Undoing a creation switches the rule off: the row stays, as the audit trail points at it.
            rule.is_active = bool(original.before.get("is_active", False))
            rule.save(update_fields=["is_active"])
            restored = _rule_fields(rule)
            _blockrules_changed()
        elif original.target_type == "user":
            user = User.objects.select_for_update().get(pk=int(original.target_id))
            if _snapshot(user, original.after) != original.after:
                raise changed_since
            current = _snapshot(user, original.before)
            for name, value in original.before.items():
                setattr(user, name, value)
            user.save(update_fields=list(original.before))
            restored = _snapshot(user, original.before)
            _blockrules_changed()
        else:  # pragma: no cover - UNDOABLE_ACTIONS only names the types above
            raise ValidationError(f"Cannot undo changes to {original.target_type}.")
        original.undone_at = timezone.now()
        original.save(update_fields=["undone_at"])
        pages_invalidate_all()
        return AuditLogEntry.objects.create(
            actor=actor, action=f"undo.{original.action}", target_type=original.target_type,
            target_id=original.target_id, before=current, after=restored,
            reason=(reason or f"undo of entry #{original.pk}")[:MAX_REASON_LENGTH],
        )


# --- notifications --------------------------------------------------------------------------------

NOTIFY_ACTION = "review.notify"


def review_recipients() -> list[str]:
    """E-mail addresses of active accounts allowed to review (through a group, directly, or superuser)."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(content_type__app_label="trends", codename="review_event").first()
    condition = Q(is_superuser=True)
    if permission is not None:
        condition |= Q(groups__permissions=permission) | Q(user_permissions=permission)
    return sorted(
        set(User.objects.filter(condition, is_active=True).exclude(email="").values_list("email", flat=True))
    )


def review_notify_pending(*, now: dt.datetime | None = None) -> int:
    """E-mail curators about pending events they have not been told about. Returns how many items.

    Each pending spell of an event (identified by its review_requested_at) is announced at most once:
    the announcement is recorded in the audit log in the same transaction that picks the items, and
    the mail goes out only after that commits. Concurrent runs skip each other's locked rows.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if not connection.features.has_select_for_update:
            Event.objects.filter(review_status=ReviewStatus.PENDING).update(version=F("version"))
        Event.objects.filter(review_status=ReviewStatus.PENDING, review_requested_at__isnull=True).update(
            review_requested_at=now
        )
        pending = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(review_status=ReviewStatus.PENDING)
            .exclude(state=EventState.MERGED)
            .order_by("pk")
        )
        if not pending:
            return 0
        announced = {
            (target_id, (after or {}).get("requested_at"))
            for target_id, after in AuditLogEntry.objects.filter(
                action=NOTIFY_ACTION, target_type="event", target_id__in=[str(e.pk) for e in pending]
            ).values_list("target_id", "after")
        }
        fresh = [e for e in pending if (str(e.pk), _json_value(e.review_requested_at)) not in announced]
        if not fresh:
            return 0
        recipients = review_recipients()
        for event in fresh:
            _audit(actor=None, action=NOTIFY_ACTION, target=event, before={},
                   after={"requested_at": _json_value(event.review_requested_at), "recipients": len(recipients)})
        if recipients:
            message = _review_email(events=fresh, recipients=recipients)
            transaction.on_commit(lambda: _send_quietly(message))
    return len(fresh)


def _review_email(*, events: list[Event], recipients: list[str]) -> EmailMessage:
    base = getattr(settings, "CURATION_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    lines = [f"{len(events)} event(s) are waiting for review and are not shown publicly until approved:", ""]
    for event in events:
        lines.append(
            f"- #{event.pk} {event.title or 'Untitled event'} ({event.tweet_count} posts, "
            f"{event.author_count} people, score {event.trend_score:.1f})"
        )
    lines += ["", f"Review queue: {base}/curation/queue/"]
    return EmailMessage(
        subject=f"[Explore] {len(events)} event(s) waiting for review",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        bcc=recipients,
    )


def _send_quietly(message: EmailMessage) -> None:
    try:
        message.send(fail_silently=False)
    except Exception:  # noqa: BLE001 - at most once: a failed send is logged, never retried into a duplicate
        logger.exception("could not send the review notification e-mail")
