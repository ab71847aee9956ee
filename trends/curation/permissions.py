"""Access control for the curation panel: one rule, applied the same way to every view.

Anyone without the permission, signed in or not, gets 403 (never a redirect): the panel's URLs are
not advertised, and a uniform answer does not reveal which pages exist to whom.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied

PERM_REVIEW = "trends.review_event"
PERM_CURATE = "trends.curate_event"
PERM_BLOCKLIST = "trends.manage_blocklist"
PERM_HEALTH = "trends.view_pipeline_health"
PERM_AUDIT = "trends.view_auditlog"
ALL_PERMS = (PERM_REVIEW, PERM_CURATE, PERM_BLOCKLIST, PERM_HEALTH, PERM_AUDIT)


def user_can(user, perm: str) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(perm))


def user_is_curation_staff(user) -> bool:
    return any(user_can(user, perm) for perm in ALL_PERMS)


def permission_required(perm: str | None = None) -> Callable:
    """403 unless the user holds `perm` (or, with None, any curation permission)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            allowed = user_can(request.user, perm) if perm else user_is_curation_staff(request.user)
            if not allowed:
                raise PermissionDenied("You do not have access to this part of the curation panel.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
