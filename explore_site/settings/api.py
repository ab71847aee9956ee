"""REST API (DRF) settings: auth, errors, throttles, pagination, OpenAPI. See docs/api.md."""

from explore_site.settings.env import env_int, env_str

# The API reads request bodies itself (DRF bypasses DATA_UPLOAD_MAX_MEMORY_SIZE when it streams
# the body), so it enforces its own cap; larger bodies get 413. Big enough for a full bulk post.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
# JSON nested deeper than this is refused (400) before any view sees it.
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 32)
API_BULK_MAX_ITEMS = env_int("API_BULK_MAX_ITEMS", 100)
# Semantic search compares the query with at most this many recent embedded posts.
API_SEMANTIC_SEARCH_WINDOW = env_int("API_SEMANTIC_SEARCH_WINDOW", 5000)
API_SEMANTIC_SEARCH_DAYS = env_int("API_SEMANTIC_SEARCH_DAYS", 7)

# How long a token's user stays cached (dropped at once on revocation or any change of the user).
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trends.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PARSER_CLASSES": ["trends.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "trends.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "trends.api.exceptions.api_exception_handler",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_THROTTLE_CLASSES": [
        "trends.api.throttles.AnonThrottle",
        "trends.api.throttles.UserThrottle",
        "trends.api.throttles.ScopedUserThrottle",
        "trends.api.throttles.ScopedIPThrottle",
    ],
    # Scoped rates apply to writes only. `<scope>` counts per user (per IP when anonymous);
    # `<scope>_ip` counts per client IP, whoever is logged in (one host, many accounts).
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "300/min"),
        "user": env_str("API_THROTTLE_USER", "1200/min"),
        "auth": env_str("API_THROTTLE_AUTH", "10/min"),
        "auth_ip": env_str("API_THROTTLE_AUTH_IP", "30/min"),
        "posting": env_str("API_THROTTLE_POSTING", "60/min"),
        "posting_ip": env_str("API_THROTTLE_POSTING_IP", "300/min"),
        "posting_bulk": env_str("API_THROTTLE_POSTING_BULK", "6/min"),
        "posting_bulk_ip": env_str("API_THROTTLE_POSTING_BULK_IP", "30/min"),
        "report": env_str("API_THROTTLE_REPORT", "30/min"),
        "report_ip": env_str("API_THROTTLE_REPORT_IP", "120/min"),
        "engagement": env_str("API_THROTTLE_ENGAGEMENT", "120/min"),
        "engagement_ip": env_str("API_THROTTLE_ENGAGEMENT_IP", "600/min"),
        "follow": env_str("API_THROTTLE_FOLLOW", "120/min"),
        "follow_ip": env_str("API_THROTTLE_FOLLOW_IP", "600/min"),
        "curation": env_str("API_THROTTLE_CURATION", "600/min"),
        "curation_ip": env_str("API_THROTTLE_CURATION_IP", "1200/min"),
    },
    # Behind a proxy, the client IP is the last-but-N entry of X-Forwarded-For.
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0) or None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Explore API",
    "DESCRIPTION": (
        "Post content, read personalised Explore feeds and events, log engagement.\n\n"
        "Errors always have the shape `{\"errors\": {field: [messages]}}`; lists use cursor "
        "pagination (`next`/`previous` links); POSTs accept an `Idempotency-Key` header. "
        "See docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "EventStateEnum": "trends.models.EventState",
        "CategoryEnum": "trends.models.Category",
        "EngagementKindEnum": "trends.models.Engagement.Kind",
    },
    "SECURITY": [{"tokenAuth": []}, {"cookieAuth": []}],
}
