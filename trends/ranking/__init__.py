"""Personalised ranking for the Explore tab ("For You") and the non-personalised trending order.

Entry points (stable; pages, API and staff dashboards call these):
  rank_for_user(*, user, limit=20, offset=0, category=None) -> list[RankedEvent]
  trending_events(*, language=None, location=None, category=None, limit=20, offset=0) -> list[RankedEvent]
  experiment_results(*, key) -> dict

The pure core (types, features, scoring, rerank, explain, engine) imports no ORM; the DB-facing
functions are imported lazily so `import trends.ranking` is safe at app-loading time.
"""

from __future__ import annotations

from typing import Any

from trends.ranking.types import RankedEvent

__all__ = ["RankedEvent", "experiment_results", "rank_for_user", "trending_events"]


def rank_for_user(*, user, limit: int = 20, offset: int = 0, category: str | None = None) -> list[RankedEvent]:
    from trends.ranking.selectors import rank_for_user as impl

    return impl(user=user, limit=limit, offset=offset, category=category)


def trending_events(
    *,
    language: str | None = None,
    location: str | None = None,
    category: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[RankedEvent]:
    from trends.ranking.selectors import trending_events as impl

    return impl(language=language, location=location, category=category, limit=limit, offset=offset)


def experiment_results(*, key: str) -> dict[str, Any]:
    from trends.ranking.selectors import experiment_results as impl

    return impl(key=key)
