"""Reads: the DB -> ranking arrays, and the public ranking entry points.

A For You page costs a small fixed number of queries, whatever the number of events:
the candidate pool (cached per process for RANKING_POOL_TTL_S), the active model and experiment
(cached likewise), the user's engagements, impressions, follows and followed accounts' recent
posts, the page's events, and one bulk insert of the served items.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from trends.embedding import DIM
from trends.models import Engagement, Event, Experiment, RankedItem, RankingModelVersion, Tweet
from trends.ranking.engine import rank_pool, trending_order
from trends.ranking.experiments import variant_for, variant_label
from trends.ranking.explain import trending_phrase
from trends.ranking.features import compute_features, features_as_dict
from trends.ranking.metrics import category_coverage, intra_list_diversity
from trends.ranking.profile import KIND_WEIGHTS, build_interest
from trends.ranking.scoring import DEFAULT_WEIGHTS, FormulaScorer, Scorer
from trends.ranking.types import (
    CATEGORIES,
    CATEGORY_INDEX,
    CandidatePool,
    RankConfig,
    RankedEvent,
    UserContext,
)
from trends.selectors import LIVE_STATES, event_public_queryset
from users.models import Follow

logger = logging.getLogger(__name__)

POSITIVE_KINDS = ("click", "like", "retweet", "reply")
NEGATIVE_KINDS = ("dismiss", "report")
STATE_TOKEN_KEY = "ranking:state-token"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def now_hours(now: dt.datetime) -> float:
    return now.timestamp() / 3600.0


# --- process-local caches, invalidated through one token in the shared cache -----------------------

_lock = threading.Lock()
_token_cache: dict[str, Any] = {}
_model_cache: dict[str, Any] = {}


def _state_token() -> str:
    """A token in the shared cache: when it changes (or the cache is cleared) every process rebuilds."""
    token = cache.get(STATE_TOKEN_KEY)
    if token is None:
        token = uuid.uuid4().hex
        cache.add(STATE_TOKEN_KEY, token, None)
        token = cache.get(STATE_TOKEN_KEY) or token
    return token


def ranking_caches_invalidate() -> None:
    """Call after curation changes (pin, hide, review) or model activation: all processes reload."""
    cache.set(STATE_TOKEN_KEY, uuid.uuid4().hex, None)


# --- the candidate pool ----------------------------------------------------------------------------

POOL_FIELDS = (
    "id", "centroid", "category", "language", "location", "trend_score", "velocity", "author_count",
    "first_seen_at", "last_seen_at", "health", "impressions", "clicks", "boost", "pinned_slot",
    "pinned_until", "domains", "title", "representative_tweet_ids",
)


def pool_load(*, now: dt.datetime | None = None, limit: int | None = None) -> CandidatePool:
    """All rankable events, as arrays (one query): live, public, enough authors, best first."""
    now = now or timezone.now()
    limit = limit or int(_setting("RANKING_POOL_SIZE", 5000))
    rows = list(
        event_public_queryset()
        .filter(state__in=LIVE_STATES, author_count__gte=int(_setting("TREND_MIN_UNIQUE_AUTHORS", 1)))
        .order_by("-trend_score", "-pk")
        .values_list(*POOL_FIELDS)[:limit]
    )
    # An event's "source" for the caps is its dominant link domain, or else the author of its
    # lead representative post (one query for the whole pool, refreshed with it).
    reps_at, domains_at = POOL_FIELDS.index("representative_tweet_ids"), POOL_FIELDS.index("domains")
    lead_ids = [
        r[reps_at][0] for r in rows if isinstance(r[reps_at], list) and r[reps_at] and not r[domains_at]
    ]
    authors = dict(Tweet.objects.filter(id__in=lead_ids).values_list("id", "author_id")) if lead_ids else {}
    return pool_from_rows(rows, now=now, lead_authors=authors)


def pool_from_rows(
    rows: list[tuple], *, now: dt.datetime, lead_authors: dict[int, int | None] | None = None
) -> CandidatePool:
    n = len(rows)
    col = {name: i for i, name in enumerate(POOL_FIELDS)}
    emb = np.zeros((n, DIM), dtype=np.float32)
    lang_vocab: dict[str, int] = {}
    loc_vocab: dict[str, int] = {}
    src_vocab: dict[str, int] = {}
    lang = np.full(n, -1, dtype=np.int32)
    loc = np.full(n, -1, dtype=np.int32)
    source = np.full(n, -1, dtype=np.int32)
    pinned = np.full(n, -1, dtype=np.int16)
    loc_names: list[str] = []
    for i, r in enumerate(rows):
        blob = r[col["centroid"]]
        if blob:
            vec = np.frombuffer(bytes(blob), dtype="<f2")
            if vec.size == DIM:
                emb[i] = vec
        if r[col["language"]]:
            lang[i] = lang_vocab.setdefault(r[col["language"]], len(lang_vocab))
        location = (r[col["location"]] or "").strip()
        if location:
            key = location.lower()
            if key not in loc_vocab:
                loc_vocab[key] = len(loc_vocab)
                loc_names.append(location)
            loc[i] = loc_vocab[key]
        domains = r[col["domains"]] or {}
        if isinstance(domains, dict) and domains:
            top = max(domains.items(), key=lambda kv: (kv[1], kv[0]))[0]
            source[i] = src_vocab.setdefault(top, len(src_vocab))
        elif lead_authors:
            reps = r[col["representative_tweet_ids"]] or []
            author = lead_authors.get(reps[0]) if isinstance(reps, list) and reps else None
            if author is not None:
                source[i] = src_vocab.setdefault(f"@{author}", len(src_vocab))
        slot, until = r[col["pinned_slot"]], r[col["pinned_until"]]
        if slot and (until is None or until > now):
            pinned[i] = slot
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    np.divide(emb, norms, out=emb, where=norms > 0)

    def floats(name: str) -> np.ndarray:
        return np.fromiter((r[col[name]] or 0.0 for r in rows), dtype=np.float32, count=n)

    def hours(name: str) -> np.ndarray:
        return np.fromiter((r[col[name]].timestamp() / 3600.0 for r in rows), dtype=np.float64, count=n)

    return CandidatePool(
        ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
        emb=emb,
        category=np.fromiter((CATEGORY_INDEX.get(r[col["category"]], CATEGORY_INDEX["other"]) for r in rows), dtype=np.int16, count=n),
        lang=lang,
        loc=loc,
        trend_score=floats("trend_score"),
        velocity=floats("velocity"),
        author_count=floats("author_count"),
        first_seen_h=hours("first_seen_at"),
        last_seen_h=hours("last_seen_at"),
        health=floats("health"),
        impressions=floats("impressions"),
        clicks=floats("clicks"),
        boost=floats("boost"),
        pinned_slot=pinned,
        source=source,
        titles=[r[col["title"]] or "" for r in rows],
        lang_vocab=lang_vocab,
        loc_vocab=loc_vocab,
        loc_names=loc_names,
    )


def _token_cached(key: str, *, ttl_setting: str, ttl_default: float, load):
    """A per-process value, reloaded after `ttl` seconds or at once when the shared state token moves."""
    ttl = float(_setting(ttl_setting, ttl_default))
    token = _state_token()
    with _lock:
        entry = _token_cache.get(key)
        if entry and entry[0] == token and time.monotonic() - entry[1] < ttl:
            return entry[2]
    value = load()
    with _lock:
        _token_cache[key] = (token, time.monotonic(), value)
    return value


def pool_cached(*, now: dt.datetime) -> CandidatePool:
    return _token_cached("pool", ttl_setting="RANKING_POOL_TTL_S", ttl_default=20, load=lambda: pool_load(now=now))


# --- scorer and experiment -------------------------------------------------------------------------


def active_model_version() -> RankingModelVersion | None:
    return (
        RankingModelVersion.objects.filter(is_active=True, passed_checks=True).order_by("-trained_at").first()
    )


def scorer_for(config: RankConfig) -> Scorer:
    """The learned model if one passed its checks (and the config allows it), else the formula."""
    formula = FormulaScorer(weights=config.weights)
    if config.scorer == "formula":
        return formula
    learned = _learned_cached()
    return learned if learned is not None else formula


def _learned_cached():
    return _token_cached("model", ttl_setting="RANKING_MODEL_TTL_S", ttl_default=60, load=_learned_load)


def _learned_load():
    from trends.ranking.services import model_load

    version = active_model_version()
    if version is None:
        return None
    # The artifact is re-read only when the active version changes, not at every TTL expiry.
    cached = _model_cache.get("loaded")
    if cached and cached[0] == version.version:
        return cached[1]
    scorer = model_load(version=version)
    if scorer is not None:
        _model_cache["loaded"] = (version.version, scorer)
    return scorer


def active_experiment() -> Experiment | None:
    """The newest running experiment, cached per process like the model (one query saved per page)."""
    return _token_cached(
        "experiment",
        ttl_setting="RANKING_MODEL_TTL_S",
        ttl_default=60,
        load=lambda: Experiment.objects.filter(is_active=True, ended_at__isnull=True)
        .order_by("-started_at", "-pk")
        .first(),
    )


@dataclass
class Assignment:
    config: RankConfig
    label: str


def assignment_for(*, user_id: int) -> Assignment:
    base = RankConfig(weights={**DEFAULT_WEIGHTS, **_setting("RANKING_WEIGHTS", {})})
    experiment = active_experiment()
    if experiment is None or not experiment.variants:
        return Assignment(config=base, label="default")
    variant = variant_for(key=experiment.key, variants=experiment.variants, user_id=user_id)
    if variant is None:
        return Assignment(config=base, label="default")
    return Assignment(
        config=base.with_overrides(variant.get("config") or {}),
        label=variant_label(key=experiment.key, name=str(variant.get("name", "variant"))),
    )


# --- the user --------------------------------------------------------------------------------------


def user_context(*, user, pool: CandidatePool, now: dt.datetime) -> UserContext:
    """Everything per-user that ranking needs, from a few bounded queries."""
    since = now - dt.timedelta(days=int(_setting("RANKING_HISTORY_DAYS", 30)))
    engagements = list(
        Engagement.objects.filter(user=user, kind__in=POSITIVE_KINDS, created_at__gte=since)
        .order_by("-created_at")
        .values_list("event_id", "tweet_id", "kind", "created_at")[:300]
    )
    negatives = list(
        Engagement.objects.filter(user=user, kind__in=NEGATIVE_KINDS, event__isnull=False)
        .order_by("-created_at")
        .values_list("event_id", "tweet_id", "kind", "created_at")[:500]
    )
    seen_rows = (
        Engagement.objects.filter(
            user=user, kind="impression", event__isnull=False, created_at__gte=now - dt.timedelta(days=3)
        )
        .values("event_id")
        .annotate(n=Count("id"))
        .order_by()[:2000]
    )
    seen = {row["event_id"]: float(row["n"]) for row in seen_rows}
    follows = list(Follow.objects.filter(follower=user).values_list("followee_id", "followee__username")[:2000])
    handles = dict(follows)
    social: dict[int, list[str]] = {}
    if follows:
        posted = (
            Tweet.objects.filter(
                author_id__in=list(handles),
                created_at__gte=now - dt.timedelta(hours=int(_setting("RANKING_SOCIAL_HOURS", 72))),
                membership__isnull=False,
                is_deleted=False,
            )
            .values_list("membership__event_id", "author_id")
            .distinct()[:5000]
        )
        for event_id, author_id in posted:
            names = social.setdefault(event_id, [])
            if handles[author_id] not in names:
                names.append(handles[author_id])

    history = [r for r in engagements + negatives if r[0] is not None or r[1] is not None]
    event_rows = {r[0] for r in history if r[0] is not None}
    index = pool.index
    missing = [e for e in event_rows if e not in index][:200]
    extra: dict[int, tuple[np.ndarray, int, str]] = {}
    if missing:
        for event_id, blob, category, title in Event.objects.filter(id__in=missing).values_list(
            "id", "centroid", "category", "title"
        ):
            vec = np.frombuffer(bytes(blob), dtype="<f2").astype(np.float32) if blob else None
            if vec is not None and vec.size == DIM:
                extra[event_id] = (vec, CATEGORY_INDEX.get(category, 7), title)
    tweet_only = [r[1] for r in history if r[0] is None and r[1] is not None][:200]
    tweet_vecs: dict[int, np.ndarray] = {}
    if tweet_only:
        for tweet_id, blob in Tweet.objects.filter(id__in=tweet_only, embedding__isnull=False).values_list(
            "id", "embedding"
        ):
            vec = np.frombuffer(bytes(blob), dtype="<f2").astype(np.float32)
            if vec.size == DIM:
                tweet_vecs[tweet_id] = vec

    vecs, weights, cats, ages = [], [], [], []
    engaged_emb, engaged_titles, engaged_seen = [], [], set()
    for event_id, tweet_id, kind, created_at in history:
        vec, cat, title = None, -1, ""
        if event_id is not None and event_id in index:
            row = index[event_id]
            vec, cat, title = pool.emb[row], int(pool.category[row]), pool.titles[row]
        elif event_id is not None and event_id in extra:
            vec, cat, title = extra[event_id]
        elif tweet_id is not None and tweet_id in tweet_vecs:
            vec = tweet_vecs[tweet_id]
        if vec is None:
            continue
        vecs.append(vec)
        weights.append(KIND_WEIGHTS.get(kind, 0.0))
        cats.append(cat)
        ages.append((now - created_at).total_seconds() / 3600.0)
        if kind in POSITIVE_KINDS and title and event_id not in engaged_seen and len(engaged_titles) < 20:
            engaged_seen.add(event_id)
            engaged_emb.append(vec)
            engaged_titles.append(title)
    followee_rows = [index[e] for e in social if e in index][:50]
    interest, pref = build_interest(
        emb=np.asarray(vecs, dtype=np.float32).reshape(-1, DIM),
        weights=np.asarray(weights, dtype=np.float32),
        categories=np.asarray(cats, dtype=np.int64),
        ages_h=np.asarray(ages, dtype=np.float32),
        topics=list(getattr(user, "topics", None) or []),
        followee_emb=pool.emb[followee_rows] if followee_rows else None,
        dim=DIM,
    )
    languages = [code for code in (getattr(user, "languages", None) or []) if isinstance(code, str)]
    # "Show trends near me" off: the location neither ranks nor explains.
    location = (getattr(user, "location", "") or "").strip() if getattr(user, "show_local_trends", True) else ""
    loc_code = pool.loc_vocab.get(location.lower(), -1) if location else -1
    dismissed = {r[0] for r in negatives if r[0] is not None}
    return UserContext(
        interest=interest,
        category_pref=pref,
        lang_codes=np.asarray([pool.lang_vocab[c] for c in languages if c in pool.lang_vocab], dtype=np.int32),
        has_languages=bool(languages),
        loc_code=loc_code,
        location_name=pool.loc_names[loc_code] if loc_code >= 0 else location,
        social_count=pool.rows_for({e: len(h) for e, h in social.items()}),
        seen=pool.rows_for(seen),
        dismissed=pool.rows_for(dict.fromkeys(dismissed, 1.0)) > 0,
        social_handles=social,
        engaged_emb=np.asarray(engaged_emb, dtype=np.float32).reshape(-1, DIM) if engaged_emb else None,
        engaged_titles=engaged_titles,
        engaged=pool.rows_for(dict.fromkeys((r[0] for r in engagements if r[0] is not None), 1.0)) > 0,
    )


# --- entry points ----------------------------------------------------------------------------------


def _is_anonymous(user) -> bool:
    return user is None or not getattr(user, "is_authenticated", False)


def _explore_now(*, user_id: int, now: dt.datetime) -> bool:
    """A small, deterministic share of (user, hour) feeds is shown in random order: the unbiased
    held-out data the learned model must beat the formula on."""
    # Off unless configured: a shuffled page would make order-asserting tests elsewhere flaky.
    rate = float(_setting("RANKING_EXPLORE_RATE", 0.0))
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"explore:{user_id}:{now:%Y%m%d%H}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < rate


FEED_DEFERRED_FIELDS = (
    "centroid", "summary", "keywords", "hashtags", "entities", "domains", "languages", "representative_tweet_ids",
)


def _fetch_events(ids: list[int]) -> dict[int, Event]:
    """The page's events, re-checked at serve time: a hide or rejection since the pool was cached wins."""
    if not ids:
        return {}
    # The centroid and the term profiles (decoded JSON, kilobytes per event) are the detail page's and
    # ranking's business, not a card's: loading them was a third of a For You page's cost.
    return {
        e.pk: e
        for e in event_public_queryset().filter(pk__in=ids, state__in=LIVE_STATES).defer(*FEED_DEFERRED_FIELDS)
    }


