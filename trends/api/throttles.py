"""Throttles that read their rates at request time, so settings overrides (tests, env) take effect.

DRF's stock throttles copy the rates into a class attribute at import time.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _LiveRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_LiveRates, AnonRateThrottle):
    """Every anonymous request, per IP."""

    def __init__(self):
        pass

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class UserThrottle(_LiveRates, UserRateThrottle):
    """Every request, per user (per IP when anonymous)."""

    def __init__(self):
        pass

    def allow_request(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return True  # AnonThrottle counts these
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class ScopedUserThrottle(SimpleRateThrottle):
    """Writes to a view with `throttle_scope = "x"`: rate "x", per user (per IP when anonymous)."""

    suffix = ""

    def __init__(self):
        pass

    def scope_for(self, view) -> str | None:
        scope = getattr(view, "throttle_scope", None)
        return f"{scope}{self.suffix}" if scope else None

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        self.scope = self.scope_for(view)
        if not self.scope:
            return True
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ScopedIPThrottle(ScopedUserThrottle):
    """Writes to a view with `throttle_scope = "x"`: rate "x_ip", per client IP, logged in or not."""

    suffix = "_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
