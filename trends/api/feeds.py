"""The API's one door to the ranker, with a fallback while trends.ranking is not wired up yet.

trends.ranking is built in parallel; when its package exports `rank_for_user` / `trending_events`
the API uses them (checked on every call, so no redeploy of this module is needed). Until then,
feeds fall back to the plain trending selector with a generic explanation.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from trends import selectors
from trends.api.serializers import EventSerializer
from trends.ranking.types import RankedEvent

logger = logging.getLogger(__name__)
FALLBACK_VARIANT = "fallback-trending"


def _ranking_function(name: str):
    try:
        module = importlib.import_module("trends.ranking")
    except ImportError:
        return None
    return getattr(module, name, None)


def _fallback(events: list[Any], *, offset: int, explanation: str) -> list[RankedEvent]:
    return [
        RankedEvent(
            event=event,
            score=float(event.trend_score),
            explanation=explanation,
            features={"trend": float(event.trend_score)},
            variant=FALLBACK_VARIANT,
            position=offset + index + 1,
        )
        for index, event in enumerate(events)
    ]


def _normalise(items, *, offset: int, explanation: str) -> list[RankedEvent]:
    """Accept RankedEvent-like items or bare events (a ranker returning plain events still works)."""
    out = []
    for index, item in enumerate(items):
        if hasattr(item, "event"):
            if not getattr(item, "position", 0):
                item.position = offset + index + 1
            out.append(item)
        else:
            out.extend(_fallback([item], offset=offset + index, explanation=explanation))
    return out


def for_you(*, user, limit: int, offset: int, category: str | None = None) -> list[RankedEvent]:
    rank = _ranking_function("rank_for_user")
    if rank is not None:
        try:
            items = rank(user=user, limit=limit, offset=offset, category=category)
            return _normalise(items, offset=offset, explanation="Recommended for you")
        except Exception:
            # A ranker failure must not take the Explore tab down: serve trending, loudly.
            logger.exception("rank_for_user failed; serving the trending fallback")
    languages = [lang for lang in (user.languages or []) if isinstance(lang, str)]
    events = selectors.event_list_trending(
        language=languages[0] if len(languages) == 1 else None, category=category, limit=limit, offset=offset
    )
    return _fallback(events, offset=offset, explanation="Trending now")


def trending(
    *, language: str | None, location: str | None, category: str | None, limit: int, offset: int
) -> list[RankedEvent]:
    rank = _ranking_function("trending_events")
    if rank is not None:
        try:
            items = rank(language=language, location=location, category=category, limit=limit, offset=offset)
            return _normalise(items, offset=offset, explanation="Trending")
        except Exception:
            logger.exception("trending_events failed; serving the selector fallback")
    events = selectors.event_list_trending(
        language=language, location=location, category=category, limit=limit, offset=offset
    )
    where = f" in {location}" if location else ""
    return _fallback(events, offset=offset, explanation=f"Trending{where}")


def _plain(value: Any) -> Any:
    """numpy scalars and nested containers -> JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def ranked_payload(items) -> list[dict]:
    # One serializer for the whole page: a serializer per item deep-copies its fields every time.
    events = EventSerializer([item.event for item in items], many=True).data
    return [
        {
            "position": int(item.position),
            "score": float(item.score),
            "explanation": item.explanation or "",
            "features": _plain(item.features or {}),
            "variant": item.variant or "",
            "event": event,
        }
        for item, event in zip(items, events, strict=True)
    ]


def feed_basis(items) -> list[list]:
    """What a ranked page's weak ETag is computed from: which events, in which order, shown how."""
    return [[i.position, i.event.pk, i.event.updated_at, i.explanation, i.variant] for i in items]
