"""A weak ETag's basis stored pre-encoded (trends.pages) hashes exactly like the basis itself."""

import datetime as dt

import pytest

from trends.api.conditional import basis_json, basis_json_prepend


@pytest.mark.parametrize(
    "rest",
    [
        [],
        [[1, 42, dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC), "Because you follow @ada", "default"]],
        [[i, i * 7, None, "Trending in Ünïcode “quotes”", {"b": 1, "a": 2}] for i in range(1, 4)],
    ],
)
@pytest.mark.parametrize("head", [[None, None], ["http://testserver/api/v1/explore/for-you?cursor=b2Zmc2V0OjIw", None]])
def test_prepending_to_the_encoded_basis_equals_encoding_the_whole(head, rest):
    assert basis_json_prepend(head, basis_json(rest)) == basis_json([head, *rest])
