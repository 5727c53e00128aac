"""Conditional requests in S3 terms (S3 API reference, GetObject, PutObject, CopyObject,
DeleteObject; RFC 9110 §13.2.2 for the order).

S3 clients send entity tags quoted or bare, so :func:`etags` accepts both. Reads
(:func:`read_outcome`) answer 304 or 412; writes name the version by its S3
ETag, which is checked here against the current version and then pinned to
that version's store tag, which the commit checks atomically
(:func:`write_condition`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from blobstream.errors import NotFound
from blobstream.http.dates import parse_http_date
from blobstream.s3.errors import S3Error, no_such_key, precondition_failed
from blobstream.s3.listing import s3_etag
from blobstream.storage.protocol import BlobInfo, BlobStore, WriteCondition

Header = Callable[[str], str | None]
PROCEED, NOT_MODIFIED, FAILED = "proceed", "304", "412"


def etags(value: str) -> frozenset[str]:
    """``"a", b, W/"c"`` → ``{"a", "b", "c"}``; ``*`` stays ``*``."""
    out = set()
    for item in value.split(","):
        tag = item.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag:
            out.add(tag)
    return frozenset(out)


def matches(value: str, etag: str) -> bool:
    tags = etags(value)
    return "*" in tags or etag in tags


def read_outcome(header: Header, etag: str, last_modified: float) -> str:
    """``If-Match``, ``If-Unmodified-Since``, ``If-None-Match``, ``If-Modified-Since``
    of a read (or, prefixed, of a copy source): proceed, 304 or 412."""
    seconds = math.floor(last_modified)
    if_match = header("If-Match")
    if if_match is not None:
        if not matches(if_match, etag):
            return FAILED
    else:
        since = parse_http_date(header("If-Unmodified-Since"))
        if since is not None and seconds > since:
            return FAILED
    if_none_match = header("If-None-Match")
    if if_none_match is not None:
        if matches(if_none_match, etag):
            return NOT_MODIFIED
    else:
        since = parse_http_date(header("If-Modified-Since"))
        if since is not None and seconds <= since:
            return NOT_MODIFIED
    return PROCEED


def current(store: BlobStore, key: str) -> BlobInfo | None:
    try:
        return store.stat(key)
    except NotFound:
        return None


def write_condition(store: BlobStore, key: str, header: Header, s3_key: str = "") -> WriteCondition:
    """The store condition for a write's ``If-Match`` / ``If-None-Match``: a failed one
    is 412 at once, an ``If-Match`` on a missing object 404 NoSuchKey."""
    if_match, if_none_match = header("If-Match"), header("If-None-Match")
    if if_match is None and if_none_match is None:
        return WriteCondition()
    info = current(store, key)
    if if_match is not None:
        if info is None:
            raise no_such_key(s3_key or key)
        if not matches(if_match, s3_etag(info)):
            raise precondition_failed()
    if if_none_match is not None and info is not None and matches(if_none_match, s3_etag(info)):
        raise precondition_failed()
    if info is None:
        return WriteCondition(if_none_match=("*",))
    return WriteCondition(if_match=(info.etag,))


def delete_condition(store: BlobStore, key: str, header: Header) -> BlobInfo | None:
    """The version a conditional DeleteObject may remove (``If-Match``,
    ``x-amz-if-match-last-modified-time``, ``x-amz-if-match-size``); None when there
    is none (deleting nothing is no error); 412 when it does not match."""
    if_match = header("If-Match")
    mtime = header("x-amz-if-match-last-modified-time")
    size = header("x-amz-if-match-size")
    info = current(store, key)
    if info is None:
        return None
    if if_match is not None and not matches(if_match, s3_etag(info)):
        raise precondition_failed()
    if mtime is not None:
        when = parse_http_date(mtime)
        if when is None or math.floor(info.last_modified) != when:
            raise precondition_failed()
    if size is not None:
        if not size.strip().isdigit():
            raise S3Error("InvalidArgument", "x-amz-if-match-size must be a number", 400)
        if int(size) != info.size:
            raise precondition_failed()
    return info
