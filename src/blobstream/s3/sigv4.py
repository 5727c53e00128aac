"""AWS Signature Version 4 for S3, as pure functions (no request object in sight).

The canonical request, the string to sign and the signing key follow AWS's
"Signature Version 4 signing process" and "Authenticating Requests: Using
Query Parameters" (S3 API reference, sigv4-query-string-auth); the per-chunk
and trailer strings follow "Signature Calculations for the Authorization
Header: Transferring Payload in Multiple Chunks" (sigv4-streaming). The
server recomputes the signature the client must have made and compares in
constant time; the parsers only split fields and check their shape.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600  # seven days (sigv4-query-string-auth)
MAX_SKEW = 15 * 60  # RequestTimeTooSkewed beyond this
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SPACES = re.compile(r"\s+")


class SignatureError(ValueError):
    """A malformed signature field; ``code`` is the S3 error code to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Credential:
    """``AK/yyyymmdd/region/service/aws4_request``: the key and the signature's scope."""

    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SignedFields:
    """What the client says it signed, from the Authorization header or the query."""

    credential: Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    presigned: bool = False
    expires: int | None = None


def parse_credential(value: str) -> Credential:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise SignatureError(
            "AuthorizationHeaderMalformed",
            "the Credential must be 'access-key/yyyymmdd/region/s3/aws4_request'",
        )
    if not re.fullmatch(r"\d{8}", parts[1]):
        raise SignatureError("AuthorizationHeaderMalformed", "the Credential date is not yyyymmdd")
    if parts[3] != "s3":
        raise SignatureError(
            "AuthorizationHeaderMalformed", f"the Credential names the service {parts[3]!r}, not s3"
        )
    return Credential(parts[0], parts[1], parts[2], parts[3])


def _signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or any(not n or n != n.lower() for n in names):
        raise SignatureError(
            "AuthorizationHeaderMalformed", "SignedHeaders must be lower-case names joined by ';'"
        )
    if "host" not in names:
        raise SignatureError("AuthorizationHeaderMalformed", "SignedHeaders must include host")
    return names


def _signature(value: str) -> str:
    if not _HEX64.match(value):
        raise SignatureError("AuthorizationHeaderMalformed", "the Signature is not 64 hex digits")
    return value


def parse_authorization(header: str, amz_date: str | None) -> SignedFields:
    """``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``
    (sigv4-auth-using-authorization-header)."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError(
            "AccessDenied" if algorithm == "AWS" else "AuthorizationHeaderMalformed",
            f"the authorization scheme {algorithm[:20]!r} is not supported; sign with "
            "Signature Version 4 (AWS4-HMAC-SHA256)",
        )
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError(
                "AuthorizationHeaderMalformed", "the Authorization header is malformed"
            )
        fields[name] = value
    missing = {"Credential", "SignedHeaders", "Signature"} - fields.keys()
    if missing:
        raise SignatureError(
            "AuthorizationHeaderMalformed",
            f"the Authorization header lacks {', '.join(sorted(missing))}",
        )
    if amz_date is None or not _AMZ_DATE.match(amz_date):
        raise SignatureError(
            "AccessDenied", "the request needs an X-Amz-Date of the form yyyymmddThhmmssZ"
        )
    credential = parse_credential(fields["Credential"])
    if not amz_date.startswith(credential.date):
        raise SignatureError(
            "AuthorizationHeaderMalformed", "the Credential date differs from X-Amz-Date"
        )
    return SignedFields(
        credential,
        _signed_headers(fields["SignedHeaders"]),
        _signature(fields["Signature"]),
        amz_date,
    )


def is_presigned(query: Mapping[str, str]) -> bool:
    return "X-Amz-Signature" in query or "X-Amz-Algorithm" in query


def parse_presigned(query: Mapping[str, str]) -> SignedFields:
    """The ``X-Amz-*`` query parameters of a presigned URL (sigv4-query-string-auth)."""
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureError(
            "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256"
        )
    for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                 "X-Amz-Signature"):  # fmt: skip
        if name not in query:
            raise SignatureError("AuthorizationQueryParametersError", f"the query lacks {name}")
    amz_date = query["X-Amz-Date"]
    if not _AMZ_DATE.match(amz_date):
        raise SignatureError(
            "AuthorizationQueryParametersError", "X-Amz-Date is not yyyymmddThhmmssZ"
        )
    raw = query["X-Amz-Expires"]
    if not raw.isdigit() or len(raw) > 12:
        raise SignatureError(
            "AuthorizationQueryParametersError", "X-Amz-Expires is not a number of seconds"
        )
    expires = int(raw)
    if expires > MAX_PRESIGN_EXPIRES:
        raise SignatureError(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
            "must be less than 604800 seconds",
        )
    credential = parse_credential(query["X-Amz-Credential"])
    if not amz_date.startswith(credential.date):
        raise SignatureError(
            "AuthorizationQueryParametersError", "the Credential date differs from X-Amz-Date"
        )
    return SignedFields(
        credential,
        _signed_headers(query["X-Amz-SignedHeaders"]),
        _signature(query["X-Amz-Signature"]),
        amz_date,
        presigned=True,
        expires=expires,
    )


def parse_amz_date(value: str) -> float:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def check_time(fields: SignedFields, now: float) -> None:
    """Refuse a request signed too far from ``now``, or a presigned URL out of its time."""
    signed_at = parse_amz_date(fields.amz_date)
    if fields.presigned:
        assert fields.expires is not None
        if now > signed_at + fields.expires:
            raise SignatureError("AccessDenied", "Request has expired")
        if signed_at - now > MAX_SKEW:
            raise SignatureError("AccessDenied", "Request is not valid yet")
        return
    if abs(now - signed_at) > MAX_SKEW:
        raise SignatureError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the server's time is too large.",
        )


def uri_encode(data: bytes, safe: str) -> str:
    """AWS's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ (and ``safe``) as %XX."""
    return quote(data, safe=safe)


