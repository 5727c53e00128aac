"""Multipart uploads kept in the store's upload state, so any node continues any of them.

An upload is a record ``s3u<hex>`` (bucket, key, content type, metadata,
checksum algorithm) that takes no bytes. Each part is an upload of its own,
``s3p<hex>-<number:05>-<attempt>``, written like a tus upload and marked done
(its MD5, size, checksum) only once all its bytes were stored and checked; a
part sent again gets a new attempt id and the newest done attempt counts.
Parts are listed by id prefix in part-number order, a page at a time, and
completion hands them to the backend's concatenation (tus ``concatenation``:
``copy_file_range`` on the local store, large objects appended in the
database, UploadPartCopy on S3). Records expire with the tus uploads.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from blobstream.errors import NotFound
from blobstream.s3.errors import S3Error, no_such_upload
from blobstream.storage.protocol import BlobStore, UploadListing, UploadState, UploadStore

UPLOAD = "s3u"
PART = "s3p"
FINAL = "s3f"
DEFAULT_EXPIRY = 24 * 3600.0


def uploads_of(store: BlobStore) -> Any:
    if not isinstance(store, UploadStore) or not isinstance(store, UploadListing):
        raise S3Error("NotImplemented", "this storage keeps no upload state", 501)
    return store


def new_upload(meta: dict[str, str], expiry: float) -> UploadState:
    now = time.time()
    return UploadState(
        upload_id=UPLOAD + uuid.uuid4().hex,
        offset=0,
        length=None,
        metadata=meta,
        created=now,
        expires=now + expiry,
        parts=("-",),  # takes no bytes of its own
    )


def load(store: BlobStore, upload_id: str, bucket: str, key: str) -> UploadState:
    """The upload ``upload_id`` of ``bucket``/``key``; NoSuchUpload otherwise."""
    if not upload_id.startswith(UPLOAD) or len(upload_id) != len(UPLOAD) + 32:
        raise no_such_upload()
    try:
        state: UploadState = uploads_of(store).get_upload(upload_id)
    except NotFound:
        raise no_such_upload() from None
    meta = state.metadata
    if meta.get("bucket") != bucket or meta.get("key") != key or state.completed_key is not None:
        raise no_such_upload()
    if state.expires is not None and state.expires <= time.time():
        raise no_such_upload()
    return state


def part_prefix(upload_id: str) -> str:
    return PART + upload_id[len(UPLOAD) :] + "-"


def part_id(upload_id: str, number: int) -> str:
    return f"{part_prefix(upload_id)}{number:05d}-{uuid.uuid4().hex[:12]}"


def number_of(state: UploadState) -> int:
    return int(state.upload_id.rsplit("-", 2)[1])


def done(state: UploadState) -> bool:
    return "md5" in state.metadata


def all_parts(store: BlobStore, upload_id: str, after: str = "") -> Iterator[UploadState]:
    """Every part attempt, done or not, in id (part number) order, a page at a time."""
    uploads = uploads_of(store)
    prefix = part_prefix(upload_id)
    while True:
        page: list[UploadState] = uploads.list_uploads(prefix, after, 1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].upload_id


def parts(store: BlobStore, upload_id: str, after_number: int = 0) -> Iterator[UploadState]:
    """The newest done attempt of each part number above ``after_number``, in order."""
    after = f"{part_prefix(upload_id)}{after_number:05d}-~" if after_number else ""
    best: UploadState | None = None
    for state in all_parts(store, upload_id, after):
        if not done(state):
            continue
        if best is not None and number_of(best) != number_of(state):
            yield best
            best = None
        if best is None or state.created >= best.created:
            best = state
    if best is not None:
        yield best


def remove(store: BlobStore, upload_id: str) -> None:
    """Delete every part attempt and the upload record (absent ones are no error)."""
    uploads = uploads_of(store)
    for state in list_ids(store, upload_id):
        try:
            uploads.delete_upload(state)
        except NotFound:
            pass
    try:
        uploads.delete_upload(upload_id)
    except NotFound:
        pass


def list_ids(store: BlobStore, upload_id: str) -> Iterator[str]:
    batch: list[str] = []
    for state in all_parts(store, upload_id):
        batch.append(state.upload_id)
        if len(batch) == 1000:
            yield from batch
            batch = []
    yield from batch


def descriptive(state: UploadState) -> dict[str, str]:
    meta: dict[str, str] = json.loads(state.metadata.get("meta", "{}"))
    return meta


def containers(store: BlobStore, after: str = "") -> Iterator[UploadState]:
    uploads = uploads_of(store)
    while True:
        page: list[UploadState] = uploads.list_uploads(UPLOAD, after, 1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].upload_id
