"""A JSON parser that refuses hostile bodies with a 4xx before any view or service sees them."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from trends.api.exceptions import PayloadTooLarge


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _has_lone_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = key.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{path}.{key}" if path else key


def check_json_value(data: Any, *, max_depth: int) -> None:
    """Depth, NUL and lone-surrogate checks over a parsed body, iteratively (no recursion to blow).

    NUL and lone surrogates can be written as JSON escapes (\\u0000, \\ud800) in perfectly valid
    UTF-8, and no database column accepts them: they are refused here, with the field's path.
    """
    errors: dict[str, list[str]] = {}
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                raise exceptions.ParseError(f"JSON is nested deeper than {max_depth} levels.")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                if isinstance(key, str) and ("\x00" in key or _has_lone_surrogate(key)):
                    errors.setdefault(_child_path(path, key), []).append("Invalid field name.")
                    continue
                stack.append((value, depth + 1, _child_path(path, key)))
        elif isinstance(node, str):
            if "\x00" in node:
                errors.setdefault(path or "body", []).append("Must not contain NUL characters.")
            elif _has_lone_surrogate(node):
                errors.setdefault(path or "body", []).append(
                    "Must be valid Unicode text (no lone surrogates)."
                )
    if errors:
        raise exceptions.ValidationError(errors)


class StrictJSONParser(BaseParser):
    """UTF-8 JSON only; bounded size and depth; NaN/Infinity, NUL and lone surrogates refused."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = int(settings.API_MAX_BODY_BYTES)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"Body is not valid UTF-8 (byte {exc.start}).") from None
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON is nested deeper than {settings.API_MAX_JSON_DEPTH} levels."
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(f"Invalid JSON: {exc}") from None
        check_json_value(data, max_depth=int(settings.API_MAX_JSON_DEPTH))
        return data