def canonical_uri(path: bytes) -> str:
    """The decoded request path, encoded once as S3 signs it ('/' kept)."""
    return uri_encode(path, "/~") or "/"


def canonical_query(pairs: Iterable[tuple[str, str]], *, presigned: bool = False) -> str:
    """Raw ``name=value`` pairs (still percent-encoded as sent) decoded, re-encoded
    and sorted; a presigned URL's own signature is left out."""
    encoded = []
    for name, value in pairs:
        dname = unquote(name)
        if presigned and dname == "X-Amz-Signature":
            continue
        encoded.append(
            (uri_encode(dname.encode("utf-8", "surrogateescape"), "~"),
             uri_encode(unquote(value).encode("utf-8", "surrogateescape"), "~"))
        )  # fmt: skip
    encoded.sort()
    return "&".join(f"{n}={v}" for n, v in encoded)


def split_query(query: str) -> list[tuple[str, str]]:
    """``a=1&b&c=`` as raw pairs, in order (``b`` has the empty value)."""
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((name, value))
    return pairs


def canonical_headers(headers: Mapping[str, str], signed: Iterable[str]) -> str:
    """``name:value\\n`` for each signed header, values trimmed and inner spaces folded."""
    lines = []
    for name in signed:
        value = headers.get(name)
        if value is None:
            raise SignatureError(
                "AccessDenied", f"the signed header {name!r} is not in the request"
            )
        lines.append(f"{name}:{_SPACES.sub(' ', value.strip())}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str],
    signed: tuple[str, ...],
    payload_hash: str,
) -> str:
    return "\n".join(
        (method, uri, query, canonical_headers(headers, signed), ";".join(signed), payload_hash)
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def signing_key(secret: str, credential: Credential) -> bytes:
    key = hmac.digest(("AWS4" + secret).encode(), credential.date.encode(), "sha256")
    for part in (credential.region, credential.service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def matches(expected: str, presented: str) -> bool:
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.encode(), presented.encode())


def chunk_string_to_sign(amz_date: str, scope: str, previous: str, chunk_sha256: str) -> str:
    """sigv4-streaming: each chunk's signature chains on the previous one."""
    return f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{chunk_sha256}"


def trailer_string_to_sign(amz_date: str, scope: str, previous: str, trailer: bytes) -> str:
    """sigv4-streaming-trailers: the trailer section (``name:value\\n`` lines) signed last."""
    digest = hashlib.sha256(trailer).hexdigest()
    return f"{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous}\n{digest}"
