"""Regular-expression safety checks and the SVG charts (pure functions, no database)."""

import re

import pytest
from django.core.exceptions import ValidationError

from trends.curation import charts
from trends.curation.regex_safety import MAX_PATTERN_LENGTH, regex_trial, regex_validate


@pytest.mark.parametrize(
    "pattern",
    [
        r"breaking\s+news",
        r"\b(?:buy|sell)\s+now\b",
        r"[a-z0-9._]+@[a-z0-9-]+\.com",
        r"win \d{1,6} (?:btc|eth)",
        r"^rt @\w+:",
    ],
)
def test_ordinary_patterns_pass(pattern):
    assert regex_validate(pattern=pattern) == pattern


@pytest.mark.parametrize(
    "pattern,code",
    [
        (r"(a+)+$", "catastrophic"),  # nested quantifier
        (r"(?:\w*\s*)*x", "catastrophic"),
        (r"(x+x+)+y", "catastrophic"),
        (r"(a|aa)+$", "catastrophic"),  # overlapping alternation, factored by the parser
        (r"(a|a)*b", "catastrophic"),
        (r"\d+\d+x", "catastrophic"),  # adjacent unbounded repeats of the same thing
        (r"(.*){1,32000}[bc]", "catastrophic"),
        (r"(?:xy|[xz]y)+w", "too_slow"),  # passes the heuristics; the timed trial catches it
        (r"(unclosed", "invalid"),
        (r"a*", "empty_match"),
        ("", "empty"),
        ("a" * (MAX_PATTERN_LENGTH + 1), "too_long"),
    ],
)
def test_dangerous_or_broken_patterns_rejected(pattern, code):
    with pytest.raises(ValidationError) as excinfo:
        regex_validate(pattern=pattern)
    assert excinfo.value.code == code


def test_trial_kills_a_runaway_match():
    assert regex_trial(pattern=r"(a+)+$", timeout=0.5) is False
    assert regex_trial(pattern=r"quake", timeout=5) is True


def test_column_chart_escapes_and_scales():
    svg = str(charts.column_chart_svg(series=[("<b>", 0), ("12:01", 5), ("12:02", 10)], title="Posts & more"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "Posts &amp; more" in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 0 and heights[2] == pytest.approx(2 * heights[1])


def test_bar_chart_highlights_and_handles_empty():
    svg = str(charts.bar_chart_svg(rows=[("new", 3), ("embedded", 0)], title="Backlog", highlight={"new"}))
    assert charts.WARN in svg and ">3<" in svg
    assert "<svg" in str(charts.bar_chart_svg(rows=[], title="Nothing"))
