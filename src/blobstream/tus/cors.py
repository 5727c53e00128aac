"""CORS for the tus endpoints, so browsers (tus-js-client, Uppy) can upload (Fetch standard).

One function decides every CORS header; restricting origins (for example once
credentials are configured) is a change here only.
"""

from __future__ import annotations

from blobstream.auth.hook import allowed_origin

ALLOW_METHODS = "POST, HEAD, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "Authorization, Content-Type, X-Requested-With, X-HTTP-Method-Override, Tus-Resumable, "
    "Upload-Length, Upload-Offset, Upload-Defer-Length, Upload-Metadata, Upload-Concat, "
    "Upload-Checksum"
)
EXPOSE_HEADERS = (
    "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, "
    "Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Concat, "
    "Upload-Expires, Blobstream-Key, Blobstream-Upload-Id"
)
MAX_AGE = "86400"


def cors_headers(origin: str | None, preflight: bool) -> dict[str, str]:
    """The CORS headers of a response to a request from ``origin`` (none without one)."""
    if origin is None:
        return {}
    # Access control decides which origins may call, and with credentials or not.
    allowed = allowed_origin(origin, preflight)
    if allowed is None:
        return {}
    headers = {"Access-Control-Allow-Origin": allowed}
    if preflight:
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = MAX_AGE
    else:
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return headers
