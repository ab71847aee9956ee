"""Production overlay: DJANGO_SETTINGS_MODULE=explore_site.settings.production.

The base settings already turn on secure cookies, HSTS and SSL redirects whenever DJANGO_DEBUG=0;
this module refuses to start at all unless the deployment really has the production shape, so a
missing variable fails at boot (one line, non-zero exit) instead of degrading quietly at run time
(a SQLite file on a web node, tasks run inside web requests, rate limits counted per process, a site
that answers no host).
"""

from explore_site.settings import *  # noqa: F403
from explore_site.settings import ALLOWED_HOSTS, CACHES, CELERY_TASK_ALWAYS_EAGER, DATABASES, DEBUG

_problems = []
if DEBUG:
    _problems.append("DJANGO_DEBUG must be 0")
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    _problems.append("DATABASE_URL must point at PostgreSQL")
if CELERY_TASK_ALWAYS_EAGER:
    _problems.append("CELERY_BROKER_URL must be set (tasks must not run inside web requests)")
if "locmem" in CACHES["default"]["BACKEND"].lower():
    # Rate limits (log-in, sign-up, posting) and API throttles count in the cache: a per-process cache
    # would multiply every limit by the number of web processes.
    _problems.append("CACHE_URL must point at a shared cache (Redis)")
if not ALLOWED_HOSTS:
    _problems.append("DJANGO_ALLOWED_HOSTS must list the site's host names")
if _problems:
    raise SystemExit("Configuration error (explore_site.settings.production): " + "; ".join(_problems))

# Reuse database connections between requests; health checks drop ones PostgreSQL has closed.
DATABASES["default"]["CONN_MAX_AGE"] = max(DATABASES["default"].get("CONN_MAX_AGE") or 0, 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
