"""Table tests of the IETF resumable-upload header parsers."""

from __future__ import annotations

import pytest

from blobstream.errors import InvalidHeader
from blobstream.tus.ietf_headers import parse_complete, parse_interop_version, parse_sf_boolean


@pytest.mark.parametrize(
    ("value", "expected"),
    [("?1", True), ("?0", False), (" ?1 ", True), ("?1;a=b", True), (None, None)],
)
def test_sf_boolean(value: str | None, expected: bool | None) -> None:
    assert parse_sf_boolean(value, "X") is expected


@pytest.mark.parametrize("value", ["1", "true", "?", "?2", "", "?1,?0"])
def test_sf_boolean_refuses(value: str) -> None:
    with pytest.raises(InvalidHeader):
        parse_sf_boolean(value, "X")


@pytest.mark.parametrize(
    ("complete", "incomplete", "expected"),
    [
        ("?1", None, True),
        ("?0", None, False),
        (None, "?1", False),
        (None, "?0", True),
        ("?1", "?0", True),
        (None, None, None),
    ],
)
def test_complete(complete: str | None, incomplete: str | None, expected: bool | None) -> None:
    assert parse_complete(complete, incomplete) is expected


def test_contradicting_fields_are_refused() -> None:
    with pytest.raises(InvalidHeader):
        parse_complete("?1", "?1")


@pytest.mark.parametrize(("value", "ok"), [("5", True), ("6", True), (" 3", True), ("7", False)])
def test_interop_version(value: str, ok: bool) -> None:
    if ok:
        assert parse_interop_version(value) == value.strip()
    else:
        with pytest.raises(InvalidHeader):
            parse_interop_version(value)
    with pytest.raises(InvalidHeader):
        parse_interop_version(None)
