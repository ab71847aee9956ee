"""Periodic curation work. Thin: each task calls one service. Names are explicit and stable.

The lead adds these to the beat schedule (explore_site/schedule.py), e.g.
    "curation-notify-pending": {"task": "curation.notify_pending", "schedule": 60.0},
    "curation-reconcile": {"task": "curation.reconcile", "schedule": 300.0},
"""

from __future__ import annotations

from celery import shared_task

from trends.curation import services


@shared_task(name="curation.notify_pending", queue="maintenance", time_limit=120)
def notify_pending() -> int:
    return services.review_notify_pending()


@shared_task(name="curation.reconcile", queue="maintenance", time_limit=300)
def reconcile() -> dict[str, int]:
    return services.events_reconcile()
