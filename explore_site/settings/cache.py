from explore_site.settings.env import env_int, env_str

REDIS_CACHE_URL = env_str("CACHE_URL")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "explore"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Per-user feeds are cached briefly: fresh enough for "right now", cheap under read load.
FEED_CACHE_SECONDS = env_int("FEED_CACHE_SECONDS", 30)
