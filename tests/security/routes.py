"""Every URL the site answers, enumerated from the resolver, so a new route is covered without edits.

Each route becomes a concrete URL by filling its parameters from sample objects (see `fill`); a
route whose parameters cannot be filled is reported by `test_every_route_is_exercised`, never silently
skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

# Routes only staff (curation roles, Django admin, monitoring) may read.
STAFF_PREFIXES = ("admin/", "curation/", "api/v1/curation/", "metrics")
# Under a staff prefix but public by design: the admin's own login and logout pages.
PUBLIC_STAFF_PAGES = {"admin:login", "admin:logout"}
# Routes where an anonymous write legitimately succeeds: logging in, signing up (each rate-limited,
# see test_rate_limits) and logging out (needs no authority; CSRF still applies).
PUBLIC_WRITES = {
    "users:login",
    "users:signup",
    "users:logout",
    "api:auth-register",
    "api:auth-token",
    "admin:login",
    "admin:logout",
}
# Read-only views that answer any method the same way. Harmless (the write tests check that nothing
# changed), but they would be tidier with @require_GET: see the report for issue 9.
ANY_METHOD_READS = {"ping", "trends:profile", "trends:profile-alt"}
# Writes that do nothing for anonymous visitors (the impression beacon ignores them) and say 204.
ANONYMOUS_NOOP_WRITES = {"trends:impressions"}
# API endpoints that use no session authority (credentials travel in the body), so CSRF has nothing
# to protect; they authenticate nobody from the cookie.
CSRF_NOT_APPLICABLE = {"api:auth-register", "api:auth-token"}


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str
    callback: object

    @property
    def is_staff_only(self) -> bool:
        return self.pattern.startswith(STAFF_PREFIXES) and self.name not in PUBLIC_STAFF_PAGES

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith("admin/")


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield Route(pattern=prefix + str(entry.pattern), name=name, callback=entry.callback)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")


def fill(route: Route, samples: dict[str, str]) -> str | None:
    """A concrete path for `route` (None when a parameter has no sample)."""
    pattern = route.pattern
    missing = False

    def route_param(match: re.Match) -> str:
        nonlocal missing
        value = samples.get(match["name"])
        if value is None:
            missing = True
            return ""
        return value

    path = _ROUTE_PARAM.sub(route_param, pattern)

    def regex_param(match: re.Match) -> str:
        nonlocal missing
        name, body = match["name"], match["body"]
        if name in samples:
            return samples[name]
        if "|" in body:  # an alternation of literals, e.g. admin's app_label
            return body.split("|")[0]
        missing = True
        return ""

    path = _REGEX_GROUP.sub(regex_param, path)
    # Regex anchors and catch-alls (admin's final catch-all, the API's not-found route).
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("[\\s\\S]*", "no-such-page")
    path = path.replace(".*", "no-such-page")
    if missing:
        return None
    url = "/" + path
    try:
        match = resolve(url)
    except Resolver404:
        return None
    return url if match.func == route.callback else None
