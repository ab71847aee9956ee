"""Write-side logic the API needs on top of trends.services / users.services."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.authtoken.models import Token

from trends import services
from trends.api.exceptions import flatten_errors
from trends.models import IdempotencyKey, Tweet
from users.models import User


@dataclass
class BulkItemResult:
    index: int
    status: int
    tweet: Tweet | None = None
    errors: dict[str, list[str]] | None = None


def tweet_input_errors(*, data: Any, allowed: frozenset[str]) -> dict[str, list[str]]:
    """Shape errors the validator cannot see: not an object, unknown fields."""
    if not isinstance(data, Mapping):
        return {"non_field_errors": ["Expected a JSON object."]}
    return {str(name): ["Unknown field."] for name in sorted(set(data) - allowed, key=str)}


def tweets_bulk_create(*, author: User, items: list[Any], allowed: frozenset[str]) -> list[BulkItemResult]:
    """Validate every item; store the valid ones in one transaction; report each item's fate.

    An item is stored whole or not at all; one bad item never blocks the good ones.
    """
    results: list[BulkItemResult] = []
    valid: list[tuple[int, services.TweetInput]] = []
    for index, data in enumerate(items):
        errors = tweet_input_errors(data=data, allowed=allowed)
        if not errors:
            try:
                valid.append(
                    (index, services.tweet_validate(data={**data, "author_id": author.pk, "source": "api"}))
                )
                continue
            except ValidationError as exc:
                errors = flatten_errors(exc.message_dict)
        results.append(BulkItemResult(index=index, status=400, errors=errors))
    if valid:
        # Ids are assigned here so each item maps to its row (tweets_ingest skips ids that exist).
        valid = [
            (index, dataclasses.replace(item, tweet_id=services.snowflake_id(at=item.created_at)))
            for index, item in valid
        ]
        with transaction.atomic():
            ingest = services.tweets_ingest(items=[item for _, item in valid])
            created = set(ingest.created_ids)
            User.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + len(created))
        stored = Tweet.objects.select_related("author").in_bulk(list(created))
        for index, item in valid:
            if item.tweet_id in stored:
                results.append(BulkItemResult(index=index, status=201, tweet=stored[item.tweet_id]))
            else:
                results.append(
                    BulkItemResult(index=index, status=400, errors={"id": ["Could not allocate a post id; retry."]})
                )
    results.sort(key=lambda r: r.index)
    return results


def tweet_soft_delete(*, tweet: Tweet) -> bool:
    """Hide a post everywhere (it stays for the audit trail); False when it was already deleted."""
    with transaction.atomic():
        changed = Tweet.objects.filter(pk=tweet.pk, is_deleted=False).update(is_deleted=True)
        if changed and tweet.author_id:
            User.objects.filter(pk=tweet.author_id, posts_count__gt=0).update(posts_count=F("posts_count") - 1)
    tweet.is_deleted = True
    return bool(changed)


_PROFILE_FIELDS = {"display_name", "bio", "email", "location", "languages", "topics", "show_local_trends"}


def user_profile_update(*, user: User, data: Mapping[str, Any]) -> User:
    fields = [name for name in data if name in _PROFILE_FIELDS]
    for name in fields:
        setattr(user, name, data[name])
    if fields:
        user.save(update_fields=fields)
    return user


def token_issue(*, request, handle: str, password: str) -> Token:
    """Exchange handle + password for the account's API token (the same token until revoked)."""
    user = authenticate(request=request, username=handle.strip().lstrip("@"), password=password)
    if user is None:
        # Handles are case-insensitive; the auth backend matches exactly, so retry with the stored spelling.
        stored = User.objects.filter(username__iexact=handle.strip().lstrip("@")).values_list("username", flat=True).first()
        if stored and stored != handle:
            user = authenticate(request=request, username=stored, password=password)
    if user is None or not user.is_active:
        raise ValidationError({"non_field_errors": ["Handle or password is wrong."]})
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user: User) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


IDEMPOTENCY_KEY_TTL = dt.timedelta(hours=24)


def idempotency_keys_purge(*, older_than: dt.timedelta = IDEMPOTENCY_KEY_TTL, now: dt.datetime | None = None) -> int:
    """Forget stored answers older than the replay window (clients retry within minutes, not days)."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