def rank_for_user(*, user, limit: int = 20, offset: int = 0, category: str | None = None) -> list[RankedEvent]:
    if _is_anonymous(user):
        return trending_events(category=category, limit=limit, offset=offset)
    limit, offset = max(0, int(limit)), max(0, int(offset))
    if limit == 0:
        return []
    now = timezone.now()
    pool = pool_cached(now=now)
    assignment = assignment_for(user_id=user.pk)
    scorer = scorer_for(assignment.config)
    context = user_context(user=user, pool=pool, now=now)
    # A few spare items so events hidden since the pool was cached can be dropped without a short page.
    spare = 5
    out = rank_pool(
        pool=pool, user=context, scorer=scorer, config=assignment.config, now_h=now_hours(now),
        limit=limit + spare, offset=offset, category=category,
    )
    events = _fetch_events([int(pool.ids[r]) for r in out.rows])
    explore = _explore_now(user_id=user.pk, now=now)
    items: list[RankedEvent] = []
    for i, row in enumerate(out.rows.tolist()):
        event = events.get(int(pool.ids[row]))
        if event is None:
            continue
        features = features_as_dict(out.features[i])
        features["scorer"] = scorer.name
        if getattr(scorer, "version", None):
            features["model"] = scorer.version  # which artifact served it, for later analysis
        if explore:
            features["explore"] = 1
        items.append(
            RankedEvent(
                event=event, score=float(out.scores[i]), explanation=out.explanations[i],
                features=features, variant=assignment.label,
            )
        )
        if len(items) == limit:
            break
    if explore:
        # Shuffle only the unpinned items among their own indices: pins keep their slots.
        free = [i for i, it in enumerate(items) if not it.features.get("pinned")]
        seed = int.from_bytes(hashlib.sha256(f"{user.pk}:{now:%Y%m%d%H}".encode()).digest()[:8], "big")
        shuffled = np.random.default_rng(seed).permutation(len(free))
        reordered = list(items)
        for target, source in zip(free, shuffled.tolist(), strict=True):
            reordered[target] = items[free[source]]
        items = reordered
    for i, item in enumerate(items):
        item.position = offset + i + 1
    from trends.ranking.services import ranked_items_record

    ranked_items_record(user=user, items=items, now=now)
    return items


