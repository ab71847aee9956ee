"""Finished For You pages, per user, in the cache: the read path that carries most Explore traffic.

Ranking and rendering a personal page costs tens of milliseconds, and the same person sees the same
page for many seconds. So the page is rendered once per user (on their first request, at login, and
in the background before it goes stale) and later requests get the stored HTML with no database
query: the session is checked against the auth hash stored with the page, and the CSRF token is
filled in per request.

Reads are in `selectors`, writes (build, invalidate, precompute) in `services`.
"""

from trends.pages.selectors import (
    api_page_lookup,
    event_page_storable,
    page_lookup,
    page_response,
    page_storable,
    tab_page_query,
)
from trends.pages.services import (
    api_page_store,
    api_page_versions,
    event_page_store,
    page_build,
    page_invalidate,
    pages_invalidate_all,
    pages_precompute,
    tab_page_store,
)

__all__ = [
    "api_page_store",
    "api_page_versions",
    "api_page_lookup",
    "event_page_storable",
    "event_page_store",
    "page_build",
    "page_invalidate",
    "page_lookup",
    "page_response",
    "page_storable",
    "pages_invalidate_all",
    "pages_precompute",
    "tab_page_query",
    "tab_page_store",
]
