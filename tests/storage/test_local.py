"""The local backend (files + SQLite index) joins the storage contract."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blobstream.errors import NotFound
from blobstream.storage import open_store
from tests.storage.contract import BlobStoreContract, UploadStoreContract


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store((tmp_path / "data").as_uri())
    yield s
    s.close()


def local_leftovers(store: Any) -> list[str]:
    """Temporary files, upload files of no upload, and data files of no blob."""
    temporary = [e.name for e in os.scandir(store.tmp_dir)]
    current = {i.etag for i in store.list(limit=10_000)}
    files = [f.name for d in os.scandir(store.data_dir) for f in os.scandir(d.path)]
    uploads = [e.name for e in os.scandir(store.uploads_dir)] if store.uploads_dir.is_dir() else []
    live = [u for u in uploads if _upload_exists(store, u)]
    return temporary + [f for f in files if f not in current] + sorted(set(uploads) - set(live))


def _upload_exists(store: Any, upload_id: str) -> bool:
    try:
        store.get_upload(upload_id)
    except NotFound:
        return False
    return True


class TestLocalStore(BlobStoreContract):
    def leftovers(self, store: Any) -> list[str]:
        return local_leftovers(store)


class TestLocalUploads(UploadStoreContract):
    def leftovers(self, store: Any) -> list[str]:
        return local_leftovers(store)
