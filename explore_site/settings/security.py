from explore_site.settings.base import DEBUG
from explore_site.settings.env import env_bool, env_int, env_list, env_str

DEV_SECRET_KEY = "dev-insecure-explore-key-not-for-production"
_secret = env_str("DJANGO_SECRET_KEY")
if not DEBUG and _secret in (None, DEV_SECRET_KEY):
    # One readable line and a non-zero exit, not a traceback: this is an operator's mistake, not a bug,
    # and it must stop every process (web, worker, beat, manage.py) before it serves anything.
    raise SystemExit(
        "Configuration error: DJANGO_SECRET_KEY must be set (to a long random value) when DJANGO_DEBUG=0; "
        "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
# Development only: DEBUG is on, so this key never protects a production site.
SECRET_KEY = _secret or DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and a local Prometheus often probe over plain HTTP inside the network: a redirect to
# HTTPS would read as "down". Neither endpoint sets cookies or shows user content.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# /metrics: with a token, scrapers send `Authorization: Bearer <token>`; without one, loopback or staff only.
METRICS_TOKEN = env_str("METRICS_TOKEN")