def trending_events(
    *,
    language: str | None = None,
    location: str | None = None,
    category: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[RankedEvent]:
    """Non-personalised: trend score order within language/location/category, pins in their slots."""
    limit, offset = max(0, int(limit)), max(0, int(offset))
    if limit == 0:
        return []
    now = timezone.now()
    pool = pool_cached(now=now)
    mask = np.ones(len(pool), dtype=bool)
    if category:
        mask &= pool.category == CATEGORY_INDEX.get(category, -99)
    if language:
        mask &= pool.lang == pool.lang_vocab.get(language, -99)
    loc_code = -1
    if location:
        loc_code = pool.loc_vocab.get(location.strip().lower(), -99)
        mask &= pool.loc == loc_code
    rows = trending_order(pool=pool, mask=mask, limit=limit + 5, offset=offset)
    events = _fetch_events([int(pool.ids[r]) for r in rows])
    cold = UserContext(
        interest=np.zeros(DIM, dtype=np.float32),
        category_pref=np.full(len(CATEGORIES), 1.0 / len(CATEGORIES), dtype=np.float32),
        lang_codes=np.zeros(0, dtype=np.int32),
        has_languages=False,
        loc_code=loc_code,
        social_count=np.zeros(len(pool), dtype=np.float32),
        seen=np.zeros(len(pool), dtype=np.float32),
        dismissed=np.zeros(len(pool), dtype=bool),
    )
    X = compute_features(pool=pool, user=cold, rows=rows, now_h=now_hours(now))
    items = []
    for i, row in enumerate(rows.tolist()):
        event = events.get(int(pool.ids[row]))
        if event is None:
            continue
        where = event.location if location and event.location else ""
        items.append(
            RankedEvent(
                event=event,
                score=float(pool.trend_score[row] + pool.boost[row]),
                explanation=f"Popular in {where}" if where else trending_phrase(int(pool.category[row])),
                features=features_as_dict(X[i]),
                variant="trending",
                position=offset + len(items) + 1,
            )
        )
        if len(items) == limit:
            break
    return items


# --- experiments -----------------------------------------------------------------------------------


def experiment_results(*, key: str) -> dict[str, Any]:
    """Per-variant exposure, CTR, dismiss rate, diversity and coverage of one experiment."""
    experiment = Experiment.objects.get(key=key)
    since = experiment.started_at
    until = experiment.ended_at or timezone.now()
    prefix = f"{key}:"
    variants = experiment.variants or []
    labels = {variant_label(key=key, name=str(v.get("name"))): v for v in variants}
    stats: dict[str, dict[str, Any]] = {
        label: {
            "name": str(v.get("name")), "label": label, "weight": v.get("weight", 0),
            "config": v.get("config") or {}, "users": 0, "lists": 0, "items": 0,
            "impressions": 0, "clicks": 0, "dismissals": 0, "reports": 0,
        }
        for label, v in labels.items()
    }

    def label_for(stored: str, user_id: int) -> str | None:
        if stored.startswith(prefix):
            return stored if stored in stats else None
        if stored:
            return None  # another experiment's or the default ranker's traffic
        variant = variant_for(key=key, variants=variants, user_id=user_id)
        return variant_label(key=key, name=str(variant.get("name"))) if variant else None

    counts = (
        Engagement.objects.filter(
            created_at__gte=since, created_at__lte=until, kind__in=("impression", "click", "dismiss", "report")
        )
        .filter(surface__in=("for_you", ""))
        .values("user_id", "variant", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    field = {"impression": "impressions", "click": "clicks", "dismiss": "dismissals", "report": "reports"}
    for row in counts:
        label = label_for(row["variant"] or "", row["user_id"])
        if label is not None:
            stats[label][field[row["kind"]]] += row["n"]

    exposure = (
        RankedItem.objects.filter(ranked_at__gte=since, ranked_at__lte=until, variant__startswith=prefix)
        .values("variant")
        .annotate(users=Count("user_id", distinct=True), items=Count("id"), events=Count("event_id", distinct=True))
        .order_by()
    )
    for row in exposure:
        if row["variant"] in stats:
            s = stats[row["variant"]]
            s["users"], s["items"], s["distinct_events"] = row["users"], row["items"], row["events"]

    # Diversity and coverage over the most recent served lists (bounded sample).
    recent = list(
        RankedItem.objects.filter(ranked_at__gte=since, ranked_at__lte=until, variant__startswith=prefix)
        .order_by("-ranked_at")
        .values_list("variant", "user_id", "ranked_at", "event_id")[:5000]
    )
    lists: dict[tuple, list[int]] = {}
    for variant, user_id, ranked_at, event_id in recent:
        lists.setdefault((variant, user_id, ranked_at), []).append(event_id)
    event_ids = {e for ids in lists.values() for e in ids}
    vectors: dict[int, tuple[np.ndarray | None, int]] = {}
    for event_id, blob, category in Event.objects.filter(id__in=event_ids).values_list("id", "centroid", "category"):
        vec = np.frombuffer(bytes(blob), dtype="<f2").astype(np.float32) if blob else None
        if vec is not None:
            norm = float(np.linalg.norm(vec))
            vec = vec / norm if norm > 0 else None
        vectors[event_id] = (vec, CATEGORY_INDEX.get(category, 7))
    per_variant: dict[str, dict[str, list[float]]] = {}
    for (variant, _, _), ids in lists.items():
        if variant not in stats:
            continue
        acc = per_variant.setdefault(variant, {"ild": [], "cov": []})
        vecs = [vectors[e][0] for e in ids if e in vectors and vectors[e][0] is not None]
        if len(vecs) >= 2:
            acc["ild"].append(intra_list_diversity(np.vstack(vecs)))
        cats = np.asarray([vectors[e][1] for e in ids if e in vectors])
        if cats.size:
            acc["cov"].append(category_coverage(cats, len(CATEGORIES)))
    for label, s in stats.items():
        acc = per_variant.get(label, {"ild": [], "cov": []})
        s["lists"] = sum(1 for k in lists if k[0] == label)
        s["ctr"] = round(s["clicks"] / s["impressions"], 4) if s["impressions"] else None
        s["dismiss_rate"] = round((s["dismissals"] + s["reports"]) / s["impressions"], 4) if s["impressions"] else None
        s["intra_list_diversity"] = round(float(np.mean(acc["ild"])), 4) if acc["ild"] else None
        s["category_coverage"] = round(float(np.mean(acc["cov"])), 4) if acc["cov"] else None
        s.setdefault("distinct_events", 0)
    return {
        "key": key,
        "description": experiment.description,
        "is_active": experiment.is_active,
        "started_at": since.isoformat(),
        "ended_at": experiment.ended_at.isoformat() if experiment.ended_at else None,
        "variants": list(stats.values()),
    }


__all__ = [
    "active_model_version", "assignment_for", "experiment_results", "pool_load", "rank_for_user",
    "ranking_caches_invalidate", "scorer_for", "trending_events", "user_context",
]
