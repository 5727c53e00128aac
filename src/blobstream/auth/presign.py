"""Presigned URLs: HMAC-SHA256 over method, key and expiry, like S3's query-string auth.

A URL carries ``X-Blobstream-Method``, ``X-Blobstream-Expires`` (Unix seconds)
and ``X-Blobstream-Signature`` (hex HMAC-SHA256 with ``BLOBSTREAM_SECRET``). It
grants that one method on that one key until the expiry; a ``GET`` grant also
allows ``HEAD`` (RFC 9110 §9.3.2: the same headers). No token is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from blobstream.errors import Forbidden

METHOD_PARAM = "X-Blobstream-Method"
EXPIRES_PARAM = "X-Blobstream-Expires"
SIGNATURE_PARAM = "X-Blobstream-Signature"
PARAMS = (METHOD_PARAM, EXPIRES_PARAM, SIGNATURE_PARAM)
METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_VERSION = "blobstream-presign-v1"


def signature(method: str, key: str, expires: int, secret: bytes) -> str:
    """Hex HMAC-SHA256 of the canonical ``version, method, expires, key`` lines."""
    message = f"{_VERSION}\n{method}\n{expires}\n{key}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def presign_url(
    base_url: str,
    key: str,
    method: str,
    expires_in: int,
    secret: bytes,
    now: float | None = None,
) -> str:
    """A URL under ``base_url`` (where ``/blobs`` is mounted) granting ``method`` on ``key``."""
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"a presigned URL grants one of {', '.join(sorted(METHODS))}")
    if expires_in <= 0:
        raise ValueError("the expiry must be a positive number of seconds")
    if not secret:
        raise ValueError("presigning needs a secret (BLOBSTREAM_SECRET)")
    # Rounded up: the URL is valid for at least ``expires_in`` seconds.
    expires = math.ceil((time.time() if now is None else now) + expires_in)
    query = urlencode(
        {
            METHOD_PARAM: method,
            EXPIRES_PARAM: str(expires),
            SIGNATURE_PARAM: signature(method, key, expires, secret),
        }
    )
    return f"{base_url.rstrip('/')}/blobs/{quote(key, safe='/')}?{query}"


def is_presigned(params: Mapping[str, str]) -> bool:
    """Whether a request claims a presigned grant (any of the three parameters)."""
    return any(name in params for name in PARAMS)


def verify_presigned(
    method: str,
    key: str,
    params: Mapping[str, str],
    secret: bytes | None,
    now: float | None = None,
) -> None:
    """Raise :class:`Forbidden` unless ``params`` grant ``method`` on ``key`` now.

    The detail says what is wrong (expired, other method, bad signature) but
    never repeats the signature.
    """
    if not secret:
        raise Forbidden("presigned URLs are not enabled on this server (no BLOBSTREAM_SECRET)")
    granted = params.get(METHOD_PARAM, "")
    raw_expires = params.get(EXPIRES_PARAM, "")
    given = params.get(SIGNATURE_PARAM, "")
    if not granted or not raw_expires or not given:
        raise Forbidden(f"a presigned URL needs {', '.join(PARAMS)}")
    if not raw_expires.isascii() or not raw_expires.isdigit() or len(raw_expires) > 12:
        raise Forbidden(f"{EXPIRES_PARAM} must be a time in Unix seconds")
    expires = int(raw_expires)
    expected = signature(granted, key, expires, secret)
    if not hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace")):
        raise Forbidden("the signature does not match this key, method and expiry")
    method = method.upper()
    if method != granted and not (method == "HEAD" and granted == "GET"):
        raise Forbidden(f"this presigned URL grants {granted} only, not {method}")
    if (time.time() if now is None else now) >= expires:
        raise Forbidden("this presigned URL has expired")
