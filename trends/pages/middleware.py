"""Answers the plain For You request from the stored page, early in the middleware stack.

Placed after the session and CSRF middleware (their response handling still runs) and before
authentication, messages, URL resolution and the view, none of which a stored page needs: the
session is verified against the page's copy of the auth hash (trends.pages.selectors). Anything
else, or any doubt, falls through to the full stack.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from trends.pages.selectors import event_page_lookup, page_lookup, page_response, pages_enabled

PLAIN_QUERIES = ("", "tab=for-you")
EVENT_PATH = re.compile(r"/events/([0-9]{1,18})/")


def _finish(response):
    """What the middleware below this one would have added to the same page."""
    patch_vary_headers(response, ("HX-Request",))
    response.headers.setdefault("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper())
    return response


class StoredPageMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.path = reverse("trends:home")

    def __call__(self, request):
        if (
            request.method == "GET"
            and request.path_info == self.path
            and request.META.get("QUERY_STRING", "") in PLAIN_QUERIES
            and (
                "HTTP_HX_REQUEST" not in request.META
                or request.META.get("HTTP_HX_HISTORY_RESTORE_REQUEST") == "true"
            )
            and pages_enabled()
        ):
            html = page_lookup(request=request)
            if html is not None:
                return _finish(page_response(request=request, html=html))
        elif (
            request.method == "GET"
            and not request.META.get("QUERY_STRING")
            and "HTTP_HX_REQUEST" not in request.META
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.COOKIES.get("messages")
            and pages_enabled()
        ):
            match = EVENT_PATH.fullmatch(request.path_info)
            html = event_page_lookup(request=request, event_id=match.group(1)) if match else None
            if html is not None:
                return _finish(page_response(request=request, html=html, shared=True))
        return self.get_response(request)
