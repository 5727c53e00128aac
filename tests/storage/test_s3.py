"""S3 (a moto server on loopback, through HTTP only) joins the storage contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from blobstream.storage import open_store
from tests.services import MotoServer
from tests.storage.contract import BlobStoreContract, UploadStoreContract


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
        listed = client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
        names = {o["Key"] for o in listed}
        for name in names:
            head, sep, leaf = name.rpartition("/")
            if f"{store.base}uploads/" in name and f"{head}/state.json" not in names:
                found.append(f"object {name} of no upload")
        return found


class TestS3Store(S3Leftovers, BlobStoreContract):
    readers_outlive_replacement = False
    many_keys = 10_240
    big_size = 512 << 20  # moto takes multipart parts at ~20 MiB/s: keep the budget


class TestS3Uploads(S3Leftovers, UploadStoreContract):
    pass
