"""Answers plain For You requests (and the Explore tabs and event pages of visitors without a session)
from stored pages, first in the stack.

Most Explore traffic is a signed-in reader reloading For You, and the stored page needs none of the
stack: so this middleware comes first and, on a hit, reads the session itself (trends.pages.selectors),
fills in the CSRF token and adds what the middleware below would have added — Django's own
SecurityMiddleware, XFrameOptionsMiddleware and CsrfViewMiddleware response steps, called directly,
so their settings keep applying. Anything unusual (another method, path or query, an htmx partial,
a host that is not allowed, an SSL redirect due, a malformed CSRF cookie, CSRF in the session, a
flash message, any doubt about the session) falls through to the full stack unchanged.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import reverse
from django.utils.crypto import get_random_string

from trends.pages.selectors import (
    SHARED_TAB_QUERIES,
    csrf_mask,
    csrf_secret_of,
    event_page_lookup,
    hint_cookie_set,
    page_body,
    page_lookup,
    pages_enabled,
    tab_page_lookup,
)

PLAIN_QUERIES = ("", "tab=for-you")
EVENT_PATH = re.compile(r"/events/([0-9]{1,18})/")


class StoredPageMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.path = reverse("trends:home")
        self.security = SecurityMiddleware(get_response)
        self.xframe = XFrameOptionsMiddleware(get_response)
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._stored(request) if request.method == "GET" and pages_enabled() else None
        return response if response is not None else self.get_response(request)

    def _stored(self, request: HttpRequest) -> HttpResponse | None:
        meta = request.META
        query = meta.get("QUERY_STRING", "")
        home = request.path_info == self.path
        if home and settings.SESSION_COOKIE_NAME in request.COOKIES:
            if query not in PLAIN_QUERIES or (
                "HTTP_HX_REQUEST" in meta and meta.get("HTTP_HX_HISTORY_RESTORE_REQUEST") != "true"
            ):
                return None
            if not self._plain_request(request):
                return None
            hit = page_lookup(request=request)
            if hit is None:
                return None
            response = self._respond(request, hit.parts)
            if not hit.hinted:
                hint_cookie_set(response, user_id=hit.user_id, session_key=hit.session_key)
            return response
        # Everyone without a session sees the same Explore tabs and event pages.
        if "HTTP_HX_REQUEST" in meta or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None
        if request.COOKIES.get("messages"):
            return None
        if home:
            if query not in SHARED_TAB_QUERIES or not self._plain_request(request):
                return None
            parts = tab_page_lookup(query=query)
        else:
            match = EVENT_PATH.fullmatch(request.path_info)
            if query or match is None or not self._plain_request(request):
                return None
            parts = event_page_lookup(event_id=match.group(1))
        if parts is None:
            return None
        return self._respond(request, parts)

    def _plain_request(self, request: HttpRequest) -> bool:
        """Nothing the full stack would answer differently: no redirect due, an allowed host, and a
        CSRF cookie that is missing or well formed."""
        if settings.CSRF_USE_SESSIONS or settings.SESSION_SAVE_EVERY_REQUEST or settings.PREPEND_WWW:
            return False
        if self.security.process_request(request) is not None:
            return False
        try:
            request.get_host()
        except DisallowedHost:
            return False
        # Malformed, or an old masked form: Django replaces it.
        return csrf_secret_of(request) is not None or settings.CSRF_COOKIE_NAME not in request.COOKIES

    def _respond(self, request: HttpRequest, parts: list[bytes]) -> HttpResponse:
        secret = csrf_secret_of(request)
        if secret is None:
            secret = get_random_string(32, CSRF_ALLOWED_CHARS)
            # A new secret must reach the browser; an existing one is not re-sent (Django re-sends
            # it to push back a one-year expiry: every fully rendered page still does, and once it
            # has expired this path sets a new one).
            request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
        request.META["CSRF_COOKIE"] = secret
        body = page_body(parts, csrf_mask(secret))
        response = HttpResponse(body)
        response.headers["Content-Length"] = str(len(body))
        response.headers["Cache-Control"] = "private"
        # Both pages answer differently to htmx and to another reader's cookies.
        response.headers["Vary"] = "HX-Request, Cookie"
        self.csrf.process_response(request, response)
        self.xframe.process_response(request, response)
        self.security.process_response(request, response)
        return response
