"""Celery tasks for ranking: thin wrappers over trends.ranking.services."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="ranking.train_model", queue="scoring", time_limit=900, soft_time_limit=840)
def train_model(days: int = 14) -> dict:
    """Retrain from the served-feed log; activates the new model only if it beats the formula."""
    from trends.ranking.services import model_train

    outcome = model_train(days=days)
    if outcome.version is None:
        logger.info("ranking model not trained: %s", outcome.fit.reason)
        return {"trained": False, "reason": outcome.fit.reason}
    return {
        "trained": True,
        "version": outcome.version.version,
        "active": outcome.version.is_active,
        "reason": outcome.fit.reason,
    }


@shared_task(name="ranking.prune_served_log", queue="scoring", time_limit=600)
def prune_served_log(keep_days: int = 30) -> int:
    """Delete RankedItem rows older than the training window (the log grows with every page view)."""
    from trends.ranking.services import ranked_items_prune

    return ranked_items_prune(keep_days=keep_days)
