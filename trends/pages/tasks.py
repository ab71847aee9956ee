"""Celery tasks of the page cache: thin wrappers over trends.pages.services."""

from __future__ import annotations

from celery import shared_task

from trends.tasks import TRANSIENT_ERRORS


@shared_task(
    name="pages.refresh",
    queue="pages",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=3,
    time_limit=60,
    soft_time_limit=50,
)
def page_refresh(user_id: int) -> bool:
    """Re-render one user's page if it changed; a user gone or deactivated since gets none."""
    from django.contrib.auth import get_user_model

    from trends.pages.services import page_refresh as refresh

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    return refresh(user=user)


@shared_task(name="pages.precompute", queue="pages", time_limit=900, soft_time_limit=840)
def pages_precompute() -> int:
    """Render every recently active user's page (after a curation change made them all stale)."""
    from trends.pages.services import pages_precompute as run

    return run().pages
