"""Validation of curator-supplied regular expressions before the pipeline runs them on every post.

Python's `re` backtracks, so a pattern such as `(a+)+$` takes exponential time on `"a" * 30 + "!"`
and would stall a clustering worker. A pattern is accepted only if it

1. is short (MAX_PATTERN_LENGTH) and compiles;
2. has no nested or adjacent-overlapping unbounded quantifiers, the shape behind nearly every
   catastrophic pattern (found on the parsed syntax tree, not by eyeballing the text);
3. finishes a trial against adversarial inputs within TRIAL_SECONDS in a separate interpreter,
   which can be killed (a thread running `re` cannot be interrupted).

Step 2 rejects fast and explains why; step 3 catches what the heuristic misses.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from django.core.exceptions import ValidationError

try:  # Python 3.11+: the parser moved; both expose the same API.
    import re._parser as sre_parse  # type: ignore[import-not-found]
    from re._constants import MAXREPEAT  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]
    from sre_constants import MAXREPEAT  # type: ignore[no-redef]

MAX_PATTERN_LENGTH = 200
TRIAL_SECONDS = 1.0
# Repeated characters that trip the usual backtracking shapes, each followed by a character that
# forces the match to fail at the end (failure is what explores every split).
_TRIAL_ALPHABET = "a0 _.-x#@/\t\n"
_TRIAL_LENGTH = 40

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_UNBOUNDED_THRESHOLD = 10  # {0,10} is harmless; {0,1000} behaves like *


def _is_unbounded(max_count: int) -> bool:
    return max_count == MAXREPEAT or max_count > _UNBOUNDED_THRESHOLD


def _subpatterns(op_name: str, av) -> list:
    """Child sequences of one parsed node (groups, alternations, lookarounds, repeats)."""
    if op_name in _REPEATS:
        return [av[2]]
    if op_name == "SUBPATTERN":
        return [av[-1]]
    if op_name == "BRANCH":
        return list(av[1])
    if op_name in {"ASSERT", "ASSERT_NOT"}:
        return [av[1]]
    if op_name == "ATOMIC_GROUP":
        return [av]
    if op_name == "GROUPREF_EXISTS":
        return [branch for branch in av[1:] if branch is not None]
    return []


def _contains_unbounded_repeat(seq) -> bool:
    for op, av in seq:
        name = str(op)
        if name in _REPEATS and _is_unbounded(av[1]):
            return True
        if any(_contains_unbounded_repeat(child) for child in _subpatterns(name, av)):
            return True
    return False


def _branches_overlap_under_repeat(seq) -> bool:
    """(a|a)* / (a|ab)*: an alternation inside an unbounded repeat whose branches share a first char."""
    for op, av in seq:
        name = str(op)
        if name in _REPEATS and _is_unbounded(av[1]):
            for inner_op, inner_av in av[2]:
                inner_name = str(inner_op)
                branch_seq = inner_av[-1] if inner_name == "SUBPATTERN" else None
                if branch_seq is None:
                    continue
                for b_op, b_av in branch_seq:
                    if str(b_op) == "BRANCH":
                        firsts = [str(branch[0]) if len(branch) else "" for branch in b_av[1]]
                        if len(firsts) != len(set(firsts)):
                            return True
            if _optional_part_repeats_start(av[2]):
                return True
        for child in _subpatterns(name, av):
            if _branches_overlap_under_repeat(child):
                return True
    return False


def _flatten_groups(seq) -> list:
    items = []
    for op, av in seq:
        if str(op) == "SUBPATTERN":
            items.extend(_flatten_groups(av[-1]))
        else:
            items.append((op, av))
    return items


def _optional_part_repeats_start(body) -> bool:
    """(a|aa)+ or (aa?)+: the parser factors these into `a` then an optional `a`, so the body can
    eat the same text as one long pass or several short ones."""
    items = _flatten_groups(body)
    if not items:
        return False
    first = repr(items[0])

    def starts_like_body(seq) -> bool:
        flat = _flatten_groups(seq)
        return bool(flat) and repr(flat[0]) == first

    for op, av in items[1:]:
        name = str(op)
        if name == "BRANCH" and any(len(b) == 0 for b in av[1]) and any(starts_like_body(b) for b in av[1]):
            return True
        if name in _REPEATS and av[0] < av[1] and starts_like_body(av[2]):
            return True
    return False


def _nested_unbounded(seq) -> bool:
    """An unbounded repeat whose body itself contains an unbounded repeat: (a+)+, (a*b?)*, (.*)*."""
    for op, av in seq:
        name = str(op)
        if name in _REPEATS and _is_unbounded(av[1]) and _contains_unbounded_repeat(av[2]):
            return True
        for child in _subpatterns(name, av):
            if _nested_unbounded(child):
                return True
    return False


def _adjacent_unbounded_same_class(seq) -> bool:
    r"""Two unbounded repeats of the same single item in a row (\d+\d+, .*.*): quadratic-or-worse splits."""
    previous = None
    for op, av in seq:
        name = str(op)
        if name in _REPEATS and _is_unbounded(av[1]) and len(av[2]) == 1:
            item = repr(list(av[2]))
            if item == previous:
                return True
            previous = item
        else:
            previous = None
        for child in _subpatterns(name, av):
            if _adjacent_unbounded_same_class(child):
                return True
    return False


_TRIAL_PROGRAM = r"""
import json, re, sys
data = json.loads(sys.stdin.read())
rx = re.compile(data["pattern"], re.IGNORECASE)
for text in data["inputs"]:
    rx.search(text)
