"""S3 (a moto server on loopback, through HTTP only) joins the storage contract."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from blobstream.storage import open_store
from blobstream.storage.s3_assemble import copy_ranges
from tests.services import MotoServer
from tests.storage.contract import BlobStoreContract, MiB, UploadStoreContract, get, pattern, put


@pytest.fixture
def store(moto: MotoServer, s3_url: str) -> Iterator[Any]:
    s = open_store(s3_url)
    yield s
    s.close()


class S3Leftovers:
    def leftovers(self, store: Any) -> list[str]:
        client = store.client
        found: list[str] = []
        for upload in client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []):
            if "/uploads/" not in "/" + upload["Key"]:
                found.append(f"multipart upload of {upload['Key']}")
        names: set[str] = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
            names.update(o["Key"] for o in page.get("Contents", []))
        for name in names:
            head, sep, leaf = name.rpartition("/")
            if f"{store.base}uploads/" in name and f"{head}/state.json" not in names:
                found.append(f"object {name} of no upload")
            if name.startswith(f"{store.base}.staging/"):
                found.append(f"staging object {name}")
        return found


class TestS3Store(S3Leftovers, BlobStoreContract):
    readers_outlive_replacement = False
    # Cursors are S3's own (ListObjectsV2 StartAfter over pages of 1000 keys, then a
    # HeadObject per key for its metadata), so three pages check them as well as ten:
    # 2.5k keys, because moto answers a PutObject and a HeadObject in ~5 ms each.
    many_keys = 2_500
    writers = 16
    # A flat RSS shows after a few dozen parts; moto takes multipart bodies slowly.
    big_size = 256 << 20


class TestS3Uploads(S3Leftovers, UploadStoreContract):
    pass


@pytest.mark.parametrize(
    ("size", "max_copy", "spans"),
    [
        (1, 10, [(0, 1)]),
        (10, 10, [(0, 10)]),
        (11, 10, [(0, 6), (6, 11)]),
        (20, 10, [(0, 10), (10, 20)]),
        (21, 10, [(0, 7), (7, 14), (14, 21)]),
        (5 << 30, 5 << 30, [(0, 5 << 30)]),
        ((5 << 30) + 1, 5 << 30, [(0, (5 << 29) + 1), ((5 << 29) + 1, (5 << 30) + 1)]),
    ],
)
def test_copy_ranges_split_evenly_within_the_copy_limit(
    size: int, max_copy: int, spans: list[tuple[int, int]]
) -> None:
    assert copy_ranges(size, max_copy) == spans


def test_a_blob_over_the_copy_limit_is_published_from_part_copies(store: Any) -> None:
    """Above CopyObject's limit (5 GiB on S3, lowered here to 10 MiB) the staging
    object is copied into a multipart upload made of UploadPartCopy parts."""
    store.max_copy = 10 * MiB
    data = pattern(25 * MiB + 3, seed=8)
    info, new = put(store, "over/limit", data, content_type="text/csv")
    assert new is True
    assert store.stat("over/limit") == info
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert get(store, "over/limit") == data
    head = store.client.head_object(Bucket=store.bucket, Key=store.blob_object("over/limit"))
    assert head["ETag"].endswith('-3"')  # three copied parts
    assert S3Leftovers().leftovers(store) == []
