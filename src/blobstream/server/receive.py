"""Read what a write request declares, then stream its body into storage.

:func:`receive_request` is the Flask-facing half of the seed's trick for
developers' own apps: copy ``request.stream`` to any writable sink in bounded
memory, with the size limit and the client's digests checked.
"""

from __future__ import annotations

import re

from flask import Request, request

from blobstream.errors import InvalidHeader, PreconditionFailed, TooLarge
from blobstream.http.conditionals import ConditionalHeaders, Outcome, Validators, evaluate
from blobstream.http.digests import expected_digests
from blobstream.ingest import DEFAULT_CONTENT_TYPE, Expected, verify, verify_trailers, wants_md5
from blobstream.server.wsgi_input import body_stream
from blobstream.storage.protocol import BlobInfo, WriteCondition
from blobstream.streams import CopyResult, Writable, copy_stream, new_hashers

# The largest file offset (off_t), as nginx checks it: more cannot be a real length.
MAX_LENGTH = (1 << 63) - 1
_MEDIA_TYPE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$")


def declared_length(req: Request, limit: int | None) -> int | None:
    """The body's declared length (None for chunked); 413 at once when over ``limit``."""
    coding = req.headers.get("Transfer-Encoding")
    if coding is not None:
        if coding.strip().lower() != "chunked":
            # Only chunked is decoded by the server: any other coding would be
            # stored still encoded, as if it were the blob (RFC 9112 §6.1).
            raise InvalidHeader(f"Transfer-Encoding {coding[:40]!r} is not supported; use chunked")
        return None
    raw = req.headers.get("Content-Length")
    if raw is None:
        return 0
    if not raw.isdigit():
        raise InvalidHeader(f"Content-Length {raw!r} is not a number of bytes")
    length = int(raw)
    if length > MAX_LENGTH:
        raise InvalidHeader(f"Content-Length {raw[:40]!r} is larger than any file can be")
    if limit is not None and length > limit:
        raise TooLarge(f"the body of {length} bytes exceeds the limit of {limit} bytes")
    return length


def content_type_of(req: Request) -> str:
    return media_type(req.headers.get("Content-Type"))


def media_type(value: str | None) -> str:
    """A client's Content-Type, checked to be a media type, or the default."""
    value = (value or "").strip()
    if not value:
        return DEFAULT_CONTENT_TYPE
    if len(value) > 255 or not _MEDIA_TYPE.match(value):
        raise InvalidHeader(f"Content-Type {value[:80]!r} is not a media type")
    return value


def expected_of(req: Request) -> Expected:
    parsed = expected_digests(req.headers.get("Content-MD5"), req.headers.get("Content-Digest"))
    return Expected(sha256=parsed.sha256, md5=parsed.md5)


def write_condition(req: Request, current: BlobInfo | None) -> WriteCondition:
    """Check If-* for a write now (fail fast) and return what the commit re-checks atomically."""
    cond = ConditionalHeaders.from_headers(req.headers.get)
    validators = None if current is None else Validators(current.etag, current.last_modified)
    if evaluate(req.method, cond, validators) is not Outcome.PROCEED:
        raise PreconditionFailed("a precondition of the write does not hold")
    if_match = None
    if cond.if_match is not None:
        if_match = (
            ("*",)
            if cond.if_match.star
            else tuple(t.value for t in cond.if_match.tags if not t.weak)
        )
    if_none_match = None
    if cond.if_none_match is not None:
        if_none_match = (
            ("*",) if cond.if_none_match.star else tuple(t.value for t in cond.if_none_match.tags)
        )
    if if_match is None and if_none_match is None and cond.if_unmodified_since is not None:
        # The date was checked above; pin the version it was checked against.
        if_match = (current.etag,) if current is not None else None
    return WriteCondition(if_match=if_match, if_none_match=if_none_match)


def receive_request(
    sink: Writable, *, limit: int | None = None, req: Request | None = None
) -> CopyResult:
    """Copy the request body into ``sink`` in ~1 MiB pieces and return size and hashes.

    Checks ``Content-Length`` against ``limit`` before reading, the length while
    reading, and ``Content-MD5``/``Content-Digest`` after (from the header section
    or a chunked body's trailer section); raises the named errors
    of :mod:`blobstream.errors`, which the extension answers as problem+json.
    """
    req = req or request
    length = declared_length(req, limit)
    expected = expected_of(req)
    body = body_stream(req)
    hashers = new_hashers(md5=expected.md5 is not None or wants_md5(body))
    result = copy_stream(body, sink, length=length, limit=limit, hashers=hashers)
    verify(result, expected)
    verify_trailers(result, body)
    return result
