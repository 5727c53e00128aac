"""Table tests for precondition evaluation (RFC 9110 §13.2.2) and If-Range (§13.1.5)."""

from __future__ import annotations

import pytest

from blobstream.errors import InvalidHeader
from blobstream.http.conditionals import (
    ConditionalHeaders,
    Outcome,
    Validators,
    evaluate,
    if_range_matches,
)

MTIME = 784111777.25  # Sun, 06 Nov 1994 08:49:37.25 GMT
SAME = "Sun, 06 Nov 1994 08:49:37 GMT"  # equal to MTIME at second granularity
BEFORE = "Sun, 06 Nov 1994 08:49:36 GMT"
AFTER = "Sun, 06 Nov 1994 08:49:38 GMT"
CURRENT = Validators(etag="v1", last_modified=MTIME)
NO_MTIME = Validators(etag="v1", last_modified=None)
ABSENT = None

P, NM, PF = Outcome.PROCEED, Outcome.NOT_MODIFIED, Outcome.PRECONDITION_FAILED


def cond(**headers: str) -> ConditionalHeaders:
    """Headers by Python name: ``if_match='"v1"'`` is ``If-Match: "v1"``."""
    names = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return ConditionalHeaders.from_headers(lambda name: names.get(name.lower()))


@pytest.mark.parametrize(
    ("method", "headers", "current", "expected"),
    [
        # no preconditions
        ("GET", {}, CURRENT, P),
        ("PUT", {}, ABSENT, P),
        # step 1: If-Match, strong comparison
        ("GET", {"if_match": '"v1"'}, CURRENT, P),
        ("GET", {"if_match": '"v2"'}, CURRENT, PF),
        ("GET", {"if_match": '"v2", "v1"'}, CURRENT, P),
        ("GET", {"if_match": 'W/"v1"'}, CURRENT, PF),
        ("PUT", {"if_match": '"v1"'}, CURRENT, P),
        ("PUT", {"if_match": '"v2"'}, CURRENT, PF),
        ("DELETE", {"if_match": '"v1"'}, CURRENT, P),
        ("DELETE", {"if_match": '"v0"'}, CURRENT, PF),
        ("PUT", {"if_match": "*"}, CURRENT, P),
        ("PUT", {"if_match": "*"}, ABSENT, PF),
        ("PUT", {"if_match": '"v1"'}, ABSENT, PF),
        ("PUT", {"if_match": ""}, CURRENT, PF),
        ("PUT", {"if_match": "*"}, Validators(etag=None, last_modified=None), P),
        ("PUT", {"if_match": '"v1"'}, Validators(etag=None, last_modified=None), PF),
        # If-Match wins over If-Unmodified-Since
        ("PUT", {"if_match": '"v1"', "if_unmodified_since": BEFORE}, CURRENT, P),
        ("PUT", {"if_match": '"v2"', "if_unmodified_since": AFTER}, CURRENT, PF),
        # step 2: If-Unmodified-Since at 1-second granularity
        ("PUT", {"if_unmodified_since": SAME}, CURRENT, P),
        ("PUT", {"if_unmodified_since": AFTER}, CURRENT, P),
        ("PUT", {"if_unmodified_since": BEFORE}, CURRENT, PF),
        ("GET", {"if_unmodified_since": BEFORE}, CURRENT, PF),
        ("PUT", {"if_unmodified_since": BEFORE}, NO_MTIME, P),
        ("PUT", {"if_unmodified_since": BEFORE}, ABSENT, P),
        ("PUT", {"if_unmodified_since": "garbage"}, CURRENT, P),
        # step 3: If-None-Match, weak comparison
        ("GET", {"if_none_match": '"v1"'}, CURRENT, NM),
        ("HEAD", {"if_none_match": '"v1"'}, CURRENT, NM),
        ("GET", {"if_none_match": 'W/"v1"'}, CURRENT, NM),
        ("GET", {"if_none_match": '"v0", W/"v1"'}, CURRENT, NM),
        ("GET", {"if_none_match": '"v2"'}, CURRENT, P),
        ("GET", {"if_none_match": "*"}, CURRENT, NM),
        ("GET", {"if_none_match": "*"}, ABSENT, P),
        ("GET", {"if_none_match": ""}, CURRENT, P),
        ("PUT", {"if_none_match": "*"}, CURRENT, PF),
        ("PUT", {"if_none_match": "*"}, ABSENT, P),
        ("PUT", {"if_none_match": '"v1"'}, CURRENT, PF),
        ("PUT", {"if_none_match": 'W/"v1"'}, CURRENT, PF),
        ("DELETE", {"if_none_match": '"v1"'}, CURRENT, PF),
        ("POST", {"if_none_match": '"v2"'}, CURRENT, P),
        ("GET", {"if_none_match": '"v1"'}, ABSENT, P),
        ("GET", {"if_none_match": '"v1"'}, Validators(etag=None, last_modified=MTIME), P),
        # If-Match passes, then If-None-Match decides
        ("GET", {"if_match": '"v1"', "if_none_match": '"v1"'}, CURRENT, NM),
        ("PUT", {"if_match": "*", "if_none_match": "*"}, CURRENT, PF),
        # If-Unmodified-Since passes, then If-None-Match decides
        ("GET", {"if_unmodified_since": AFTER, "if_none_match": '"v1"'}, CURRENT, NM),
        # step 4: If-Modified-Since, GET/HEAD only, at 1-second granularity
        ("GET", {"if_modified_since": SAME}, CURRENT, NM),
        ("HEAD", {"if_modified_since": SAME}, CURRENT, NM),
        ("GET", {"if_modified_since": AFTER}, CURRENT, NM),
        ("GET", {"if_modified_since": BEFORE}, CURRENT, P),
        ("GET", {"if_modified_since": "Sunday, 06-Nov-94 08:49:37 GMT"}, CURRENT, NM),
        ("GET", {"if_modified_since": "Sun Nov  6 08:49:37 1994"}, CURRENT, NM),
        ("GET", {"if_modified_since": "garbage"}, CURRENT, P),
        ("GET", {"if_modified_since": SAME + "x"}, CURRENT, P),
        ("GET", {"if_modified_since": SAME}, NO_MTIME, P),
        ("GET", {"if_modified_since": SAME}, ABSENT, P),
        ("PUT", {"if_modified_since": SAME}, CURRENT, P),
        ("POST", {"if_modified_since": AFTER}, CURRENT, P),
        # If-None-Match present: If-Modified-Since is ignored, either way
        ("GET", {"if_none_match": '"v2"', "if_modified_since": AFTER}, CURRENT, P),
        ("GET", {"if_none_match": '"v1"', "if_modified_since": BEFORE}, CURRENT, NM),
        # a failed If-Match beats a 304
        ("GET", {"if_match": '"v2"', "if_none_match": '"v1"'}, CURRENT, PF),
        ("GET", {"if_unmodified_since": BEFORE, "if_modified_since": AFTER}, CURRENT, PF),
    ],
)
def test_evaluate(
    method: str, headers: dict[str, str], current: Validators | None, expected: Outcome
) -> None:
    assert evaluate(method, cond(**headers), current) is expected


