"""Table tests for Range / Content-Range parsing (RFC 9110 §14)."""

from __future__ import annotations

import pytest

from blobstream.errors import InvalidHeader, RangeNotSatisfiable
from blobstream.http.ranges import ByteSpan, coalesce, parse_content_range, parse_range

UNSAT = "unsatisfiable"
HUGE = "9" * 5000  # longer than int()'s 4300-digit limit


def spans(*pairs: tuple[int, int]) -> list[ByteSpan]:
    return [ByteSpan(a, b) for a, b in pairs]


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        # absent, other units, syntax errors: ignore the header (None)
        (None, 100, None),
        ("", 100, None),
        ("bytes", 100, None),
        ("bytes=", 100, None),
        ("bytes=,", 100, None),
        ("bytes= , ,", 100, None),
        ("items=0-1", 100, None),
        ("bytesx=0-1", 100, None),
        ("=0-1", 100, None),
        ("bytes=5-1", 100, None),
        ("bytes=0-1,5-1", 100, None),
        ("bytes=-", 100, None),
        ("bytes=abc", 100, None),
        ("bytes=1", 100, None),
        ("bytes=1-2-3", 100, None),
        ("bytes=--1", 100, None),
        ("bytes=+1-2", 100, None),
        ("bytes=1_0-20", 100, None),
        ("bytes=0x10-20", 100, None),
        ("bytes=１-2", 100, None),  # fullwidth digit
        ("bytes=²-3", 100, None),  # superscript digit
        ("bytes=1 - 2", 100, None),
        ("bytes=0-1;2-3", 100, None),
        ("bytes=1.5-2", 100, None),
        ("bytes=0-1,x", 100, None),
        (f"bytes={HUGE}-1", 100, None),
        ("bytes=" + ",".join(["0-0"] * 101), 100, None),
        # single ranges
        ("bytes=0-0", 100, spans((0, 0))),
        ("bytes=0-99", 100, spans((0, 99))),
        ("bytes=0-", 100, spans((0, 99))),
        ("bytes=99-", 100, spans((99, 99))),
        ("bytes=10-20", 100, spans((10, 20))),
        ("bytes=5-5", 100, spans((5, 5))),
        ("bytes=0-1000", 100, spans((0, 99))),
        ("bytes=50-" + HUGE, 100, spans((50, 99))),
        ("bytes=0-99999999999999999999999999999999999", 100, spans((0, 99))),
        ("bytes=-1", 100, spans((99, 99))),
        ("bytes=-10", 100, spans((90, 99))),
        ("bytes=-100", 100, spans((0, 99))),
        ("bytes=-1000", 100, spans((0, 99))),
        ("bytes=-" + HUGE, 100, spans((0, 99))),
        ("bytes=00010-00020", 100, spans((10, 20))),
        ("bytes=-0010", 100, spans((90, 99))),
        # unit is case-insensitive; OWS around elements, tolerated empty elements
        ("BYTES=0-1", 100, spans((0, 1))),
        ("Bytes=0-1", 100, spans((0, 1))),
        (" bytes =0-1", 100, spans((0, 1))),
        ("bytes= 0-1 ", 100, spans((0, 1))),
        ("bytes=0-1 ,\t2-3", 100, spans((0, 1), (2, 3))),
        ("bytes=0-1,,2-3", 100, spans((0, 1), (2, 3))),
        ("bytes=,0-1,", 100, spans((0, 1))),
        # several ranges: request order kept, overlaps kept when few
        ("bytes=50-59,0-9", 100, spans((50, 59), (0, 9))),
        ("bytes=0-9,5-14", 100, spans((0, 9), (5, 14))),
        ("bytes=0-,0-", 100, spans((0, 99), (0, 99))),
        ("bytes=-5,0-4", 100, spans((95, 99), (0, 4))),
        # unsatisfiable members are dropped if another one is satisfiable
        ("bytes=200-300,0-1", 100, spans((0, 1))),
        ("bytes=-0,0-1", 100, spans((0, 1))),
        ("bytes=100-,-1", 100, spans((99, 99))),
        # nothing satisfiable: 416
        ("bytes=100-", 100, UNSAT),
        ("bytes=100-200", 100, UNSAT),
        ("bytes=-0", 100, UNSAT),
        ("bytes=-0,-0", 100, UNSAT),
        ("bytes=" + HUGE + "-", 100, UNSAT),
        ("bytes=100-199,300-", 100, UNSAT),
        ("bytes=0-0", 0, UNSAT),
        ("bytes=0-", 0, UNSAT),
        ("bytes=-1", 0, UNSAT),
        ("bytes=-0", 0, UNSAT),
        # an invalid header is ignored even when the size is zero
        ("bytes=5-1", 0, None),
        ("chunks=0-1", 0, None),
        # many ranges: coalesced above 16, ignored above 100
        ("bytes=" + ",".join(f"{i}-{i}" for i in range(17)), 100, spans((0, 16))),
        (
            "bytes=" + ",".join(f"{i}-{i}" for i in range(16)),
            100,
            [ByteSpan(i, i) for i in range(16)],
        ),
        ("bytes=" + ",".join(["0-"] * 100), 100, spans((0, 99))),
        (
            "bytes=" + ",".join(f"{i * 2}-{i * 2}" for i in range(17, 0, -1)),
            100,
            [ByteSpan(i * 2, i * 2) for i in range(1, 18)],
        ),
        ("bytes=" + ",".join(["0-"] * 100) + ",,,", 100, spans((0, 99))),
    ],
)
def test_parse_range(header: str | None, size: int, expected: object) -> None:
    if expected == UNSAT:
        with pytest.raises(RangeNotSatisfiable) as info:
            parse_range(header, size)
        assert info.value.status == 416
        assert info.value.headers == {"Content-Range": f"bytes */{size}"}
    else:
        assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("span", "size", "length", "content_range"),
    [
        (ByteSpan(0, 0), 1, 1, "bytes 0-0/1"),
        (ByteSpan(0, 99), 100, 100, "bytes 0-99/100"),
        (ByteSpan(10, 19), 100, 10, "bytes 10-19/100"),
        (ByteSpan(2**40, 2**41 - 1), 2**41, 2**40, f"bytes {2**40}-{2**41 - 1}/{2**41}"),
    ],
)
def test_byte_span(span: ByteSpan, size: int, length: int, content_range: str) -> None:
    assert span.length == length
    assert span.content_range(size) == content_range


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], []),
        (spans((0, 1)), spans((0, 1))),
        (spans((5, 9), (0, 1)), spans((0, 1), (5, 9))),
        (spans((0, 1), (2, 3)), spans((0, 3))),
        (spans((0, 9), (2, 3)), spans((0, 9))),
        (spans((0, 5), (3, 9)), spans((0, 9))),
        (spans((0, 1), (3, 4)), spans((0, 1), (3, 4))),
        (spans((4, 4), (3, 3), (2, 2)), spans((2, 4))),
    ],
)
def test_coalesce(given: list[ByteSpan], expected: list[ByteSpan]) -> None:
    assert coalesce(given) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes 0-0/1", (0, 0, 1)),
        ("bytes 0-499/1234", (0, 499, 1234)),
        ("bytes 21010-47021/47022", (21010, 47021, 47022)),
        ("bytes 0-9/*", (0, 9, None)),
        ("BYTES 0-9/10", (0, 9, 10)),
        (" bytes 0-9/10 ", (0, 9, 10)),
        ("bytes 007-009/010", (7, 9, 10)),
        (f"bytes 0-{2**50}/{2**50 + 1}", (0, 2**50, 2**50 + 1)),
        ("bytes */100", InvalidHeader),
        ("bytes 5-1/10", InvalidHeader),
        ("bytes 0-10/10", InvalidHeader),
        ("bytes 0-9/0", InvalidHeader),
        ("bytes 0-9", InvalidHeader),
        ("bytes=0-9/10", InvalidHeader),
        ("bytes  0-9/10", InvalidHeader),
        ("items 0-9/10", InvalidHeader),
        ("0-9/10", InvalidHeader),
        ("", InvalidHeader),
        ("bytes -9/10", InvalidHeader),
        ("bytes 0-/10", InvalidHeader),
        ("bytes 0-9/-1", InvalidHeader),
        ("bytes 0-9/1 0", InvalidHeader),
        ("bytes ０-9/10", InvalidHeader),
        ("bytes 0-9/*/", InvalidHeader),
        (f"bytes 0-{HUGE}/*", InvalidHeader),
    ],
)
def test_parse_content_range(header: str, expected: object) -> None:
    if expected is InvalidHeader:
        with pytest.raises(InvalidHeader):
            parse_content_range(header)
    else:
        assert parse_content_range(header) == expected
