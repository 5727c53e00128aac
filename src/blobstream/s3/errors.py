"""S3 errors: a code, a status and a message, answered as S3's XML ``<Error>``.

The store's named errors (:mod:`blobstream.errors`) map to the S3 code a
client expects for the same failure (S3 API reference, "Error responses").
"""

from __future__ import annotations

from blobstream import errors as base


class S3Error(base.BlobstreamError):
    """An S3 error response. A :class:`~blobstream.errors.BlobstreamError`, so the copy
    loop passes it through unchanged (a bad chunk signature is not a short body)."""

    def __init__(
        self, code: str, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.s3_code = code
        self.code = status  # Werkzeug's name for the status
        self.message = message
        self.status = status
        self.headers = headers or {}
        self.extra: dict[str, str] = {}


def no_such_bucket(bucket: str) -> S3Error:
    err = S3Error("NoSuchBucket", "The specified bucket does not exist", 404)
    err.extra["BucketName"] = bucket
    return err


def no_such_key(key: str) -> S3Error:
    err = S3Error("NoSuchKey", "The specified key does not exist.", 404)
    err.extra["Key"] = key
    return err


def no_such_upload() -> S3Error:
    return S3Error(
        "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID may be invalid, or the "
        "upload may have been aborted or completed.",
        404,
    )


def not_implemented(what: str) -> S3Error:
    return S3Error("NotImplemented", f"{what} is not implemented by this server", 501)


def invalid_argument(message: str) -> S3Error:
    return S3Error("InvalidArgument", message, 400)


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error("AccessDenied", message, 403)


def precondition_failed() -> S3Error:
    err = S3Error(
        "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412
    )
    return err


_BY_CLASS: list[tuple[type[base.BlobstreamError], str, int]] = [
    (base.DigestMismatch, "BadDigest", 400),
    (base.IncompleteBody, "IncompleteBody", 400),
    (base.RequestTimeout, "RequestTimeout", 400),
    (base.TooLarge, "EntityTooLarge", 400),
    (base.PreconditionFailed, "PreconditionFailed", 412),
    (base.RangeNotSatisfiable, "InvalidRange", 416),
    (base.Unauthorized, "AccessDenied", 403),
    (base.Forbidden, "AccessDenied", 403),
    (base.Vetoed, "AccessDenied", 403),
    (base.QuotaExceeded, "QuotaExceeded", 403),
    (base.StorageFull, "InsufficientStorage", 507),
    (base.StorageUnavailable, "ServiceUnavailable", 503),
    (base.Locked, "OperationAborted", 409),
    (base.Conflict, "OperationAborted", 409),
    (base.LengthRequired, "MissingContentLength", 411),
    (base.NotFound, "NoSuchKey", 404),
    (base.InvalidHeader, "InvalidArgument", 400),
    (base.BadRequest, "InvalidRequest", 400),
]


def from_store(err: base.BlobstreamError) -> S3Error:
    """The S3 error for one of the store's named errors."""
    for cls, code, status in _BY_CLASS:
        if isinstance(err, cls):
            status = err.status if isinstance(err, base.Vetoed) else status
            out = S3Error(code, err.detail, status)
            if isinstance(err, base.RangeNotSatisfiable):
                out.headers.update(err.headers)
            return out
    return S3Error("InternalError", "We encountered an internal error. Please try again.", 500)
