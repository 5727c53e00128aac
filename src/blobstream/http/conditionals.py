"""Conditional requests: evaluate preconditions in the order of RFC 9110 §13.2.2."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

from blobstream.errors import InvalidHeader
from blobstream.http.dates import parse_http_date
from blobstream.http.etags import ETagList, parse_etag_list

_SAFE = frozenset({"GET", "HEAD"})


class Outcome(enum.Enum):
    """What the preconditions say: go on, ``304 Not Modified`` or ``412``."""

    PROCEED = "proceed"
    NOT_MODIFIED = "not-modified"
    PRECONDITION_FAILED = "precondition-failed"


@dataclass(frozen=True)
class Validators:
    """The selected representation's validators: opaque strong ETag and mtime (RFC 9110 §8.8)."""

    etag: str | None
    last_modified: float | None


@dataclass(frozen=True)
class ConditionalHeaders:
    """The request's precondition header fields, parsed (RFC 9110 §13.1)."""

    if_match: ETagList | None = None
    if_none_match: ETagList | None = None
    if_modified_since: float | None = None
    if_unmodified_since: float | None = None
    if_range: str | None = None

    @classmethod
    def from_headers(cls, get: Callable[[str], str | None]) -> ConditionalHeaders:
        """Parse from a header getter; bad ETag lists raise, bad dates are ignored (§13.1.3-4)."""
        if_range = get("If-Range")
        return cls(
            if_match=parse_etag_list(get("If-Match")),
            if_none_match=parse_etag_list(get("If-None-Match")),
            if_modified_since=parse_http_date(get("If-Modified-Since")),
            if_unmodified_since=parse_http_date(get("If-Unmodified-Since")),
            if_range=None if if_range is None else if_range.strip(" \t"),
        )


def _seconds(ts: float) -> int:
    """HTTP dates have one-second resolution (RFC 9110 §5.6.7)."""
    return math.floor(ts)


def evaluate(method: str, cond: ConditionalHeaders, current: Validators | None) -> Outcome:
    """Evaluate the preconditions of ``cond`` for ``method`` in the order of RFC 9110 §13.2.2.

    ``current`` is ``None`` when the target resource has no current
    representation. The caller answers ``Range``/``If-Range`` itself, and skips
    this when its answer without preconditions would not be 2xx (§13.2.1).
    """
    # Step 1: If-Match, strong comparison; "*" is true iff a representation exists.
    if cond.if_match is not None:
        if current is None:
            return Outcome.PRECONDITION_FAILED
        if not cond.if_match.star and (
            current.etag is None or not cond.if_match.matches_strong(current.etag)
        ):
            return Outcome.PRECONDITION_FAILED
    # Step 2: If-Unmodified-Since, ignored without a modification date (§13.1.4).
    elif cond.if_unmodified_since is not None and current is not None:
        if current.last_modified is not None and (
            _seconds(current.last_modified) > cond.if_unmodified_since
        ):
            return Outcome.PRECONDITION_FAILED
    # Step 3: If-None-Match, weak comparison; "*" is false iff a representation exists.
    if cond.if_none_match is not None:
        if current is not None and (
            cond.if_none_match.star
            or (current.etag is not None and cond.if_none_match.matches_weak(current.etag))
        ):
            return Outcome.NOT_MODIFIED if method in _SAFE else Outcome.PRECONDITION_FAILED
    # Step 4: If-Modified-Since, only for GET/HEAD and only without If-None-Match.
    elif cond.if_modified_since is not None and method in _SAFE and current is not None:
        if current.last_modified is not None and (
            _seconds(current.last_modified) <= cond.if_modified_since
        ):
            return Outcome.NOT_MODIFIED
    return Outcome.PROCEED


def if_range_matches(if_range: str | None, current: Validators) -> bool:
    """Whether ``If-Range`` lets the ``Range`` header apply (RFC 9110 §13.1.5).

    True when absent, when a strong ETag equals the current one, or when an
    HTTP-date equals ``Last-Modified`` to the second. Weak or invalid: false.
    """
    if if_range is None:
        return True
    text = if_range.strip(" \t")
    if text.startswith(('"', "W/")):
        tags = _parse_single_tag(text)
        return (
            tags is not None
            and current.etag is not None
            and len(tags.tags) == 1
            and tags.matches_strong(current.etag)
        )
    date = parse_http_date(text)
    return (
        date is not None
        and current.last_modified is not None
        and _seconds(current.last_modified) == date
    )


def _parse_single_tag(text: str) -> ETagList | None:
    try:
        return parse_etag_list(text)
    except InvalidHeader:
        return None
