"""Token authentication whose token -> user lookup is kept in the cache.

DRF looks the token and its user up in the database on every request: a query (and its SQL
compilation) that was the biggest single cost of a cached API answer. The pair is cached for
API_TOKEN_CACHE_SECONDS and dropped at once when the token is deleted (revoked or regenerated) or
its user is saved (deactivated, password or roles changed) or deleted; the timeout bounds anything
else (a raw SQL change). Cache keys hold a hash of the token, never the token itself.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

logger = logging.getLogger(__name__)


def token_cache_key(key: str) -> str:
    return "apitoken:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        ttl = settings.API_TOKEN_CACHE_SECONDS
        cache_key = token_cache_key(key)
        if ttl > 0:
            try:
                cached = cache.get(cache_key)
            except Exception:  # a cache outage falls back to the database, never to an error
                logger.warning("token cache unavailable", exc_info=True)
                cached = None
            if cached is not None:
                return cached
        user, token = super().authenticate_credentials(key)  # raises AuthenticationFailed
        if ttl > 0:
            try:
                cache.set(cache_key, (user, token), ttl)
            except Exception:
                logger.warning("token cache unavailable", exc_info=True)
        return user, token


def token_cache_forget(*, keys: list[str]) -> None:
    def forget() -> None:
        try:
            cache.delete_many([token_cache_key(k) for k in keys])
        except Exception:
            logger.warning("token cache unavailable; cached tokens expire on their own", exc_info=True)

    forget()
    # Also after the commit: a request between the delete and the commit could cache the old row.
    transaction.on_commit(forget, robust=True)


def _token_deleted(sender, instance, **kwargs) -> None:
    token_cache_forget(keys=[instance.key])


def _user_changed(sender, instance, created: bool = False, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and set(update_fields) <= {"last_login", "last_seen_at"}):
        return
    keys = list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True))
    if keys:
        token_cache_forget(keys=keys)


def connect() -> None:
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="trends.api.token_deleted")
    post_save.connect(_user_changed, sender=get_user_model(), dispatch_uid="trends.api.token_user_saved")
    post_delete.connect(_user_changed, sender=get_user_model(), dispatch_uid="trends.api.token_user_deleted")
