"""AWS Signature Version 2 for S3 (HMAC-SHA1), as pure functions.

Still what boto3's ``generate_presigned_url`` makes unless told
``signature_version="s3v4"``, and what older tools send in the header
(``Authorization: AWS AK:signature``). "Signing and Authenticating REST
Requests" (S3 developer guide, 2006-03-01 API): the string to sign is the
method, Content-MD5, Content-Type, Date (or ``Expires`` in a query), the
``x-amz-*`` headers and the resource with its sub-resources.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

# Sub-resources and overrides that belong to the signed resource, in this order.
SUBRESOURCES = frozenset(
    {
        "acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
        "partNumber", "policy", "requestPayment", "restore", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website", "response-cache-control",
        "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires",
    }
)  # fmt: skip


def canonical_resource(path: str, query: Iterable[tuple[str, str]]) -> str:
    """The encoded path plus the sub-resources, sorted, as ``?a&b=v``."""
    subs = sorted((n, v) for n, v in query if n in SUBRESOURCES)
    if not subs:
        return path
    return path + "?" + "&".join(n if v == "" else f"{n}={v}" for n, v in subs)


def amz_headers(headers: Mapping[str, str]) -> str:
    return "".join(
        f"{name}:{value.strip()}\n" for name, value in sorted(headers.items())
        if name.startswith("x-amz-")
    )  # fmt: skip


def string_to_sign(method: str, headers: Mapping[str, str], date: str, resource: str) -> str:
    """``headers`` has lower-case names; ``date`` is Date, empty with x-amz-date, or Expires."""
    return (
        f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
        f"{date}\n{amz_headers(headers)}{resource}"
    )


def sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode("utf-8", "surrogateescape"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def matches(expected: str, presented: str) -> bool:
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "surrogateescape"))
