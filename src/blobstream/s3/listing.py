"""ListObjects (V1), ListObjectsV2 and ListObjectVersions, paged from the store.

The store lists keys in byte order after a cursor; a delimiter folds the keys
under one common prefix into it, and the walk then jumps past that prefix
with one listing call instead of reading its keys. At most ``max-keys`` + 1
entries are held at once, whatever the bucket holds.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from urllib.parse import quote

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.s3 import namespace, xml
from blobstream.s3.app import Call, xml_response
from blobstream.s3.buckets import OWNER
from blobstream.s3.errors import S3Error, invalid_argument
from blobstream.storage.protocol import BlobInfo, BlobStore

PAGE = 1000
Encode = Callable[[str], str]
MAX_KEYS = 1000


def s3_etag(info: BlobInfo) -> str:
    return info.meta.get("s3-etag") or info.etag


def walk(
    store: BlobStore, bucket: str, prefix: str, delimiter: str, after: str
) -> Iterator[tuple[str, BlobInfo | None]]:
    """``(key, info)`` for objects and ``(common_prefix, None)`` for folded prefixes,
    in key order, for keys greater than ``after`` (S3 keys, without the bucket)."""
    base = bucket + "/"
    cursor = base + after if after else ""
    if delimiter and after.startswith(prefix):
        cut = after.find(delimiter, len(prefix))
        if cut >= 0:  # ``after`` is inside a prefix already answered: skip all of it
            cursor = base + after[: cut + len(delimiter)] + namespace.PAST
    while True:
        page = store.list(base + prefix, cursor, PAGE)
        for info in page:
            key = info.key[len(base) :]
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    yield common, None
                    cursor = base + common + namespace.PAST
                    break
            yield key, info
            cursor = info.key
        else:
            if len(page) < PAGE:
                return


def _max_keys(call: Call) -> int:
    raw = call.args.get("max-keys", str(MAX_KEYS))
    try:
        value = int(raw)
    except ValueError:
        raise invalid_argument("Provided max-keys not an integer or within integer range") from None
    if value < 0:
        raise invalid_argument("Provided max-keys not an integer or within integer range")
    return min(value, MAX_KEYS)


def _encoder(call: Call) -> tuple[str | None, Encode]:
    encoding = call.args.get("encoding-type")
    if encoding is None:
        return None, str
    if encoding.lower() != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request")
    return "url", lambda text: quote(text, safe="/")


def _contents(key: str, info: BlobInfo, enc: Encode, owner: bool, version: bool = False) -> str:
    encode = enc
    parts = [
        xml.element("Key", encode(key)),
        *([xml.element("VersionId", "null"), xml.element("IsLatest", "true")] if version else []),
        xml.element("LastModified", xml.timestamp(info.last_modified)),
        xml.element("ETag", f'"{s3_etag(info)}"'),
        xml.element("Size", info.size),
        xml.element("StorageClass", "STANDARD"),
    ]
    if owner:
        parts.append(OWNER)
    tag = "Version" if version else "Contents"
    return f"<{tag}>{''.join(parts)}</{tag}>"


def _page(call: Call, after: str, limit: int) -> tuple[list[tuple[str, BlobInfo | None]], bool]:
    prefix = call.args.get("prefix", "")
    delimiter = call.args.get("delimiter", "")
    entries: list[tuple[str, BlobInfo | None]] = []
    truncated = False
    if limit == 0:
        return entries, False
    for entry in walk(call.store, call.bucket, prefix, delimiter, after):
        if len(entries) == limit:
            truncated = True
            break
        entries.append(entry)
    return entries, truncated


def _common(entries: list[tuple[str, BlobInfo | None]], enc: Encode) -> str:
    encode = enc
    return "".join(
        f"<CommonPrefixes>{xml.element('Prefix', encode(key))}</CommonPrefixes>"
        for key, info in entries
        if info is None
    )


def _head(call: Call, encoding: str | None, enc: Encode, limit: int, truncated: bool) -> str:
    encode = enc
    delimiter = call.args.get("delimiter")
    return xml.elements(
        [
            ("Name", call.bucket),
            ("Prefix", encode(call.args.get("prefix", ""))),
            ("Delimiter", encode(delimiter) if delimiter else None),
            ("MaxKeys", limit),
            ("EncodingType", encoding),
            ("IsTruncated", "true" if truncated else "false"),
        ]
    )


def list_objects(call: Call) -> Response:
    call.need(Role.READ)
    namespace.require(call.store, call.bucket)
    if call.args.get("list-type") == "2":
        return _list_v2(call)
    if "list-type" in call.args:
        raise invalid_argument("list-type must be 2")
    encoding, enc = _encoder(call)
    limit = _max_keys(call)
    marker = call.args.get("marker", "")
    entries, truncated = _page(call, marker, limit)
    body = [_head(call, encoding, enc, limit, truncated)]
    body.insert(0, xml.element("Marker", enc(marker)))
    if truncated and call.args.get("delimiter") and entries:
        body.append(xml.element("NextMarker", enc(entries[-1][0])))
    body += [_contents(k, i, enc, True) for k, i in entries if i is not None]
    body.append(_common(entries, enc))
    return xml_response("ListBucketResult", "".join(body))


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).decode()


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_argument("The continuation token provided is incorrect") from None


def _list_v2(call: Call) -> Response:
    encoding, enc = _encoder(call)
    limit = _max_keys(call)
    token = call.args.get("continuation-token")
    start_after = call.args.get("start-after", "")
    after = _untoken(token) if token is not None else start_after
    if token == "":
        raise invalid_argument("The continuation token provided is incorrect")
    fetch_owner = call.args.get("fetch-owner", "false").lower() == "true"
    entries, truncated = _page(call, after, limit)
    body = [_head(call, encoding, enc, limit, truncated)]
    if token is not None:
        body.append(xml.element("ContinuationToken", token))
    if start_after:
        body.append(xml.element("StartAfter", enc(start_after)))
    body.append(xml.element("KeyCount", len(entries)))
    if truncated and entries:
        body.append(xml.element("NextContinuationToken", _token(entries[-1][0])))
    body += [_contents(k, i, enc, fetch_owner) for k, i in entries if i is not None]
    body.append(_common(entries, enc))
    return xml_response("ListBucketResult", "".join(body))


def list_versions(call: Call) -> Response:
    """ListObjectVersions of an unversioned bucket: each object once, ``VersionId`` null."""
    call.need(Role.READ)
    namespace.require(call.store, call.bucket)
    encoding, enc = _encoder(call)
    limit = _max_keys(call)
    marker = call.args.get("key-marker", "")
    if call.args.get("version-id-marker") and not marker:
        raise invalid_argument("A version-id marker cannot be specified without a key marker.")
    entries, truncated = _page(call, marker, limit)
    body = [_head(call, encoding, enc, limit, truncated)]
    body.insert(0, xml.element("KeyMarker", enc(marker)))
    body.insert(1, xml.element("VersionIdMarker", call.args.get("version-id-marker", "")))
    if truncated and entries:
        body.append(xml.element("NextKeyMarker", enc(entries[-1][0])))
        body.append(xml.element("NextVersionIdMarker", "null"))
    body += [_contents(k, i, enc, True, version=True) for k, i in entries if i is not None]
    body.append(_common(entries, enc))
    return xml_response("ListVersionsResult", "".join(body))


__all__ = ["S3Error", "list_objects", "list_versions", "s3_etag", "walk"]
