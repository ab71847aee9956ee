from django.core.exceptions import ImproperlyConfigured

from explore_site.settings.env import env_int, env_str


def _rate(name: str, default: str) -> tuple[int, int]:
    """"COUNT/SECONDS", e.g. RATE_LIMIT_LOGIN=10/300: at most 10 attempts per 5 minutes per client."""
    raw = env_str(name, default)
    try:
        count, seconds = (int(part) for part in raw.split("/"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must look like COUNT/SECONDS, got {raw!r}") from exc
    if count <= 0 or seconds <= 0:
        raise ImproperlyConfigured(f"{name} must be positive, got {raw!r}")
    return count, seconds


# Site (browser) rate limits per client; the API has its own scoped DRF throttles.
RATE_LIMITS = {
    "login": _rate("RATE_LIMIT_LOGIN", "10/300"),
    "signup": _rate("RATE_LIMIT_SIGNUP", "5/3600"),
    "post": _rate("RATE_LIMIT_POST", "30/600"),
}

# An event's "top" posts are the best of its most recent posts, not of all of them: an event with
# 200,000 posts would otherwise sort all 200,000 on every uncached page view (docs/benchmarks.md,
# "Shared pages, cheaper event renders"), and for "what is happening now" the latest thousand are
# the ones worth showing first.
EVENT_TOP_POSTS_WINDOW = env_int("EVENT_TOP_POSTS_WINDOW", 1000)
