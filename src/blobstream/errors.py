"""The few errors any part of blobstream may raise, each knowing its HTTP status.

Like tusd's ``error.go``: one table of named failures, so a backend, the copy
helper and the HTTP layer agree on what a failure means and how it is answered
(RFC 9457 problem details, ``blobstream.http.problem``).
"""

from __future__ import annotations

PROBLEM_BASE = "https://blobstream.dev/problems/"


class BlobstreamError(Exception):
    """Base class: ``status`` and ``slug`` say how the HTTP layer answers it."""

    status = 500
    slug = "internal"
    title = "Internal server error"
    headers: dict[str, str] = {}

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug


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
        self.status = status if 400 <= status < 500 else 403
