import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def auth_api(user):
    return client_for(user)


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def other_api(other_user):
    return client_for(other_user)


@pytest.fixture
def staff_api(staff_user):
    return client_for(staff_user)


@pytest.fixture
def throttle_rates(settings):
    """Override scoped rates for one test (DRF reloads its settings on the setting_changed signal)."""

    def apply(**rates):
        conf = dict(settings.REST_FRAMEWORK)
        conf["DEFAULT_THROTTLE_RATES"] = {**conf["DEFAULT_THROTTLE_RATES"], **rates}
        settings.REST_FRAMEWORK = conf

    return apply


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 at production strength costs ~0.3 s per user on this machine; tests need no strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def in_process_wsgi():
    """Keep the test's database connection open across raw WSGI calls (httpx, schemathesis).

    Django closes the connection at the end of each request; its own test client switches that off,
    raw WSGI callers do not, and on PostgreSQL the test transaction would be lost.
    """
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
