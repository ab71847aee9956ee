"""Personalised ranking for the Explore tab (work in progress: entry points land with the selectors)."""

from trends.ranking.types import RankedEvent

__all__ = ["RankedEvent"]
