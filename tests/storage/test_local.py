"""The local backend (files + SQLite index) joins the storage contract."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blobstream.errors import NotFound, PreconditionFailed
from blobstream.storage import open_store
from blobstream.storage.local import LocalStore
from blobstream.storage.protocol import ALWAYS, Commit, WriteCondition
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


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_start_up_removes_a_dead_writers_unpublished_link(tmp_path: Path) -> None:
    """A writer killed between linking its file into data/ and the commit leaves a
    tmp name and a data file no key points to; the next start removes both."""
    store = LocalStore(tmp_path / "data")
    writer = store.begin_write("crash/linked")
    writer.write(b"never committed")
    assert writer.file is not None
    writer.file.close()
    left = store.tmp_dir / f"{dead_pid()}-{writer.id}"
    os.rename(writer.tmp, left)
    os.link(left, store.data_path(writer.id))
    store.close()

    store = LocalStore(tmp_path / "data")
    try:
        assert not left.exists()
        assert not store.data_path(writer.id).exists()
        with pytest.raises(NotFound):
            store.stat("crash/linked")
    finally:
        store.close()


def test_start_up_keeps_a_committed_file_whose_tmp_name_was_left(tmp_path: Path) -> None:
    """Killed after the commit but before dropping the tmp name: the blob stays."""
    store = LocalStore(tmp_path / "data")
    writer = store.begin_write("crash/committed")
    writer.write(b"committed")
    info, _ = writer.commit(Commit(9, hashlib.sha256(b"committed").hexdigest(),
                                   "text/plain", ALWAYS))  # fmt: skip
    left = store.tmp_dir / f"{dead_pid()}-{info.etag}"
    os.link(store.data_path(info.etag), left)
    store.close()

    store = LocalStore(tmp_path / "data")
    try:
        assert not left.exists()
        with store.open("crash/committed") as reader:
            assert reader.read() == b"committed"
    finally:
        store.close()


def test_concurrent_commits_succeed_or_fail_each_on_its_own(tmp_path: Path) -> None:
    """Writers that commit at the same moment share index transactions (group commit);
    a failed precondition must undo only its own change."""
    store = LocalStore(tmp_path / "data")
    keys = [f"group/{i}" for i in range(32)]
    for key in keys[::2]:
        w = store.begin_write(key)
        w.write(b"first")
        w.commit(Commit(5, hashlib.sha256(b"first").hexdigest(), "text/plain", ALWAYS))
    barrier = threading.Barrier(len(keys))
    outcomes: dict[str, str] = {}

    def write(key: str) -> None:
        w = store.begin_write(key)
        w.write(b"second")
        barrier.wait()
        try:
            w.commit(Commit(6, hashlib.sha256(b"second").hexdigest(), "text/plain",
                            WriteCondition(if_none_match=("*",))))  # fmt: skip
            outcomes[key] = "created"
        except PreconditionFailed:
            w.abort()
            outcomes[key] = "refused"

    threads = [threading.Thread(target=write, args=(key,)) for key in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert outcomes == {k: "refused" if i % 2 == 0 else "created" for i, k in enumerate(keys)}
        for i, key in enumerate(keys):
            with store.open(key) as reader:
                assert reader.read() == (b"first" if i % 2 == 0 else b"second")
        assert local_leftovers(store) == []
    finally:
        store.close()


M = 1 << 20


@pytest.mark.parametrize(
    ("written", "flushed", "due"),
    [
        (M - 1, 0, False),  # less than the smallest step
        (M, 0, True),  # a 1 MiB body starts its writeback at once
        (4 * M, 3 * M, True),  # up to 4 MiB: every 1 MiB
        (5 * M, 4 * M, False),  # then a quarter of what is written
        (6 * M, 4 * M, True),
        (16 * M, 12 * M, True),
        (16 * M, 13 * M, False),
        (64 * M, 48 * M, True),  # from 64 MiB on: every 16 MiB
        (1024 * M, 1009 * M, False),
        (1024 * M, 1008 * M, True),
    ],
)
def test_writeback_starts_at_a_quarter_of_the_body(written: int, flushed: int, due: bool) -> None:
    from blobstream.storage.local import writeback_due

    assert writeback_due(written, flushed) is due
