"""Table tests for multipart/byteranges bodies (RFC 9110 §14.6)."""

from __future__ import annotations

import email.parser
import re
from collections.abc import Iterator

import pytest

from blobstream.http.multipart import (
    byteranges_boundary,
    byteranges_content_type,
    closing,
    iter_byteranges,
    multipart_length,
    part_header,
)
from blobstream.http.ranges import ByteSpan, parse_content_range, parse_range

DATA = bytes(range(256)) * 40  # 10240 bytes, including CR, LF and "--"


def read_in_pieces(data: bytes, span: ByteSpan, piece: int = 1000) -> Iterator[bytes]:
    for start in range(span.start, span.end + 1, piece):
        yield data[start : min(start + piece, span.end + 1)]


@pytest.mark.parametrize(
    ("spans", "size", "content_type", "boundary"),
    [
        ([ByteSpan(0, 0), ByteSpan(1, 1)], 2, "application/octet-stream", "b"),
        ([ByteSpan(0, 99), ByteSpan(200, 299)], 10240, "application/octet-stream", "x" * 70),
        ([ByteSpan(10239, 10239), ByteSpan(0, 0)], 10240, "text/plain; charset=utf-8", "B0u-nd"),
        ([ByteSpan(0, 10239), ByteSpan(0, 10239)], 10240, "application/pdf", "abc"),
        ([ByteSpan(5, 5000), ByteSpan(4000, 9000)], 10240, "image/png", "0123456789abcdef"),
        ([ByteSpan(i, i) for i in range(0, 10240, 1000)], 10240, "video/mp4", "z"),
        ([ByteSpan(9, 9), ByteSpan(99, 99), ByteSpan(999, 999)], 10240, "a/b", "a"),
        ([ByteSpan(9, 999), ByteSpan(1000, 1009)], 10240, "application/octet-stream", "q"),
        ([ByteSpan(0, 0), ByteSpan(1, 1)], 10240, "x" * 200, "long"),
        ([ByteSpan(0, 0)], 10240, "application/octet-stream", "one"),
        ([], 10240, "application/octet-stream", "none"),
        ([ByteSpan(0, 9), ByteSpan(20, 29)], 10240, "application/octet-stream", None),
    ],
)
def test_multipart_length_matches_body(
    spans: list[ByteSpan], size: int, content_type: str, boundary: str | None
) -> None:
    boundary = boundary or byteranges_boundary()
    data = DATA[:size]
    by_hand = b"".join(
        part_header(boundary, content_type, span, size) + data[span.start : span.end + 1]
        for span in spans
    ) + closing(boundary)
    streamed = b"".join(
        iter_byteranges(boundary, content_type, spans, size, lambda s: read_in_pieces(data, s))
    )
    assert streamed == by_hand
    assert multipart_length(boundary, content_type, spans, size) == len(by_hand)

    if not spans:
        return
    # A MIME parser finds each part with its Content-Range and exactly its bytes.
    head = f"Content-Type: {byteranges_content_type(boundary)}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(head + by_hand)
    assert message.is_multipart()
    parts = message.get_payload()
    assert isinstance(parts, list)
    assert len(parts) == len(spans)
    for part, span in zip(parts, spans, strict=True):
        assert part["Content-Type"] == content_type
        assert parse_content_range(str(part["Content-Range"])) == (span.start, span.end, size)
        payload = part.get_payload(decode=True)
        assert payload == data[span.start : span.end + 1]


def test_layout_follows_rfc_example() -> None:
    spans = [ByteSpan(500, 999), ByteSpan(7000, 7999)]
    body = b"".join(
        part_header("SEP", "application/pdf", s, 8000) + b"." * s.length for s in spans
    ) + closing("SEP")
    assert body == (
        b"\r\n--SEP\r\nContent-Type: application/pdf\r\nContent-Range: bytes 500-999/8000\r\n\r\n"
        + b"." * 500
        + b"\r\n--SEP\r\nContent-Type: application/pdf\r\nContent-Range: bytes 7000-7999/8000"
        + b"\r\n\r\n"
        + b"." * 1000
        + b"\r\n--SEP--\r\n"
    )


def test_with_parse_range() -> None:
    spans = parse_range("bytes=0-9,-10", len(DATA))
    assert spans is not None
    boundary = byteranges_boundary()
    body = b"".join(
        iter_byteranges(boundary, "a/b", spans, len(DATA), lambda s: [DATA[s.start : s.end + 1]])
    )
    assert len(body) == multipart_length(boundary, "a/b", spans, len(DATA))


@pytest.mark.parametrize("content_type", ["a/b\r\nX-Evil: 1", "a/b\n", "a/b\r"])
def test_part_header_refuses_line_breaks(content_type: str) -> None:
    with pytest.raises(ValueError):
        part_header("b", content_type, ByteSpan(0, 0), 1)


def test_boundaries_are_random_tokens() -> None:
    boundaries = {byteranges_boundary() for _ in range(50)}
    assert len(boundaries) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", b) for b in boundaries)
    assert byteranges_content_type("abc") == "multipart/byteranges; boundary=abc"
