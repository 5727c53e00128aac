"""Who sent an S3 request, and how its payload is framed and signed.

Recomputes the SigV4 signature (:mod:`blobstream.s3.sigv4`) of a request
signed in its ``Authorization`` header or its query string and decides the
payload mode from ``x-amz-content-sha256`` (S3 API reference,
sig-v4-header-based-auth): a hex SHA-256 checked after the last byte,
``UNSIGNED-PAYLOAD``, or one of the ``STREAMING-*`` modes, whose
``aws-chunked`` framing :mod:`blobstream.s3.chunked` removes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from blobstream.auth.tokens import Role
from blobstream.http.dates import parse_http_date
from blobstream.s3 import sigv2, sigv4
from blobstream.s3.chunked import ChunkSigner
from blobstream.s3.credentials import Credentials
from blobstream.s3.errors import S3Error, access_denied

UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Caller:
    """The access key a request acts as (None when anonymous) and its role."""

    access_key: str | None
    role: Role


@dataclass(frozen=True)
class Payload:
    """How the body comes: ``mode`` is the x-amz-content-sha256 value (or UNSIGNED)."""

    mode: str
    signer: ChunkSigner | None = None

    @property
    def streaming(self) -> bool:
        return self.mode in STREAMING

    @property
    def sha256(self) -> str | None:
        """The hex SHA-256 the body must have, when the client signed it."""
        return self.mode if _HEX64.match(self.mode) else None

    @property
    def signed_chunks(self) -> bool:
        return self.mode in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)

    @property
    def trailer(self) -> bool:
        return self.mode in (STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)


ANONYMOUS = Caller(None, Role.ADMIN)


def _mode(value: str | None, presigned: bool) -> str:
    if value is None:
        if presigned:
            return UNSIGNED
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400
        )
    if value == UNSIGNED or value in STREAMING or _HEX64.match(value):
        return value
    if value.startswith("STREAMING-"):
        raise S3Error("NotImplemented", f"the payload mode {value[:60]!r} is not implemented", 501)
    raise S3Error(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a SHA-256",
        400,
    )


def _signature_mismatch() -> S3Error:
    return S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        403,
    )


def authenticate(
    method: str,
    path: bytes,
    query_string: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    credentials: Credentials,
    *,
    now: float | None = None,
) -> tuple[Caller, Payload]:
    """The caller and the payload mode; ``headers`` has lower-case names."""
    content_sha256 = headers.get("x-amz-content-sha256")
    if len(credentials) == 0:
        mode = _mode(content_sha256, True)
        return ANONYMOUS, Payload(mode)
    authorization = headers.get("authorization")
    if (authorization or "").startswith("AWS ") or (
        authorization is None and "Signature" in query and "AWSAccessKeyId" in query
    ):
        return _v2(method, path, query_string, headers, query, credentials, now)
    presigned = authorization is None and sigv4.is_presigned(query)
    if authorization is None and not presigned:
        raise access_denied("Access Denied: the request is not signed")
    try:
        fields = (
            sigv4.parse_presigned(query)
            if presigned
            else sigv4.parse_authorization(authorization or "", headers.get("x-amz-date"))
        )
        sigv4.check_time(fields, time.time() if now is None else now)
    except sigv4.SignatureError as exc:
        status = 400 if exc.code.startswith(("Authorization", "Invalid")) else 403
        raise S3Error(exc.code, exc.message, status) from exc
    key = credentials.find(fields.credential.access_key)
    if key is None:
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
        )
    mode = _mode(query.get("X-Amz-Content-Sha256") if presigned else content_sha256, presigned)
    try:
        canonical = sigv4.canonical_request(
            method,
            sigv4.canonical_uri(path),
            sigv4.canonical_query(sigv4.split_query(query_string), presigned=presigned),
            headers,
            fields.signed_headers,
            mode,
        )
    except sigv4.SignatureError as exc:
        raise _signature_mismatch() from exc
    signing_key = sigv4.signing_key(key.secret, fields.credential)
    text = sigv4.string_to_sign(fields.amz_date, fields.credential.scope, canonical)
    signature = sigv4.sign(signing_key, text)
    if not sigv4.matches(signature, fields.signature):
        raise _signature_mismatch()
    signer = ChunkSigner(signing_key, fields.amz_date, fields.credential.scope, signature)
    return Caller(key.access_key, key.role), Payload(mode, signer)


def _v2(
    method: str,
    path: bytes,
    query_string: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    credentials: Credentials,
    now: float | None,
) -> tuple[Caller, Payload]:
    """Signature Version 2 (:mod:`blobstream.s3.sigv2`): header or query string."""
    now = time.time() if now is None else now
    authorization = headers.get("authorization")
    if authorization is not None:
        access_key, sep, signature = authorization[4:].strip().rpartition(":")
        if not sep:
            raise S3Error("InvalidArgument", "the AWS authorization header is malformed", 400)
        if "x-amz-date" in headers:
            date, when = "", parse_http_date(headers["x-amz-date"])
        else:
            date = headers.get("date", "")
            when = parse_http_date(date)
        if when is None or abs(now - when) > sigv4.MAX_SKEW:
            raise S3Error(
                "RequestTimeTooSkewed",
                "The difference between the request time and the server's time is too large.",
                403,
            )
    else:
        access_key, signature, date = (
            query["AWSAccessKeyId"],
            query["Signature"],
            query.get("Expires", ""),
        )
        if not date.isdigit() or len(date) > 12:
            raise access_denied("Query-string authentication requires the Expires parameter")
        if now > int(date):
            raise access_denied("Request has expired")
    key = credentials.find(access_key)
    if key is None:
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            403,
        )
    resource = sigv2.canonical_resource(
        sigv4.canonical_uri(path),
        [(unquote(n), unquote(v)) for n, v in sigv4.split_query(query_string)],
    )
    text = sigv2.string_to_sign(method, headers, date, resource)
    if not sigv2.matches(sigv2.sign(key.secret, text), signature):
        raise _signature_mismatch()
    mode = headers.get("x-amz-content-sha256") or UNSIGNED
    return Caller(key.access_key, key.role), Payload(_mode(mode, True))
