from explore_site.settings.env import env_int, env_str

REDIS_CACHE_URL = env_str("CACHE_URL")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "explore_site.redis_cache.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "explore"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Per-user feeds are cached briefly: fresh enough for "right now", cheap under read load.
FEED_CACHE_SECONDS = env_int("FEED_CACHE_SECONDS", 30)

# Finished For You pages (trends.pages). A page older than the refresh age is still served once
# while a worker renders the next; none is ever served past the max age. 0 turns the page cache off.
# A page is a snapshot: what started trending since is announced by the page's "N new" banner
# (polled every 30 s), so a minute-old page is not a stale experience.
FOR_YOU_PAGE_REFRESH_SECONDS = env_int("FOR_YOU_PAGE_REFRESH_SECONDS", 60)
FOR_YOU_PAGE_MAX_AGE_SECONDS = env_int("FOR_YOU_PAGE_MAX_AGE_SECONDS", 300)
# "Active" for precomputing pages: asked for For You within this many seconds; at most this many users per pass.
FOR_YOU_ACTIVE_SECONDS = env_int("FOR_YOU_ACTIVE_SECONDS", 900)
FOR_YOU_PRECOMPUTE_LIMIT = env_int("FOR_YOU_PRECOMPUTE_LIMIT", 5000)
# Pages every visitor without a session sees alike (the Explore tabs, event pages) are stored once
# for all of them. After FRESH seconds the next visitor re-renders it while the others keep getting
# the stored copy for up to STALE more seconds: one render per page per interval, never a stampede
# of renders when a popular page expires. Curation changes drop them at once.
SHARED_PAGE_FRESH_SECONDS = env_int("SHARED_PAGE_FRESH_SECONDS", 30)
SHARED_PAGE_STALE_SECONDS = env_int("SHARED_PAGE_STALE_SECONDS", 90)

# Sessions are read on every signed-in request: keep them in the cache, written through to the
# database so a cache flush logs no one out. With the in-memory cache (no CACHE_URL) each process
# would have its own copy, so plain database sessions there.
SESSION_ENGINE = env_str(
    "SESSION_ENGINE",
    "django.contrib.sessions.backends.cached_db" if REDIS_CACHE_URL else "django.contrib.sessions.backends.db",
)
