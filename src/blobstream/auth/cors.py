"""CORS (Fetch standard): only configured origins may send credentials.

``BLOBSTREAM_CORS_ORIGINS`` is a comma-separated list of origins
(``https://app.example``). A listed origin may send ``Authorization`` and read
the responses. ``*`` lets any other origin make requests that carry no
credentials (presigned URLs); it never allows ``Authorization``. An origin not
allowed gets no CORS headers, and its preflight gets ``403``.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import Headers

ALLOW_METHODS = "GET, HEAD, PUT, POST, PATCH, DELETE, OPTIONS"
# Request headers the API understands: HTTP's own, RFC 9530 digests, tus 1.0.
ALLOW_HEADERS = (
    "Content-Type, Content-MD5, Content-Digest, Repr-Digest, If-Match, If-None-Match, "
    "If-Modified-Since, If-Unmodified-Since, If-Range, Range, Tus-Resumable, Upload-Length, "
    "Upload-Offset, Upload-Metadata, Upload-Defer-Length, Upload-Concat, Upload-Checksum, "
    "X-HTTP-Method-Override, X-Requested-With"
)
EXPOSE_HEADERS = (
    "ETag, Last-Modified, Location, Content-Range, Content-Length, Content-Disposition, "
    "Repr-Digest, Retry-After, WWW-Authenticate, Tus-Resumable, Tus-Version, Tus-Extension, "
    "Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Offset, Upload-Length, Upload-Metadata, "
    "Upload-Expires, Upload-Defer-Length, Upload-Concat, Blobstream-Key, "
    "Blobstream-Upload-Id"
)
MAX_AGE = "600"


def parse_origins(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Origins from ``"a, b"`` or a list; each is ``*`` or ``scheme://host[:port]``."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    origins = []
    for item in items:
        item = item.strip().rstrip("/")
        if not item:
            continue
        if item != "*" and ("://" not in item or "/" in item.split("://", 1)[1]):
            raise ValueError(f"CORS origin {item!r} is not '*' or scheme://host[:port]")
        origins.append(item)
    return tuple(origins)


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...] = ()

    @property
    def any_origin(self) -> bool:
        return "*" in self.origins

    def trusted(self, origin: str) -> bool:
        """A listed origin: it may send credentials (``Authorization``)."""
        return origin in self.origins

    def allowed(self, origin: str | None, credentials: bool) -> bool:
        if not origin:
            return False
        return self.trusted(origin) or (self.any_origin and not credentials)

    def preflight_headers(self, origin: str, requested_headers: str | None) -> Headers | None:
        """Headers answering a preflight, or None when ``origin`` is not allowed."""
        wants = {h.strip().lower() for h in (requested_headers or "").split(",") if h.strip()}
        credentials = "authorization" in wants
        if not self.allowed(origin, credentials):
            return None
        headers = Headers()
        headers["Access-Control-Allow-Origin"] = origin if self.trusted(origin) else "*"
        headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        allow = ALLOW_HEADERS + (", Authorization" if self.trusted(origin) else "")
        headers["Access-Control-Allow-Headers"] = allow
        headers["Access-Control-Max-Age"] = MAX_AGE
        headers["Vary"] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        return headers

    def allow_origin(self, origin: str | None, credentials: bool) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or None when not allowed."""
        if not origin or not self.allowed(origin, credentials):
            return None
        return origin if self.trusted(origin) else "*"

    def response_headers(self, origin: str | None, credentials: bool) -> Headers:
        """Headers for an actual response to ``origin`` (none when it is not allowed)."""
        headers = Headers()
        if origin and self.allowed(origin, credentials):
            headers["Access-Control-Allow-Origin"] = origin if self.trusted(origin) else "*"
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return headers


def is_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    """A CORS preflight: OPTIONS with ``Origin`` and ``Access-Control-Request-Method``."""
    return method == "OPTIONS" and bool(origin) and bool(request_method)
