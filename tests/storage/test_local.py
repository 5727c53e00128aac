"""The local backend (files + SQLite index) joins the storage contract."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blobstream.storage import open_store
from tests.storage.contract import BlobStoreContract


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store((tmp_path / "data").as_uri())
    yield s
    s.close()


class TestLocalStore(BlobStoreContract):
    def leftovers(self, store: Any) -> list[str]:
        temporary = [e.name for e in os.scandir(store.tmp_dir)]
        current = {i.etag for i in store.list(limit=10_000)}
        files = [f.name for d in os.scandir(store.data_dir) for f in os.scandir(d.path)]
        return temporary + [f for f in files if f not in current]
