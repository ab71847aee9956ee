"""/metrics (Prometheus) and /healthz (load balancers, orchestrators). See docs/operations.md.

/metrics is readable with `Authorization: Bearer $METRICS_TOKEN`, by staff, or, when METRICS_TOKEN
is not set, from loopback only (a scraper on the same host). It reveals volumes and worker names,
not content, but that is still nobody else's business.
/healthz is open: it says only "ok" or which dependency is down, and must be cheap and unauthenticated.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from trends.ops import selectors

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _is_loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = getattr(settings, "METRICS_TOKEN", None)
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, supplied = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode())
    # A reverse proxy makes every request look local: only trust loopback when no proxy forwarded it.
    return _is_loopback(request) and "HTTP_X_FORWARDED_FOR" not in request.META


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        response = HttpResponse("forbidden\n", status=403, content_type="text/plain")
        if getattr(settings, "METRICS_TOKEN", None):
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = selectors.metrics_render(samples=selectors.metrics_collect())
    return HttpResponse(body, content_type=PROMETHEUS_CONTENT_TYPE)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    report = selectors.health_check()
    return JsonResponse(
        {"status": "ok" if report.healthy else "unavailable", "checks": report.checks},
        status=200 if report.healthy else 503,
    )
