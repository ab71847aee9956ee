"""Keeps stored pages honest when the user behind them changes."""

from __future__ import annotations

from django.contrib.auth import get_user_model, user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from users.models import save_changes_nothing_cached


def _user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    # A password change, deactivation, new staff role or edited profile all save the user: the
    # stored page (and its copy of the auth hash) must not outlive them. Login only touches
    # last_login, which changes nothing on the page.
    if save_changes_nothing_cached(created=created, update_fields=update_fields):
        return
    from trends.pages.services import page_invalidate

    page_invalidate(user_id=instance.pk)


def _user_deleted(sender, instance, **kwargs) -> None:
    # Sessions outlive a deleted account until they expire; its stored page must not.
    from trends.pages.services import page_invalidate

    page_invalidate(user_id=instance.pk)


def _logged_in(sender, request, user, **kwargs) -> None:
    # The page is usually ready by the time the redirect after login asks for it.
    from trends.pages.services import page_refresh_enqueue

    transaction.on_commit(lambda: page_refresh_enqueue(user_id=user.pk), robust=True)


def connect() -> None:
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="trends.pages.user_saved")
    post_delete.connect(_user_deleted, sender=get_user_model(), dispatch_uid="trends.pages.user_deleted")
    user_logged_in.connect(_logged_in, dispatch_uid="trends.pages.logged_in")
