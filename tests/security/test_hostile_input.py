"""Property-based tests: hostile input to every parser and write service gives a clear error, never a
crash, and nothing half-stored.

Inputs: huge payloads, invalid UTF-8, NUL bytes, emoji and ZWJ sequences, right-to-left text,
thousands of hashtags, deeply nested JSON, wrong types, timestamps far in the future or past.
Hostile cases that once crashed a service are kept as plain tests (each was a real bug, now fixed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import EventFactory, UserFactory
from trends import services
from trends import text as textlib
from trends.importers import MAX_LINE_BYTES, parse_csv, parse_jsonl
from trends.models import Engagement, Tweet
from users.models import User

SPECIAL_TEXT = [
    "",
    "   \n\t ",
    "\x00",
    "ok\x00nul",
    "\ud800 lone surrogate",
    "👩‍👩‍👧‍👦 family ZWJ 🏳️‍🌈 flag 👍🏽",
    "\u202eRTL override txet \u202c",
    "مرحبا بالعالم #عاجل @someone",
    "שלום עולם https://example.co.il/נתיב",
    "#tag " * 3000,
    "@user " * 3000,
    "https://e.x/" * 500,
    "x" * 100_000,
    "Ｆｕｌｌ ｗｉｄｔｈ ＃ｔａｇ",
    "e\u0301\u0301\u0301\u0301 combining",
    "\u200b\u200c\u200d\ufeff",
]
TIMESTAMPS = [
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2006-03-20T23:59:59Z",
    "2026-02-30T00:00:00Z",
    "2024-01-01T00:00:00+99:00",
    "2024-01-01T25:61:61Z",
    "+275760-09-13T00:00:00Z",
    "now",
    "1700000000",
    "",
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
hostile_text = st.one_of(st.text(max_size=700), st.sampled_from(SPECIAL_TEXT), json_values)
hostile_ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=25),
    # "²".isdigit() is True but int("²") fails; other scripts' digits are isdecimal() and int() takes them.
    st.sampled_from(["0", "-1", " 42 ", str(2**63 - 1), str(2**63), "١٢٣", "１２", "²", "1²3", "⑦"]),
    json_values.filter(lambda v: not isinstance(v, str)),
)
hostile_timestamps = st.one_of(
    st.sampled_from(TIMESTAMPS),
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)).map(lambda d: d.isoformat() + "Z"),
    json_values,
)
post_data = st.fixed_dictionaries(
    {},
    optional={
        "text": hostile_text,
        "created_at": hostile_timestamps,
        "id": hostile_ids,
        "reply_to_id": hostile_ids,
        "retweet_of_id": hostile_ids,
        "quote_of_id": hostile_ids,
        "lang": hostile_text,
        "location": hostile_text,
        "like_count": json_values,
        "retweet_count": json_values,
        "reply_count": json_values,
        "quote_count": json_values,
        "source": json_values,
    },
)


def assert_valid_post(item: services.TweetInput, now: dt.datetime) -> None:
    assert isinstance(item.text, str) and "\x00" not in item.text
    assert 1 <= len(item.text) <= services.MAX_TEXT_LENGTH and item.text == item.text.strip()
    item.text.encode("utf-8")  # no lone surrogates reach the database
    assert services.EARLIEST_POST <= item.created_at <= now + services.FUTURE_TOLERANCE
    for value in (item.tweet_id, item.reply_to_id, item.retweet_of_id, item.quote_of_id):
        assert value is None or (isinstance(value, int) and 0 < value <= services.MAX_TWEET_ID)
    for count in (item.like_count, item.retweet_count, item.reply_count, item.quote_count):
        assert isinstance(count, int) and 0 <= count < 2**31
    assert len(item.lang) <= services.LANG_MAX and len(item.location) <= 80


# --- tweet_validate: pure -------------------------------------------------------------------------


@given(post_data)
@settings(max_examples=300)
def test_tweet_validate_accepts_a_clean_post_or_says_why(data):
    now = timezone.now()
    try:
        item = services.tweet_validate(data=data, now=now)
    except ValidationError as exc:
        assert exc.message_dict and all(isinstance(m, str) and m for ms in exc.message_dict.values() for m in ms)
        return
    assert_valid_post(item, now)


@pytest.mark.parametrize("text", SPECIAL_TEXT)
def test_tweet_validate_special_texts(text):
    try:
        item = services.tweet_validate(data={"text": text})
    except ValidationError as exc:
        assert "text" in exc.message_dict
        return
    assert_valid_post(item, timezone.now())


@pytest.mark.parametrize("stamp", TIMESTAMPS)
def test_tweet_validate_far_timestamps_are_refused_or_in_range(stamp):
    try:
        item = services.tweet_validate(data={"text": "hello", "created_at": stamp})
    except ValidationError as exc:
        assert "created_at" in exc.message_dict
        return
    assert_valid_post(item, timezone.now())


@pytest.mark.parametrize("value", ["²", "1²3", "⑦"])
@pytest.mark.parametrize("field", ["id", "reply_to_id"])
def test_tweet_validate_superscript_digit_id(field, value):
    """str.isdigit() accepts these but int() does not: they must be a field error, not a crash."""
    with pytest.raises(ValidationError) as exc:
        services.tweet_validate(data={"text": "hello", field: value})
    assert field in exc.value.message_dict


# --- tweet_create / tweets_ingest: stored completely or not at all --------------------------------


@pytest.mark.django_db
@given(data=post_data)
@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_tweet_create_stores_a_whole_post_or_nothing(data):
    author = User.objects.get_or_create(username="hostile_author")[0]
    before = (Tweet.objects.count(), User.objects.get(pk=author.pk).posts_count)
    try:
        tweet = services.tweet_create(author=author, data=data)
    except ValidationError:
        assert (Tweet.objects.count(), User.objects.get(pk=author.pk).posts_count) == before
        return
    stored = Tweet.objects.get(pk=tweet.pk)
    assert Tweet.objects.count() == before[0] + 1
    assert User.objects.get(pk=author.pk).posts_count == before[1] + 1
    assert stored.text == tweet.text and stored.author_id == author.pk
    assert len(stored.hashtags) <= textlib.MAX_HASHTAGS and len(stored.mentions) <= textlib.MAX_MENTIONS
    assert len(stored.urls) <= textlib.MAX_URLS


@pytest.mark.django_db
def test_tweet_create_with_thousands_of_hashtags_caps_entities():
    author = UserFactory()
    text = " ".join(f"#t{n}" for n in range(110))[: services.MAX_TEXT_LENGTH]
    tweet = services.tweet_create(author=author, data={"text": text})
    assert len(Tweet.objects.get(pk=tweet.pk).hashtags) == textlib.MAX_HASHTAGS


@pytest.mark.django_db
def test_tweets_ingest_is_idempotent_on_ids():
    item = services.tweet_validate(data={"text": "same post", "id": "1234567890123"})
    first = services.tweets_ingest(items=[item, item])
    again = services.tweets_ingest(items=[item])
    # (created_ids repeats an id given twice in one batch, which only inflates the import summary.)
    assert set(first.created_ids) == {1234567890123}
    assert again.created_ids == [] and again.existing_ids == [1234567890123]
    assert Tweet.objects.filter(pk=1234567890123).count() == 1


# --- importers: every line gets a row or one error ------------------------------------------------


def _envelope(draw_data) -> bytes:
    return json.dumps({"data": draw_data}, ensure_ascii=False).encode("utf-8", "surrogatepass")


jsonl_lines = st.one_of(
    post_data.map(lambda d: json.dumps({"data": d}, default=str).encode()),
    post_data.map(json.dumps).map(str.encode),
    st.binary(max_size=200),
    st.sampled_from([
        b"", b"   ", b"\xff\xfe\xfa", b'{"data": {"id": "1", "text": "\xc3\x28"}}', b"\x00\x00",
        b"[" * 100_000, b'{"a":' * 50_000, b"[1, 2, 3]", b'"just a string"', b"null", b'{"data": []}',
        b'{"data": {"id": "5", "text": "x"}, "includes": {"users": "nope"}}',
        b'{"data": {"id": "6", "text": "x", "referenced_tweets": [1, {"type": "quoted"}]}}',
        b'{"data": {"id": "7", "text": "x", "public_metrics": [], "geo": "Lisbon"}}',
        b"x" * (MAX_LINE_BYTES + 10),
    ]),
    json_values.map(lambda v: json.dumps(v).encode()),
)


@given(st.lists(jsonl_lines, max_size=12))
@settings(max_examples=150)
def test_parse_jsonl_never_raises_and_accounts_for_every_line(lines):
    raw = b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n"
    rows = list(parse_jsonl(io.BytesIO(raw)))
    numbers = [number for number, _, _ in rows]
    assert numbers == sorted(set(numbers))
    assert all(1 <= n <= max(1, len(lines)) for n in numbers)
    for _number, row, error in rows:
        assert (row is None) != (error is None)
        if error is not None:
            assert isinstance(error, str) and error
        else:
            assert row["id"] is not None
            with contextlib.suppress(ValidationError):
                services.tweet_validate(data={k: v for k, v in row.items() if k != "author"})


csv_cells = st.one_of(st.text(max_size=40), st.sampled_from(['"', '""', "\r\n", "\x00", "a,b", "﻿"]))


@given(
    header=st.one_of(
        st.just(["tweet_id", "timestamp_utc", "text"]),
        st.just(["id", "created_at", "text", "lang", "author"]),
        st.lists(st.text(max_size=10), max_size=5),
    ),
    body=st.lists(st.lists(csv_cells, max_size=6), max_size=8),
    junk=st.binary(max_size=60),
)
@settings(max_examples=150)
def test_parse_csv_never_raises(header, body, junk):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(body)
    raw = out.getvalue().encode("utf-8", "surrogatepass") + junk
    for number, row, error in parse_csv(io.BytesIO(raw)):
        assert number >= 1
        assert (row is None) != (error is None)
        if row is not None:
            assert row["id"]


@pytest.mark.django_db
def test_import_command_reports_each_bad_line_and_stores_only_good_rows(tmp_path, capsys):
    lines = [
        json.dumps({"data": {"id": "1001", "text": "Good one #ok", "created_at": "2024-06-01T19:45:00Z"}}).encode(),
        b"\xff\xfe broken utf-8",
        b"{not json",
        b"[" * 50_000,
        json.dumps({"data": {"id": "1002", "text": "\u0000nul", "created_at": "2024-06-01T19:45:00Z"}}).encode(),
        json.dumps({"data": {"id": "1003", "text": "future", "created_at": "2999-01-01T00:00:00Z"}}).encode(),
        json.dumps({"data": {"id": "1004", "text": "x" * 600}}).encode(),
        json.dumps({"data": {"id": "1005", "text": "👩‍👩‍👧‍👦 \u202eRTL", "created_at": "2024-06-01T19:45:00Z"}}).encode(),
        json.dumps({"data": {"id": [1], "text": "wrong type id"}}).encode(),
        b"",
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(CommandError):
        call_command("import_tweets", str(path))
    err = capsys.readouterr().err
    for line_number in (2, 3, 4, 5, 6, 7, 9):
        assert f"line {line_number}:" in err
    assert set(Tweet.objects.values_list("pk", flat=True)) == {1001, 1005}


@pytest.mark.django_db
def test_rejected_import_row_leaves_no_author_behind(tmp_path):
    row = {"data": {"id": "2001", "text": "", "author_id": "9"}, "includes": {"users": [{"id": "9", "username": "ghost_author"}]}}
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(CommandError):
        call_command("import_tweets", str(path))
    assert not User.objects.filter(username="ghost_author").exists()


# --- engagement_log_batch -------------------------------------------------------------------------

engagement_item = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.one_of(st.sampled_from(["impression", "click", "dismiss", "report", "like"]), st.text(max_size=10)),
        "event_id": st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
        "tweet_id": st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
        "position": st.one_of(st.none(), st.integers(min_value=-5, max_value=2000), st.booleans()),
        "surface": json_values,
        "variant": json_values,
    },
)


@pytest.mark.django_db
@given(items=st.lists(engagement_item, max_size=8))
@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_engagement_batch_is_all_or_nothing(items):
    user = User.objects.get_or_create(username="engager")[0]
    if not Tweet.objects.exists():
        EventFactory()
    before = Engagement.objects.count()
    try:
        rows = services.engagement_log_batch(user=user, items=items)
    except ValidationError as exc:
        assert exc.message_dict
        assert Engagement.objects.count() == before
        return
    assert Engagement.objects.count() == before + len(items) == before + len(rows)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "item",
    [
        {"kind": "impression", "event_id": "abc"},
        {"kind": "impression", "event_id": [1]},
        {"kind": "impression", "event_id": 2**70},
        {"kind": "impression", "tweet_id": True},
    ],
    ids=["id-str", "id-list", "id-huge", "id-bool"],
)
def test_engagement_batch_wrong_id_types_are_validation_errors(item):
    user = UserFactory()
    EventFactory()
    with pytest.raises(ValidationError):
        services.engagement_log_batch(user=user, items=[item])
    assert Engagement.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("item", [{"kind": ["impression"], "event_id": 1}, "not-a-dict"], ids=["kind-list", "item-str"])
def test_engagement_batch_wrong_types_are_validation_errors(item):
    user = UserFactory()
    EventFactory()
    with pytest.raises(ValidationError):
        services.engagement_log_batch(user=user, items=[item])


# --- text extractors: pure, total, bounded --------------------------------------------------------

valid_unicode = st.one_of(st.text(max_size=2000), st.sampled_from([t for t in SPECIAL_TEXT if "\ud800" not in t]))


@given(valid_unicode)
@settings(max_examples=300)
def test_text_extractors_are_total_and_bounded(text):
    hashtags = textlib.extract_hashtags(text)
    mentions = textlib.extract_mentions(text)
    urls = textlib.extract_urls(text)
    domains = textlib.extract_domains(urls)
    assert len(hashtags) <= textlib.MAX_HASHTAGS and len(set(hashtags)) == len(hashtags)
    assert len(mentions) <= textlib.MAX_MENTIONS
    assert len(urls) <= textlib.MAX_URLS and all(u.lower().startswith(("http://", "https://")) for u in urls)
    assert all(isinstance(d, str) and d for d in domains)
    for tag in hashtags:
        assert "#" not in tag and tag == tag.lower() and 0 < len(tag) <= 100
    value = textlib.simhash64(text)
    assert -(2**63) <= value < 2**63
    assert isinstance(textlib.normalise_for_fingerprint(text), str)
    assert isinstance(textlib.guess_language(text), str)
    handle = textlib.retweeted_handle(text)
    assert handle is None or (0 < len(handle) <= 30)
    json.dumps([hashtags, mentions, urls, domains])  # storable in the JSON columns


def test_text_extractors_on_a_megabyte():
    text = ("#tag @user https://example.org/x " + "👩‍👩‍👧‍👦\u202e" + "word " * 20) * 20_000
    assert len(textlib.extract_hashtags(text)) == 1
    assert len(textlib.extract_mentions(text)) == 1
    assert textlib.extract_urls(text) == ["https://example.org/x"]
    assert isinstance(textlib.simhash64(text), int)
