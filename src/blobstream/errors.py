"""The few errors any part of blobstream may raise, each knowing its HTTP status.

Like tusd's ``error.go``: one table of named failures, so a backend, the copy
helper and the HTTP layer agree on what a failure means and how it is answered
(RFC 9457 problem details, ``blobstream.http.problem``).

Each is also a Werkzeug ``HTTPException`` whose response is its problem
document, so a refusal raised in *any* Flask or Werkzeug app, with or without
the extension's handlers, is answered with its 4xx ``application/problem+json``
rather than a 500 and a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

PROBLEM_BASE = "https://blobstream.dev/problems/"
PROBLEM_JSON = "application/problem+json"  # RFC 9457 §3
_WRITES = frozenset({"PUT", "POST", "PATCH"})


class BlobstreamError(HTTPException):
    """Base class: ``status`` and ``slug`` say how the HTTP layer answers it."""

    status = 500
    code = 500  # Werkzeug's name for ``status``, kept equal by __init_subclass__
    slug = "internal"
    title = "Internal server error"
    headers: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.status

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(description=self.detail)
        self.args = (self.detail,)

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def __str__(self) -> str:
        return self.detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"

    def as_problem(self) -> dict[str, object]:
        """The problem details object (RFC 9457 §3.1)."""
        return {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        """The problem+json answer; closes the connection when a body may be left unread."""
        body = json.dumps(self.as_problem(), separators=(",", ":")) + "\n"
        response = Response(body, self.status, self.headers, content_type=PROBLEM_JSON)
        if environ is not None and _body_may_be_unread(environ):
            # The unread rest of the body cannot be told apart from a next request.
            response.headers["Connection"] = "close"
        return response


def _body_may_be_unread(environ: Any) -> bool:
    if isinstance(environ, dict):
        method, length = environ.get("REQUEST_METHOD"), environ.get("CONTENT_LENGTH")
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    else:  # a Werkzeug request
        method, length = environ.method, environ.headers.get("Content-Length")
        chunked = "chunked" in environ.headers.get("Transfer-Encoding", "").lower()
    return method in _WRITES and (chunked or length != "0")


class BadRequest(BlobstreamError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidKey(BadRequest):
    slug = "invalid-key"
    title = "Invalid key"


class InvalidHeader(BadRequest):
    slug = "invalid-header"
    title = "Invalid header"


class DigestMismatch(BadRequest):
    slug = "digest-mismatch"
    title = "Digest mismatch"


class IncompleteBody(BadRequest):
    """The body ended before its declared length (or the client went away)."""

    slug = "incomplete-body"
    title = "Incomplete body"


class Unauthorized(BlobstreamError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="blobstream"'}


class Forbidden(BlobstreamError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(BlobstreamError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(BlobstreamError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Gone(BlobstreamError):
    status = 410
    slug = "gone"
    title = "Gone"


class LengthRequired(BlobstreamError):
    status = 411
    slug = "length-required"
    title = "Length required"


class PreconditionFailed(BlobstreamError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class TooLarge(BlobstreamError):
    status = 413
    slug = "too-large"
    title = "Content too large"


class RequestTimeout(BlobstreamError):
    """RFC 9110 §15.5.9: the body stalled; nothing was stored."""

    status = 408
    slug = "request-timeout"
    title = "Request timeout"
    headers = {"Connection": "close"}


class UnsupportedMediaType(BlobstreamError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class RangeNotSatisfiable(BlobstreamError):
    status = 416
    slug = "range-not-satisfiable"
    title = "Range not satisfiable"

    def __init__(self, size: int, detail: str | None = None) -> None:
        super().__init__(detail or f"no requested range overlaps the {size} bytes")
        self.headers = {"Content-Range": f"bytes */{size}"}


class Locked(BlobstreamError):
    status = 423
    slug = "locked"
    title = "Locked"


class StorageFull(BlobstreamError):
    status = 507
    slug = "storage-full"
    title = "Insufficient storage"


class StorageUnavailable(BlobstreamError):
    status = 503
    slug = "storage-unavailable"
    title = "Storage unavailable"
    headers = {"Retry-After": "5"}


class ChecksumMismatch(BlobstreamError):
    """tus 1.0 checksum extension: the chunk does not match its ``Upload-Checksum``."""

    status = 460
    slug = "checksum-mismatch"
    title = "Checksum mismatch"


class QuotaExceeded(BlobstreamError):
    """A key prefix or a token has used its byte or blob-count quota."""

    status = 507
    slug = "quota-exceeded"
    title = "Quota exceeded"


class Vetoed(BlobstreamError):
    """The pre-commit hook refused the write; ``status`` is the hook's own 4xx."""

    status = 403
    slug = "vetoed"
    title = "Refused by the pre-commit hook"

    def __init__(self, detail: str | None = None, status: int = 403) -> None:
        super().__init__(detail)
        self.status = self.code = status if 400 <= status < 500 else 403
