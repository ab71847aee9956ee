"""Deterministic bucketing of users into experiment variants (no stored assignment needed)."""

from __future__ import annotations

import hashlib
from typing import Any

BUCKETS = 10_000


def bucket_of(*, key: str, user_id: int) -> int:
    """Stable 0..BUCKETS-1 from the experiment key and user id (same on every process and machine)."""
    digest = hashlib.sha256(f"{key}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def variant_for(*, key: str, variants: list[dict[str, Any]], user_id: int) -> dict[str, Any] | None:
    """The variant (a dict with name/weight/config) this user falls into; None if no variant has weight."""
    weights = [max(0.0, float(v.get("weight", 0))) for v in variants]
    total = sum(weights)
    if total <= 0:
        return None
    point = bucket_of(key=key, user_id=user_id) / BUCKETS * total
    cumulative = 0.0
    for variant, weight in zip(variants, weights, strict=True):
        cumulative += weight
        if point < cumulative and weight > 0:
            return variant
    return next(v for v, w in zip(variants, weights, strict=True) if w > 0)


def variant_label(*, key: str, name: str) -> str:
    """What RankedItem.variant and Engagement.variant store: unambiguous across experiments."""
    return f"{key}:{name}"[:64]
