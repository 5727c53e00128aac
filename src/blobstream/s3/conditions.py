"""Conditional writes in S3 terms: ``If-None-Match: *`` and ``If-Match: "<etag>"``.

Clients name a version by its S3 ETag; the store checks its own version tag at
commit. So the precondition is evaluated against the current version here and
then pinned to that version's store tag, which the commit checks atomically.
"""

from __future__ import annotations

from collections.abc import Callable

from blobstream.errors import NotFound
from blobstream.http.conditionals import ConditionalHeaders, Outcome, Validators, evaluate
from blobstream.s3.errors import precondition_failed
from blobstream.s3.listing import s3_etag
from blobstream.storage.protocol import BlobInfo, BlobStore, WriteCondition


def current(store: BlobStore, key: str) -> BlobInfo | None:
    try:
        return store.stat(key)
    except NotFound:
        return None


def write_condition(
    store: BlobStore, key: str, header: Callable[[str], str | None]
) -> WriteCondition:
    """The store condition for a PUT's ``If-Match`` / ``If-None-Match`` (412 at once when false)."""
    if header("If-Match") is None and header("If-None-Match") is None:
        return WriteCondition()
    cond = ConditionalHeaders.from_headers(header)
    info = current(store, key)
    validators = None if info is None else Validators(s3_etag(info), info.last_modified)
    if evaluate("PUT", cond, validators) is not Outcome.PROCEED:
        raise precondition_failed()
    if info is None:
        return WriteCondition(if_none_match=("*",))
    return WriteCondition(if_match=(info.etag,))
