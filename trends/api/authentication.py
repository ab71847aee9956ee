"""Token authentication whose token -> user lookup is kept in the cache.

DRF looks the token and its user up in the database on every request: a query (and its SQL
compilation) that was the biggest single cost of a cached API answer. For reads (GET, HEAD,
OPTIONS) the pair is cached for API_TOKEN_CACHE_SECONDS and dropped at once when the token is
deleted (revoked or regenerated, or with its user) or its user is saved (deactivated, password or
roles changed); the timeout bounds anything else (a bulk update such as the trust-score job's). Writes
always load the user afresh, so a request that saves the user never writes back a cached copy's
older fields. Cache keys hold a hash of the token, never the token, and the cached user carries
no password hash.
"""

from __future__ import annotations

import copy
import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import SAFE_METHODS

from users.models import save_changes_nothing_cached

logger = logging.getLogger(__name__)


def token_cache_key(key: str) -> str:
    return "apitoken:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    cacheable = False

    def authenticate(self, request):
        # DRF builds the authenticators for each request, so this is per request.
        self.cacheable = request.method in SAFE_METHODS
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        ttl = settings.API_TOKEN_CACHE_SECONDS if self.cacheable else 0
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
            stored_user = copy.copy(user)
            stored_user.password = ""  # nothing a read needs; unusable if anything asked
            stored_token = copy.copy(token)
            stored_token.user = stored_user
            try:
                cache.set(cache_key, (stored_user, stored_token), ttl)
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


def _user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    if save_changes_nothing_cached(created=created, update_fields=update_fields):
        return
    keys = list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True))
    if keys:
        token_cache_forget(keys=keys)


def connect() -> None:
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="trends.api.token_deleted")
    # A deleted user's tokens are deleted with it (cascade), each through _token_deleted.
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="trends.api.token_user_saved")
