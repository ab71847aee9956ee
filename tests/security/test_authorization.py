"""Who may do what, for every route the resolver knows (new routes are covered automatically).

Roles: anonymous, user (owns the sample post and profile), other user, curator, trust & safety admin,
Django superuser. Rules checked for every route:
- nothing answers 5xx, whatever the role or method;
- staff routes (admin, curation panel, curation API, metrics) refuse everyone without a staff role
  (403, 401 or a redirect to a login page; never content);
- an anonymous write never succeeds, except on the log-in and sign-up endpoints;
- a write with a session cookie but without a CSRF token is refused (403), htmx or not.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import client_for, db_fingerprint
from tests.security.routes import (
    ANONYMOUS_NOOP_WRITES,
    ANY_METHOD_READS,
    CSRF_NOT_APPLICABLE,
    PUBLIC_WRITES,
    all_routes,
    fill,
)
from trends.models import Event, Tweet

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "user", "other_user", "curator", "ts_admin", "admin"]
NOT_STAFF = {"anonymous", "user", "other_user"}
WRITE_METHODS = ["post", "put", "patch", "delete"]


def _urls(world) -> list[tuple[object, str]]:
    return [(route, url) for route in all_routes() if (url := fill(route, world["samples"])) is not None]


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404, 405):
        return True
    if response.status_code in (301, 302):
        location = response.get("Location", "")
        return "login" in location
    return False


def _report(failures: list[str]) -> str:
    return f"{len(failures)} problem(s):\n" + "\n".join(failures[:60])


def test_every_route_is_exercised(world):
    unfilled = [route.pattern for route in all_routes() if fill(route, world["samples"]) is None]
    # Admin internals we cannot fill generically are fine; anything else needs a sample in conftest.
    unexpected = [p for p in unfilled if not p.startswith("admin/")]
    assert unexpected == [], f"add samples for these routes' parameters: {unexpected}"
    assert len(_urls(world)) >= 50


@pytest.mark.parametrize("role", ROLES)
def test_reads_never_fail_and_staff_routes_refuse_non_staff(world, role):
    client = client_for(world["users"][role])
    failures = []
    for route, url in _urls(world):
        response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"GET {url} as {role}: {response.status_code}")
        elif route.is_staff_only and role in NOT_STAFF and not _refused(response):
            failures.append(f"GET {url} as {role}: {response.status_code} (staff only)")
    assert not failures, _report(failures)


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_anonymous_writes_are_refused(world, method):
    client = client_for(None)
    before = db_fingerprint()
    failures = []
    for route, url in _urls(world):
        if route.name in ("api:auth-register", "users:signup"):
            continue  # an empty sign-up is refused, but a valid one is the point of the route
        response = getattr(client, method)(url, data={}, content_type="application/json")
        if response.status_code >= 500:
            failures.append(f"{method.upper()} {url}: {response.status_code}")
        elif route.name not in PUBLIC_WRITES | ANY_METHOD_READS | ANONYMOUS_NOOP_WRITES and not _refused(response):
            failures.append(f"{method.upper()} {url} anonymous: {response.status_code}")
    assert not failures, _report(failures)
    assert db_fingerprint() == before


@pytest.mark.parametrize("role", ["user", "other_user", "curator", "admin"])
def test_signed_in_writes_never_fail(world, role):
    """Empty or junk bodies from every role: 4xx or success, never a server error."""
    client = client_for(world["users"][role])
    failures = []
    for _route, url in _urls(world):
        if url.endswith(("/logout/", "/admin/logout/")):
            continue  # would end the session for the rest of the loop
        for method in ("post", "delete"):
            response = getattr(client, method)(url, data={"junk": "x"}, content_type="application/json")
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url} as {role}: {response.status_code}")
    assert not failures, _report(failures)


@pytest.mark.parametrize("role", ["other_user"])
def test_staff_writes_refused_to_non_staff(world, role):
    client = client_for(world["users"][role])
    failures = []
    for route, url in _urls(world):
        if not route.is_staff_only or route.name in PUBLIC_WRITES:
            continue
        for method in WRITE_METHODS:
            response = getattr(client, method)(url, data={}, content_type="application/json")
            if not _refused(response):
                failures.append(f"{method.upper()} {url} as {role}: {response.status_code}")
    assert not failures, _report(failures)
    event = Event.objects.get(pk=world["event"].pk)
    assert (event.title, event.hidden, event.pinned_slot) == ("Harbour fire", False, None)


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_session_writes_without_csrf_token_are_refused(world, htmx):
    client = client_for(world["users"]["user"], csrf=True)
    client.get("/")  # the CSRF cookie is set, as in a real browser; only the token is missing
    headers = {"HX-Request": "true"} if htmx else {}
    before = db_fingerprint()
    failures = []
    for route, url in _urls(world):
        if route.name == "api:not-found" or route.name in CSRF_NOT_APPLICABLE:
            continue
        for method in ("post", "delete"):
            if url.startswith("/api/"):
                # The API only parses JSON; a form body would be refused (415) before CSRF is checked.
                response = getattr(client, method)(url, data={}, content_type="application/json", headers=headers)
            else:
                response = getattr(client, method)(url, data={}, headers=headers)
            if response.status_code != 403:
                failures.append(f"{method.upper()} {url}: {response.status_code} (expected 403 CSRF)")
    assert not failures, _report(failures)
    assert db_fingerprint() == before


def test_other_user_cannot_delete_someone_elses_post(world):
    tweet = world["tweet"]
    other = client_for(world["users"]["other_user"])
    response = other.delete(f"/api/v1/tweets/{tweet.pk}")
    assert response.status_code in (403, 404)
    assert Tweet.objects.filter(pk=tweet.pk, is_deleted=False).exists()
    owner = client_for(world["users"]["user"])
    assert owner.delete(f"/api/v1/tweets/{tweet.pk}").status_code == 204
    assert Tweet.objects.get(pk=tweet.pk).is_deleted


def test_other_user_cannot_change_someone_elses_settings(world):
    other = client_for(world["users"]["other_user"])
    other.post("/accounts/settings/", {"display_name": "pwned"})
    assert world["users"]["user"].__class__.objects.get(pk=world["users"]["user"].pk).display_name != "pwned"


def test_curator_reaches_curation_but_not_django_admin(world):
    curator = client_for(world["users"]["curator"])
    assert curator.get("/curation/queue/").status_code == 200
    assert _refused(curator.get("/admin/"))
    admin = client_for(world["users"]["admin"])
    assert admin.get("/admin/").status_code == 200
