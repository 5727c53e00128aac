"""``multipart/byteranges`` bodies for several ranges (RFC 9110 §14.6, RFC 2046 §5.1.1).

Body layout: for each span, :func:`part_header` then the span's bytes; then
:func:`closing`. Each header starts with the CRLF that ends the previous part
(the first one ends an empty preamble), so the pieces simply concatenate.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence

from blobstream.http.ranges import ByteSpan


def byteranges_boundary() -> str:
    """A fresh random boundary: 32 hex digits, which cannot occur by chance in the data."""
    return secrets.token_hex(16)


def byteranges_content_type(boundary: str) -> str:
    """The response ``Content-Type`` for a multipart/byteranges body (RFC 9110 §14.6)."""
    return f"multipart/byteranges; boundary={boundary}"


def part_header(boundary: str, content_type: str, span: ByteSpan, size: int) -> bytes:
    """The delimiter and header fields that precede one span's bytes (RFC 9110 §14.6)."""
    if any(c in content_type for c in "\r\n"):
        raise ValueError(f"content type contains a line break: {content_type!r}")
    return (
        f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
        f"Content-Range: {span.content_range(size)}\r\n\r\n"
    ).encode("latin-1")


def closing(boundary: str) -> bytes:
    """The close delimiter that ends the body (RFC 2046 §5.1.1)."""
    return f"\r\n--{boundary}--\r\n".encode("latin-1")


def multipart_length(boundary: str, content_type: str, spans: Sequence[ByteSpan], size: int) -> int:
    """The exact length of the whole body, to send as ``Content-Length`` (RFC 9110 §8.6)."""
    return sum(len(part_header(boundary, content_type, s, size)) + s.length for s in spans) + len(
        closing(boundary)
    )


def iter_byteranges(
    boundary: str,
    content_type: str,
    spans: Sequence[ByteSpan],
    size: int,
    read: Callable[[ByteSpan], Iterable[bytes]],
) -> Iterator[bytes]:
    """Yield the whole body, taking each span's bytes in pieces from ``read(span)``."""
    for span in spans:
        yield part_header(boundary, content_type, span, size)
        yield from read(span)
    yield closing(boundary)
