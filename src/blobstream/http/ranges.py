"""Range requests: parse ``Range`` and ``Content-Range`` (RFC 9110 §14)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from blobstream.errors import InvalidHeader, RangeNotSatisfiable

MAX_RANGES = 100
"""More range-specs than this and the header is ignored (RFC 9110 §14.2 abuse)."""

COALESCE_ABOVE = 16
"""More satisfiable spans than this are sorted and merged (RFC 9110 §14.2)."""

_SPEC = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)
_CONTENT_RANGE = re.compile(
    r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([0-9]+)-([0-9]+)/([0-9]+|\*)", re.ASCII
)
_OWS = " \t"
# Saturate absurdly long numbers instead of calling int() on them (3.11 caps
# int() at 4300 digits); any value this big is past the end of any blob.
_HUGE_DIGITS = 30
_HUGE: int = int("1" + "0" * _HUGE_DIGITS)


@dataclass(frozen=True)
class ByteSpan:
    """An inclusive byte range ``start``-``end`` of a representation (RFC 9110 §14.1.1)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The ``Content-Range`` value for this span (RFC 9110 §14.4)."""
        return f"bytes {self.start}-{self.end}/{size}"


def _digits_key(digits: str) -> tuple[int, str]:
    """Order decimal strings exactly, however long, without converting them."""
    stripped = digits.lstrip("0") or "0"
    return len(stripped), stripped


def _to_int(digits: str) -> int:
    stripped = digits.lstrip("0") or "0"
    if len(stripped) > _HUGE_DIGITS:
        return _HUGE
    return int(stripped)


def _span(first: str, last: str, size: int) -> ByteSpan | None | bool:
    """One range-spec against ``size``: a span, ``None`` if unsatisfiable, ``False`` if invalid."""
    if not first:
        if not last:
            return False
        suffix = _to_int(last)
        if suffix == 0 or size == 0:
            return None
        return ByteSpan(max(0, size - suffix), size - 1)
    if last and _digits_key(first) > _digits_key(last):
        return False
    start = _to_int(first)
    if start >= size:
        return None
    end = size - 1 if not last else min(_to_int(last), size - 1)
    return ByteSpan(start, end)


def coalesce(spans: list[ByteSpan]) -> list[ByteSpan]:
    """Sort ``spans`` and merge the overlapping or adjacent ones (RFC 9110 §14.2)."""
    merged: list[ByteSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1].end + 1:
            if span.end > merged[-1].end:
                merged[-1] = ByteSpan(merged[-1].start, span.end)
        else:
            merged.append(span)
    return merged


def parse_range(header: str | None, size: int) -> list[ByteSpan] | None:
    """Parse a ``Range`` header against a representation of ``size`` bytes (RFC 9110 §14.2).

    ``None`` means "ignore it and send the whole representation": the header is
    absent, invalid, not in bytes, or abusive. Otherwise the satisfiable spans,
    in request order (merged when there are many); raises
    :class:`RangeNotSatisfiable` when none is satisfiable.
    """
    if header is None:
        return None
    unit, sep, range_set = header.partition("=")
    if not sep or unit.strip(_OWS).lower() != "bytes":
        return None
    specs = [item.strip(_OWS) for item in range_set.split(",")]
    specs = [item for item in specs if item]  # RFC 9110 §5.6.1: empty elements are allowed
    if not specs or len(specs) > MAX_RANGES:
        return None
    spans: list[ByteSpan] = []
    for spec in specs:
        match = _SPEC.fullmatch(spec)
        if match is None:
            return None
        span = _span(match[1], match[2], size)
        if span is False:
            return None
        if isinstance(span, ByteSpan):
            spans.append(span)
    if not spans:
        raise RangeNotSatisfiable(size)
    if len(spans) > COALESCE_ABOVE:
        spans = coalesce(spans)
    return spans


def parse_content_range(header: str) -> tuple[int, int, int | None]:
    """Parse ``bytes first-last/size`` or ``bytes first-last/*`` (RFC 9110 §14.4).

    Returns ``(first, last, size or None)``; raises :class:`InvalidHeader` for
    anything else, including the ``bytes */size`` form of a 416 response.
    """
    match = _CONTENT_RANGE.fullmatch(header.strip(_OWS))
    if match is None or match[1].lower() != "bytes":
        raise InvalidHeader(f"invalid Content-Range: {header!r}")
    if any(len(part.lstrip("0")) > _HUGE_DIGITS for part in match.groups()[1:]):
        raise InvalidHeader(f"Content-Range number too large: {header!r}")
    first, last = int(match[2]), int(match[3])
    size = None if match[4] == "*" else int(match[4])
    if first > last or (size is not None and last >= size):
        raise InvalidHeader(f"Content-Range out of order or past the end: {header!r}")
    return first, last, size
