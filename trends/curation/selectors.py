"""Read side of curation: the review queue, audit log, block-rule matching and pipeline health."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.db.models.functions import Lower, TruncMinute
from django.utils import timezone

from trends.models import (
    AuditLogEntry,
    BlockRule,
    Event,
    EventMembership,
    EventState,
    Experiment,
    PipelineState,
    ReviewStatus,
    TaskFailure,
    Tweet,
    WorkerHeartbeat,
)
from users.models import User

logger = logging.getLogger(__name__)

SAMPLE_POSTS = 3
HEARTBEAT_STALE_SECONDS = 120


# --- review queue ---------------------------------------------------------------------------------


def review_pending_count() -> int:
    return Event.objects.filter(review_status=ReviewStatus.PENDING).exclude(state=EventState.MERGED).count()


def review_queue(*, limit: int = 50) -> list[Event]:
    """Pending events, most urgent first, each with `sample_memberships` (its newest posts, authors loaded).

    Two queries whatever the length: the samples are a sliced prefetch (a window function).
    """
    samples = (
        EventMembership.objects.select_related("tweet__author").order_by("-tweet_created_at")[:SAMPLE_POSTS]
    )
    return list(
        Event.objects.filter(review_status=ReviewStatus.PENDING)
        .exclude(state=EventState.MERGED)
        .prefetch_related(Prefetch("memberships", queryset=samples, to_attr="sample_memberships"))
        .order_by("-trend_score", "review_requested_at", "pk")[:limit]
    )


def event_list_for_curation(
    *, query: str = "", state: str = "", review_status: str = "", limit: int = 100
) -> list[Event]:
    qs = Event.objects.all()
    if query:
        condition = Q(title__icontains=query)
        if query.isdigit():
            condition |= Q(pk=int(query))
        qs = qs.filter(condition)
    if state:
        qs = qs.filter(state=state)
    if review_status:
        qs = qs.filter(review_status=review_status)
    return list(qs.order_by("-trend_score", "-last_seen_at", "-pk")[:limit])


def event_members(*, event: Event, limit: int = 200) -> list[EventMembership]:
    return list(
        EventMembership.objects.filter(event=event)
        .select_related("tweet__author")
        .order_by("-similarity", "-tweet_created_at")[:limit]
    )


def event_pinned() -> list[Event]:
    now = timezone.now()
    return list(
        Event.objects.filter(pinned_slot__isnull=False)
        .filter(Q(pinned_until__isnull=True) | Q(pinned_until__gt=now))
        .order_by("pinned_slot")
    )


# --- audit log ------------------------------------------------------------------------------------


def auditlog_list(
    *,
    actor: str = "",
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 200,
) -> QuerySet[AuditLogEntry]:
    qs = AuditLogEntry.objects.select_related("actor")
    if actor:
        qs = qs.filter(actor__username__iexact=actor.lstrip("@"))
    if action:
        # "event" finds every event.* action; "event.rename" just that one.
        qs = qs.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-pk")[:limit]


def auditlog_actions() -> list[str]:
    return list(AuditLogEntry.objects.order_by("action").values_list("action", flat=True).distinct())


# --- block and allow rules ------------------------------------------------------------------------

BLOCKRULES_VERSION_KEY = "curation:blockrules:version"
# A backstop for deployments whose cache is per process (locmem): rules reload at least this often.
BLOCKRULES_MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class RuleSet:
    terms: re.Pattern | None = None
    hashtags: frozenset[str] = frozenset()
    regexes: tuple[re.Pattern, ...] = ()
    author_ids: frozenset[int] = frozenset()
    domains: frozenset[str] = frozenset()
    allowed_author_ids: frozenset[int] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    loaded_at: float = field(default_factory=time.monotonic)


_ruleset_lock = threading.Lock()
_ruleset: tuple[Any, RuleSet] | None = None


def _normalise_tag(tag: str) -> str:
    return tag.lstrip("#").casefold()


def _domain_matches(domain: str, listed: frozenset[str]) -> bool:
    """`news.example.com` is covered by a rule for `example.com`."""
    domain = domain.casefold().rstrip(".")
    if domain.startswith("www."):
        domain = domain[4:]
    parts = domain.split(".")
    return any(".".join(parts[i:]) in listed for i in range(len(parts) - 1))


def _ruleset_build() -> RuleSet:
    rules = list(BlockRule.objects.filter(is_active=True).values_list("kind", "action", "value"))
    block = [(k, v) for k, a, v in rules if a == BlockRule.Action.BLOCK]
    allow = [(k, v) for k, a, v in rules if a == BlockRule.Action.ALLOW]
    terms = sorted({v.casefold() for k, v in block if k == BlockRule.Kind.TERM}, key=len, reverse=True)
    term_rx = (
        re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE)
        if terms
        else None
    )
    regexes = []
    for kind, value in block:
        if kind == BlockRule.Kind.REGEX:
            try:
                regexes.append(re.compile(value, re.IGNORECASE))
            except re.error:  # validated on the way in; a bad row must not stop the pipeline
                logger.warning("skipping invalid block regex %r", value)

    def handles_to_ids(pairs: list[tuple[str, str]]) -> set[int]:
        handles = {v.lstrip("@").casefold() for k, v in pairs if k == BlockRule.Kind.ACCOUNT}
        if not handles:
            return set()
        return set(
            User.objects.annotate(h=Lower("username")).filter(h__in=handles).values_list("pk", flat=True)
        )

    blocked_authors = handles_to_ids(block) | set(
        User.objects.filter(is_blocked_source=True).values_list("pk", flat=True)
    )
    allowed_authors = handles_to_ids(allow) | set(
        User.objects.filter(is_trusted_source=True).values_list("pk", flat=True)
    )
    return RuleSet(
        terms=term_rx,
        hashtags=frozenset(_normalise_tag(v) for k, v in block if k == BlockRule.Kind.HASHTAG),
        regexes=tuple(regexes),
        author_ids=frozenset(blocked_authors),
        domains=frozenset(v.casefold() for k, v in block if k == BlockRule.Kind.DOMAIN),
        allowed_author_ids=frozenset(allowed_authors - blocked_authors),
        allowed_domains=frozenset(v.casefold() for k, v in allow if k == BlockRule.Kind.DOMAIN),
    )


def blockrules_current() -> RuleSet:
    """The compiled rules, rebuilt only when a curator changed them (or after BLOCKRULES_MAX_AGE_SECONDS)."""
    global _ruleset
    version = cache.get(BLOCKRULES_VERSION_KEY)
    if version is None:
        # A cleared or restarted cache: start a new version so nobody keeps rules compiled before it.
        cache.add(BLOCKRULES_VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(BLOCKRULES_VERSION_KEY)
    current = _ruleset
    if (
        current is not None
        and current[0] == version
        and time.monotonic() - current[1].loaded_at < BLOCKRULES_MAX_AGE_SECONDS
    ):
        return current[1]
    with _ruleset_lock:
        ruleset = _ruleset_build()
        _ruleset = (version, ruleset)
    return ruleset


def blockrules_match(*, text: str, hashtags: list[str], author_id: int | None, domains: list[str]) -> bool:
    """True when a post must be kept out of trends: a blocked author, domain, hashtag, term or pattern.

    Block wins over allow: an allowlisted source posting a blocked term is still kept out.
    """
    rules = blockrules_current()
    if author_id is not None and author_id in rules.author_ids:
        return True
    if rules.domains and any(_domain_matches(d, rules.domains) for d in domains):
        return True
    if rules.hashtags and any(_normalise_tag(t) in rules.hashtags for t in hashtags):
        return True
    if rules.terms is not None and rules.terms.search(text):
        return True
    return any(rx.search(text) for rx in rules.regexes)


def blockrules_allows(*, author_id: int | None, domains: list[str]) -> bool:
    """True when a post comes from a trusted author or allowlisted domain: its events may skip review."""
    rules = blockrules_current()
    if author_id is not None and author_id in rules.allowed_author_ids:
        return True
    return bool(rules.allowed_domains) and any(_domain_matches(d, rules.allowed_domains) for d in domains)


def blockrules_list(*, kind: str = "", include_inactive: bool = True) -> list[BlockRule]:
    qs = BlockRule.objects.select_related("created_by")
    if kind:
        qs = qs.filter(kind=kind)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("kind", "action", "value"))


def sources_flagged() -> dict[str, list[User]]:
    return {
        "trusted": list(User.objects.filter(is_trusted_source=True).order_by("username")[:200]),
        "blocked": list(User.objects.filter(is_blocked_source=True).order_by("username")[:200]),
    }


# --- pipeline health ------------------------------------------------------------------------------


def _queue_names() -> list[str]:
    shards = max(1, int(getattr(settings, "CLUSTER_SHARDS", 1)))
    return ["embedding", *[f"clustering-{s}" for s in range(shards)], "scoring", "maintenance", "celery"]


def broker_queue_depths() -> dict[str, int | None] | None:
    """LLEN of each Celery queue on a Redis broker; None when the broker is not Redis or unreachable."""
    url = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if not url.startswith(("redis://", "rediss://", "unix://")) or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return None
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        pipe = client.pipeline()
        names = _queue_names()
        for name in names:
            pipe.llen(name)
        return dict(zip(names, pipe.execute(), strict=True))
    except Exception:  # noqa: BLE001 - the dashboard must render even when the broker is down
        logger.warning("could not read broker queue depths", exc_info=True)
        return None


def ingest_per_minute(*, now: dt.datetime, minutes: int = 60) -> list[tuple[dt.datetime, int]]:
    """Posts ingested in each of the last `minutes` minutes, oldest first, empty minutes as 0."""
    end = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    start = end - dt.timedelta(minutes=minutes)
    rows = (
        Tweet.objects.filter(ingested_at__gte=start, ingested_at__lt=end)
        .annotate(minute=TruncMinute("ingested_at"))
        .values("minute")
        .annotate(n=Count("pk"))
    )
    counts = {row["minute"].replace(second=0, microsecond=0): row["n"] for row in rows}
    return [
        (start + dt.timedelta(minutes=i), counts.get(start + dt.timedelta(minutes=i), 0)) for i in range(minutes)
    ]


def experiment_results() -> list[dict[str, Any]]:
    """Results of active ranking experiments, from trends.ranking when it provides them."""
    try:
        import trends.ranking as ranking
    except ImportError:
        return []
    fn = getattr(ranking, "experiment_results", None)
    if fn is None:
        try:
            from trends.ranking import experiments as ranking_experiments

            fn = getattr(ranking_experiments, "experiment_results", None)
        except ImportError:
            fn = None
    out = []
    for experiment in Experiment.objects.filter(is_active=True).order_by("key"):
        if fn is None:
            out.append({"key": experiment.key, "results": None, "error": "results not available yet"})
            continue
        try:
            out.append({"key": experiment.key, "results": fn(key=experiment.key), "error": ""})
        except Exception as exc:  # noqa: BLE001 - one broken experiment must not blank the dashboard
            logger.warning("experiment_results failed for %s", experiment.key, exc_info=True)
            out.append({"key": experiment.key, "results": None, "error": f"{type(exc).__name__}: {exc}"})
    return out


def pipeline_health(*, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    per_minute = ingest_per_minute(now=now)
    backlog = {}
    for state in (PipelineState.NEW, PipelineState.EMBEDDED):
        agg = Tweet.objects.filter(pipeline_state=state).aggregate(n=Count("pk"), oldest=Min("ingested_at"))
        backlog[state.label] = {
            "count": agg["n"],
            "oldest_age_seconds": (now - agg["oldest"]).total_seconds() if agg["oldest"] else None,
        }
    by_state = dict(Event.objects.values_list("state").annotate(n=Count("pk")).order_by())
    stale_after = dt.timedelta(seconds=getattr(settings, "WORKER_HEARTBEAT_STALE_SECONDS", HEARTBEAT_STALE_SECONDS))
    heartbeats = [
        {"hb": hb, "stale": now - hb.last_seen_at > stale_after, "age_seconds": (now - hb.last_seen_at).total_seconds()}
        for hb in WorkerHeartbeat.objects.order_by("hostname")
    ]
    return {
        "now": now,
        "per_minute": per_minute,
        "posts_last_hour": sum(n for _, n in per_minute),
        "backlog": backlog,
        "queue_depths": broker_queue_depths(),
        "events_by_state": [(label, by_state.get(value, 0)) for value, label in EventState.choices],
        "pending_review": review_pending_count(),
        "heartbeats": heartbeats,
        "failures": list(TaskFailure.objects.order_by("-created_at")[:20]),
        "failures_last_hour": TaskFailure.objects.filter(created_at__gte=now - dt.timedelta(hours=1)).count(),
        "experiments": experiment_results(),
    }