print("ok")
"""


def _pattern_literals(seq, out: list[str]) -> list[str]:
    """Characters the pattern names, in order: the text most likely to make it backtrack."""
    for op, av in seq:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "IN":
            out.extend(chr(v) for o, v in av if str(o) == "LITERAL")
        for child in _subpatterns(name, av):
            _pattern_literals(child, out)
    return out


def _trial_inputs(parsed=None) -> list[str]:
    inputs = []
    for ch in _TRIAL_ALPHABET:
        for tail in ("!", "\x00", ""):
            inputs.append(ch * _TRIAL_LENGTH + tail)
    inputs.append("ab" * (_TRIAL_LENGTH // 2) + "!")
    inputs.append("a" * (_TRIAL_LENGTH // 2) + "b" * (_TRIAL_LENGTH // 2) + "!")
    literals = list(dict.fromkeys(_pattern_literals(parsed, []))) if parsed is not None else []
    ordered = _pattern_literals(parsed, []) if parsed is not None else []
    for ch in literals[:20]:
        inputs.append(ch * 60 + "!")
    for first, second in list(dict.fromkeys(zip(ordered, ordered[1:], strict=False)))[:20]:
        inputs.append((first + second) * 30 + "!")
    if ordered:
        run = "".join(ordered[:12])
        inputs.append(run * max(1, 60 // len(run)) + "!")
    return inputs


def regex_trial(*, pattern: str, timeout: float = TRIAL_SECONDS) -> bool:
    """True if `pattern` searches all adversarial inputs within `timeout` in a child interpreter."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError):
        parsed = None
    payload = json.dumps({"pattern": pattern, "inputs": _trial_inputs(parsed)})
    try:
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _TRIAL_PROGRAM],
            input=payload,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and result.stdout.strip() == "ok"


def regex_validate(*, pattern: str, trial: bool = True) -> str:
    """Return the pattern if it is safe to run on every post, else raise ValidationError saying why."""
    if not pattern or not pattern.strip():
        raise ValidationError("Enter a regular expression.", code="empty")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValidationError(
            f"Keep regular expressions under {MAX_PATTERN_LENGTH} characters.", code="too_long"
        )
    try:
        re.compile(pattern, re.IGNORECASE)
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValidationError(f"Not a valid regular expression: {exc}", code="invalid") from exc
    if re.fullmatch(pattern, "", re.IGNORECASE) is not None:
        raise ValidationError("This pattern matches empty text, so it would block everything.", code="empty_match")
    if _nested_unbounded(parsed):
        raise ValidationError(
            "Nested repetition such as (a+)+ can take exponential time; rewrite it without a "
            "repeated group that itself repeats.",
            code="catastrophic",
        )
    if _branches_overlap_under_repeat(parsed):
        raise ValidationError(
            "A repeated alternation whose branches start alike, such as (a|ab)*, can take "
            "exponential time; make the branches distinct.",
            code="catastrophic",
        )
    if _adjacent_unbounded_same_class(parsed):
        raise ValidationError(
            r"Two unbounded repeats of the same thing in a row (such as \d+\d+ or .*.*) are slow "
            "on long posts; merge them into one.",
            code="catastrophic",
        )
    if trial and not regex_trial(pattern=pattern):
        raise ValidationError(
            "This pattern took too long on test input and could stall the pipeline; simplify it.",
            code="too_slow",
        )
    return pattern
