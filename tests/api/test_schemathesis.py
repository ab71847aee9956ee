"""Schemathesis against the live OpenAPI schema, in process (WSGI): no 5xx, every answer conforms.

Bounded and deterministic: a fixed number of examples per operation, derandomized.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import EventFactory, TweetFactory, UserFactory, add_members

# CI default; raise it locally for a deeper run: API_FUZZ_EXAMPLES=300 pytest tests/api/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))


def _load_schema():
    # The schema view touches no database, so it can be fetched at collection time.
    from explore_site.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()


@pytest.fixture
def world(db, throttle_rates, in_process_wsgi, fake_embedder):
    throttle_rates(
        anon="100000/min", user="100000/min", auth="100000/min", auth_ip="100000/min",
        posting="100000/min", posting_ip="100000/min", engagement="100000/min", engagement_ip="100000/min",
        follow="100000/min", follow_ip="100000/min", posting_bulk="100000/min", posting_bulk_ip="100000/min",
        report="100000/min", report_ip="100000/min", curation="100000/min", curation_ip="100000/min",
    )
    from rest_framework.authtoken.models import Token

    # Staff, so the curation operations are exercised too (not only their 403).
    user = UserFactory(username="fuzzer", is_staff=True, is_superuser=True)
    UserFactory(username="ada")
    event = EventFactory(pk=1)
    add_members(event, [TweetFactory(author=user) for _ in range(3)])
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, world):
    case.call_and_validate(
        headers=world,
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance],
    )