@pytest.mark.parametrize(
    "headers",
    [
        {"if_match": "v1"},
        {"if_match": '"v1'},
        {"if_match": '*, "v1"'},
        {"if_none_match": "v1"},
        {"if_none_match": '"v1" "v2"'},
        {"if_none_match": '"v1", *'},
    ],
)
def test_from_headers_rejects_garbage(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidHeader):
        cond(**headers)


def test_from_headers_parses_everything() -> None:
    parsed = cond(
        if_match='"a"',
        if_none_match="*",
        if_modified_since=SAME,
        if_unmodified_since="nonsense",
        if_range=' "a" ',
    )
    assert parsed.if_match is not None and parsed.if_match.matches_strong("a")
    assert parsed.if_none_match is not None and parsed.if_none_match.star
    assert parsed.if_modified_since == 784111777.0
    assert parsed.if_unmodified_since is None
    assert parsed.if_range == '"a"'
    assert cond() == ConditionalHeaders()


@pytest.mark.parametrize(
    ("if_range", "current", "expected"),
    [
        (None, CURRENT, True),
        ('"v1"', CURRENT, True),
        (' "v1" ', CURRENT, True),
        ('"v2"', CURRENT, False),
        ('W/"v1"', CURRENT, False),  # weak tags never match (§13.1.5)
        ('"v1", "v2"', CURRENT, False),
        ('"v1', CURRENT, False),
        ("v1", CURRENT, False),
        ("*", CURRENT, False),
        ("", CURRENT, False),
        ('"v1"', Validators(etag=None, last_modified=MTIME), False),
        (SAME, CURRENT, True),
        ("Sunday, 06-Nov-94 08:49:37 GMT", CURRENT, True),
        ("Sun Nov  6 08:49:37 1994", CURRENT, True),
        (BEFORE, CURRENT, False),
        (AFTER, CURRENT, False),  # must be exactly equal, not "not modified since"
        (SAME, NO_MTIME, False),
        ("Sun, 06 Nov 1994 08:49:37 UTC", CURRENT, False),
        ("garbage", CURRENT, False),
    ],
)
def test_if_range_matches(if_range: str | None, current: Validators, expected: bool) -> None:
    assert if_range_matches(if_range, current) is expected
