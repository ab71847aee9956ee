"""Parsers for post imports: JSONL in a Twitter API v2-like shape, and CrisisLex-style CSV.

Each parser yields (line_number, data_or_None, error_or_None) without touching the database, so the
command can validate every row, report bad ones with their line, and store only good ones.

JSONL, one object per line, either a v2 envelope or the bare `data` object:

    {"data": {"id": "1600000000000000001", "text": "Goal! #UCLFinal", "created_at": "2024-06-01T19:45:00Z",
              "lang": "en", "author_id": "42",
              "referenced_tweets": [{"type": "replied_to", "id": "1599999999999999999"}],
              "public_metrics": {"like_count": 3, "retweet_count": 1, "reply_count": 0, "quote_count": 0},
              "geo": {"place_name": "Lisbon"}},
     "includes": {"users": [{"id": "42", "username": "ana", "name": "Ana", "location": "Lisbon",
                             "created_at": "2019-01-01T00:00:00Z", "verified": false}]}}

The author is the `includes.users` entry whose id is `author_id` (or a top-level `author` object with a
`username`); a post with no author information is imported with an unknown author.

CSV: the columns of CrisisLexT26 (`event,tweet_id,timestamp_utc,...,text,...`); `tweet_id` (or `id`),
`timestamp_utc` (or `created_at`) and `text` are required; optional `lang`, `author`/`author_username`,
`location`. Extra columns are ignored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

MAX_LINE_BYTES = 64 * 1024
REFERENCE_FIELDS = {"replied_to": "reply_to_id", "retweeted": "retweet_of_id", "quoted": "quote_of_id"}

Row = tuple[int, dict[str, Any] | None, str | None]


def _decode(raw: bytes, line_number: int) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"


def _author_from(envelope: dict[str, Any], data: dict[str, Any]) -> dict[str, Any] | None:
    author = envelope.get("author") or data.get("author")
    if isinstance(author, dict) and author.get("username"):
        return author
    author_id = data.get("author_id")
    includes = envelope.get("includes")
    if isinstance(includes, dict) and isinstance(includes.get("users"), list):
        for candidate in includes["users"]:
            if isinstance(candidate, dict) and str(candidate.get("id")) == str(author_id) and candidate.get("username"):
                return candidate
    return None


def parse_jsonl(stream: io.BufferedIOBase) -> Iterator[Row]:
    for line_number, raw in enumerate(stream, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield line_number, None, f"line longer than {MAX_LINE_BYTES} bytes"
            continue
        text, error = _decode(raw, line_number)
        if error:
            yield line_number, None, error
            continue
        if not text.strip():
            continue  # blank lines are allowed, not errors
        try:
            envelope = json.loads(text)
        except json.JSONDecodeError as exc:
            yield line_number, None, f"broken JSON: {exc.msg} at column {exc.colno}"
            continue
        except RecursionError:
            yield line_number, None, "JSON nested too deeply"
            continue
        if not isinstance(envelope, dict):
            yield line_number, None, "expected a JSON object"
            continue
        data = envelope.get("data", envelope)
        if not isinstance(data, dict):
            yield line_number, None, "`data` must be an object"
            continue
        row: dict[str, Any] = {
            "id": data.get("id"),
            "text": data.get("text"),
            "created_at": data.get("created_at"),
            "lang": data.get("lang"),
        }
        metrics = data.get("public_metrics")
        if isinstance(metrics, dict):
            for key in ("like_count", "retweet_count", "reply_count", "quote_count"):
                if key in metrics:
                    row[key] = metrics[key]
        references = data.get("referenced_tweets")
        if isinstance(references, list):
            for reference in references:
                if isinstance(reference, dict) and reference.get("type") in REFERENCE_FIELDS:
                    row[REFERENCE_FIELDS[reference["type"]]] = reference.get("id")
        geo = data.get("geo")
        if isinstance(geo, dict) and isinstance(geo.get("place_name"), str):
            row["location"] = geo["place_name"]
        if row["id"] is None:
            yield line_number, None, "missing `id`"
            continue
        row["author"] = _author_from(envelope, data)
        yield line_number, row, None


CSV_REQUIRED = ({"tweet_id", "id"}, {"timestamp_utc", "created_at"}, {"text"})


def parse_csv(stream: io.BufferedIOBase) -> Iterator[Row]:
    # surrogateescape keeps bad bytes visible as lone surrogates, so one bad row does not stop the file.
    wrapper = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.reader(wrapper)
    try:
        header = next(reader)
    except StopIteration:
        yield 1, None, "empty file: no header row"
        return
    except csv.Error as exc:
        yield 1, None, f"unreadable header: {exc}"
        return
    columns = [name.strip().lstrip("\ufeff").lower() for name in header]
    missing = [" or ".join(sorted(options)) for options in CSV_REQUIRED if not options & set(columns)]
    if missing:
        yield 1, None, f"missing column(s): {', '.join(missing)}"
        return
    position = {name: index for index, name in enumerate(columns)}

    def get(values: list[str], *names: str) -> str | None:
        for name in names:
            if name in position and position[name] < len(values):
                return values[position[name]]
        return None

    while True:
        start_line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start_line, None, f"malformed CSV: {exc}"
            continue
        if not values or all(not v.strip() for v in values):
            continue
        if any(_has_surrogate(v) for v in values):
            yield start_line, None, "invalid UTF-8"
            continue
        if len(values) < len(columns):
            yield start_line, None, f"expected {len(columns)} columns, got {len(values)}"
            continue
        handle = get(values, "author_username", "author")
        row = {
            "id": (get(values, "tweet_id", "id") or "").strip(),
            "text": get(values, "text"),
            "created_at": get(values, "timestamp_utc", "created_at"),
            "lang": get(values, "lang") or None,
            "location": get(values, "location") or None,
            "author": {"username": handle.strip().lstrip("@")} if handle and handle.strip() else None,
        }
        if not row["id"]:
            yield start_line, None, "missing tweet_id"
            continue
        yield start_line, row, None


def _has_surrogate(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)
