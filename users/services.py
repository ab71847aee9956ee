"""Write-side logic for accounts and the follow graph."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from users.models import HANDLE_VALIDATOR, Follow, User


def user_create(
    *,
    handle: str,
    password: str | None = None,
    email: str = "",
    display_name: str = "",
    validate: bool = True,
    **extra: Any,
) -> User:
    handle = (handle or "").strip().lstrip("@")
    try:
        HANDLE_VALIDATOR(handle)
    except ValidationError as exc:
        raise ValidationError({"handle": exc.messages}) from exc
    if User.objects.filter(username__iexact=handle).exists():
        raise ValidationError({"handle": "This handle is taken."})
    user = User(username=handle, email=email, display_name=display_name or handle, **extra)
    if password is not None:
        if validate:
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"handle": "This handle is taken."}) from exc
    return user


def follow_create(*, follower: User, followee: User) -> bool:
    """Follow; returns False when already following (idempotent)."""
    if follower.pk == followee.pk:
        raise ValidationError({"followee": "You cannot follow yourself."})
    with transaction.atomic():
        _, created = Follow.objects.get_or_create(follower=follower, followee=followee)
        if created:
            User.objects.filter(pk=follower.pk).update(following_count=F("following_count") + 1)
            User.objects.filter(pk=followee.pk).update(followers_count=F("followers_count") + 1)
    return created


def follow_delete(*, follower: User, followee: User) -> bool:
    with transaction.atomic():
        deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
        if deleted:
            User.objects.filter(pk=follower.pk).update(following_count=F("following_count") - 1)
            User.objects.filter(pk=followee.pk).update(followers_count=F("followers_count") - 1)
    return bool(deleted)


PAGERANK_DAMPING = 0.85
PAGERANK_ITERATIONS = 50


def users_compute_trust() -> int:
    """PageRank over the follow graph, rescaled to 0..1 by log-rank so one celebrity does not squash everyone.

    A follow from a trusted account is worth more than one from a fresh account, which is what keeps
    rings of new accounts that follow each other at the bottom.
    """
    import numpy as np
    from django.utils import timezone
    from scipy import sparse

    ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    n = len(ids)
    if n == 0:
        return 0
    index = {pk: i for i, pk in enumerate(ids)}
    edges = list(Follow.objects.values_list("follower_id", "followee_id"))
    if edges:
        src = np.fromiter((index[a] for a, _ in edges), dtype=np.int64, count=len(edges))
        dst = np.fromiter((index[b] for _, b in edges), dtype=np.int64, count=len(edges))
    else:
        src = dst = np.zeros(0, dtype=np.int64)
    out_degree = np.bincount(src, minlength=n).astype(np.float64)
    weights = 1.0 / out_degree[src] if len(src) else np.zeros(0)
    matrix = sparse.csr_matrix((weights, (dst, src)), shape=(n, n))
    rank = np.full(n, 1.0 / n)
    dangling = out_degree == 0
    for _ in range(PAGERANK_ITERATIONS):
        new = PAGERANK_DAMPING * (matrix @ rank + rank[dangling].sum() / n) + (1 - PAGERANK_DAMPING) / n
        if np.abs(new - rank).sum() < 1e-9:
            rank = new
            break
        rank = new
    # Rank relative to the uniform baseline, on a log scale, squashed into 0..1.
    relative = np.log2(rank * n)
    trust = 1.0 / (1.0 + np.exp(-relative))
    now = timezone.now()
    users = list(User.objects.only("pk", "trust_score"))
    for user in users:
        user.trust_score = float(trust[index[user.pk]])
        user.trust_computed_at = now
    User.objects.bulk_update(users, ["trust_score", "trust_computed_at"], batch_size=2000)
    return n
