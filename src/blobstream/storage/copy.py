"""Server-side copy and move on any store: the backend's own way when it has one.

A backend that is a :class:`~blobstream.storage.protocol.CopyStore` copies
inside the store (a hard link, a large object filled by the database, S3
CopyObject); any other is copied by streaming the source version into a new
writer in bounded pieces on the node. A :class:`MoveStore` renames atomically;
elsewhere a move is a copy of the pinned source version followed by a delete
conditional on that version, so a source replaced meanwhile is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from blobstream.errors import BadRequest, NotFound, PreconditionFailed, StorageUnavailable
from blobstream.storage.protocol import (
    ALWAYS,
    BlobInfo,
    BlobStore,
    Commit,
    CopyStore,
    MoveStore,
    WriteCondition,
)

PIECE = 1 << 20


def _check_keys(src_key: str, dst_key: str) -> None:
    if src_key == dst_key:
        raise BadRequest("a blob cannot be copied or moved onto itself")


def copy_blob(
    store: BlobStore,
    src_key: str,
    dst_key: str,
    *,
    source_etag: str | None = None,
    condition: WriteCondition = ALWAYS,
    meta: Mapping[str, str] | None = None,
    content_type: str | None = None,
) -> tuple[BlobInfo, bool]:
    """Copy the current version of ``src_key`` (pinned to ``source_etag``) onto ``dst_key``.

    ``meta`` and ``content_type`` replace the source's when given; then the
    destination may be the source itself (its metadata changes, not its bytes)."""
    if meta is None and content_type is None:
        _check_keys(src_key, dst_key)
    if isinstance(store, CopyStore):
        return store.copy_blob(
            src_key, dst_key, source_etag=source_etag, condition=condition, meta=meta,
            content_type=content_type,
        )  # fmt: skip
    return stream_copy(
        store, src_key, dst_key, source_etag=source_etag, condition=condition, meta=meta,
        content_type=content_type,
    )  # fmt: skip


def stream_copy(
    store: BlobStore,
    src_key: str,
    dst_key: str,
    *,
    source_etag: str | None,
    condition: WriteCondition,
    meta: Mapping[str, str] | None = None,
    content_type: str | None = None,
) -> tuple[BlobInfo, bool]:
    """The fallback: read the source version and write it anew, 1 MiB at a time."""
    reader = store.open(src_key)
    try:
        info = reader.info
        if source_etag is not None and info.etag != source_etag:
            raise PreconditionFailed("the copy source has another version")
        writer = store.begin_write(dst_key)
        try:
            copied = 0
            while piece := reader.read(PIECE):
                writer.write(piece)
                copied += len(piece)
            if copied != info.size:
                raise StorageUnavailable(f"the copy source ended after {copied} bytes")
            commit = Commit(
                info.size, info.sha256, content_type or info.content_type, condition,
                info.meta if meta is None else meta,
            )  # fmt: skip
            return writer.commit(commit)
        except BaseException:
            writer.abort()
            raise
    finally:
        reader.close()


def move_blob(
    store: BlobStore,
    src_key: str,
    dst_key: str,
    *,
    source_etag: str | None = None,
    condition: WriteCondition = ALWAYS,
) -> tuple[BlobInfo, bool]:
    """Move ``src_key`` onto ``dst_key``: atomic where the store can, else copy then delete."""
    _check_keys(src_key, dst_key)
    if isinstance(store, MoveStore):
        return store.move_blob(src_key, dst_key, source_etag=source_etag, condition=condition)
    if source_etag is None:
        source_etag = store.stat(src_key).etag
    result = copy_blob(store, src_key, dst_key, source_etag=source_etag, condition=condition)
    # Replaced or deleted since the copy: that newer state is someone else's, keep it.
    with contextlib.suppress(NotFound, PreconditionFailed):
        store.delete(src_key, WriteCondition(if_match=(source_etag,)))
    return result
