"""The Redis cache backend builds one client per connection pool (explore_site.redis_cache)."""

import os
import uuid

import pytest
import redis

from explore_site.redis_cache import RedisCache

URL = os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="needs Redis (CI has it)")


def test_client_is_built_once_and_works():
    cache = RedisCache(URL, {"KEY_PREFIX": f"t-{uuid.uuid4().hex}"})
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=False) is first
    cache.set("k", {"html": "x" * 1000}, 30)
    assert cache.get_many(["k", "missing"]) == {"k": {"html": "x" * 1000}}
    assert cache.add("k2", 1, 30)
    assert cache.incr("k2") == 2 and cache.get("k2") == 2
    cache.delete_many(["k", "k2"])
    assert cache.get("k") is None
