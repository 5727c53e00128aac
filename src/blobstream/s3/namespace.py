"""Buckets and keys on the store: the object ``k`` of bucket ``b`` is the blob ``b/k``.

A bucket exists once created or once a blob's key starts with its name and a
``/``. A created bucket is remembered by a marker in the store's upload state
(an upload record that takes no bytes, id ``B`` + the name with ``.`` as
``_``), so every node sees it and no blob is invented for it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from blobstream.errors import Conflict, NotFound
from blobstream.s3.errors import S3Error, no_such_bucket
from blobstream.storage.protocol import BlobStore, UploadListing, UploadState, UploadStore

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
MARKER_PREFIX = "B"
MAX_KEY_BYTES = 1024
# After this, no key that starts with a given prefix is left (keys are at most
# about 1 KiB; four of the highest code point would be a key no client makes).
PAST = "\U0010ffff" * 4


def valid_bucket_name(name: str) -> bool:
    """S3's naming rules for new buckets ("Bucket naming rules", S3 user guide)."""
    return (
        bool(_BUCKET.match(name))
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not _IP.match(name)
    )


def check_key(key: str) -> None:
    if not key:
        raise S3Error("InvalidArgument", "an object key must not be empty", 400)
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", "Your key is too long", 400)
    if "\x00" in key:
        raise S3Error("InvalidArgument", "an object key must not contain NUL", 400)


def blob_key(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


def marker_id(bucket: str) -> str:
    return MARKER_PREFIX + bucket.replace(".", "_")


def _uploads(store: BlobStore) -> UploadStore:
    if not isinstance(store, UploadStore):
        raise S3Error("NotImplemented", "this storage keeps no bucket records", 501)
    return store


def marker(store: BlobStore, bucket: str) -> UploadState | None:
    if not valid_bucket_name(bucket):
        return None
    try:
        return _uploads(store).get_upload(marker_id(bucket))
    except NotFound:
        return None


def holds_blobs(store: BlobStore, bucket: str) -> bool:
    return bool(store.list(bucket + "/", "", 1))


def exists(store: BlobStore, bucket: str) -> bool:
    return marker(store, bucket) is not None or holds_blobs(store, bucket)


def require(store: BlobStore, bucket: str) -> None:
    if not exists(store, bucket):
        raise no_such_bucket(bucket)


def create(store: BlobStore, bucket: str, region: str) -> bool:
    """Record the bucket; False when it already was."""
    state = UploadState(
        upload_id=marker_id(bucket),
        offset=0,
        length=0,
        metadata={"s3-bucket": bucket, "region": region},
        created=time.time(),
        parts=("-",),  # takes no bytes: no upload file, no append
        completed_key=bucket,
    )
    try:
        _uploads(store).create_upload(state)
    except Conflict:
        return False
    except Exception as exc:  # an id already taken surfaces as the backend's own error
        if marker(store, bucket) is not None:
            return False
        raise exc
    return True


def forget(store: BlobStore, bucket: str) -> bool:
    try:
        _uploads(store).delete_upload(marker_id(bucket))
    except NotFound:
        return False
    return True


def created_at(state: UploadState) -> float:
    return state.created


def buckets(store: BlobStore) -> Iterator[tuple[str, float]]:
    """Every bucket in name order: the markers merged with the first segments of keys."""
    markers = _markers(store)
    from_keys = _first_segments(store)
    m = next(markers, None)
    k = next(from_keys, None)
    while m is not None or k is not None:
        if k is None or (m is not None and m[0] <= k[0]):
            if k is not None and k[0] == m[0]:  # type: ignore[index]
                k = next(from_keys, None)
            yield m  # type: ignore[misc]
            m = next(markers, None)
        else:
            yield k
            k = next(from_keys, None)


def _markers(store: BlobStore) -> Iterator[tuple[str, float]]:
    if not isinstance(store, UploadListing):
        return
    after = ""
    while True:
        page = store.list_uploads(MARKER_PREFIX, after, 1000)
        for state in page:
            name = state.metadata.get("s3-bucket")
            if name:
                yield name, state.created
        if len(page) < 1000:
            return
        after = page[-1].upload_id


def _first_segments(store: BlobStore) -> Iterator[tuple[str, float]]:
    """Distinct first key segments (before a ``/``), one listing call per bucket."""
    after = ""
    while True:
        page = store.list("", after, 1)
        if not page:
            return
        key = page[0].key
        name, sep, _ = key.partition("/")
        if sep and valid_bucket_name(name):
            yield name, page[0].last_modified
        after = (name + "/" + PAST) if sep else key
