"""The local backend (files + SQLite index) joins the storage contract."""

from __future__ import annotations

import ctypes
import hashlib
import io
import mmap
import os
import shutil
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


# -- O_DIRECT writes (file:///path?direct=1) ------------------------------------------


def _aligned_buffer(size: int) -> mmap.mmap:
    return mmap.mmap(-1, size)


@pytest.mark.parametrize(
    ("make", "offset", "ready"),
    [
        (lambda: memoryview(_aligned_buffer(1 << 20)), 0, True),
        (lambda: memoryview(_aligned_buffer(1 << 20))[4096:8192], 1 << 20, True),
        (lambda: memoryview(_aligned_buffer(1 << 20)), 512, False),  # file offset off-block
        (lambda: memoryview(_aligned_buffer(1 << 20))[1:4097], 0, False),  # address off-block
        (lambda: memoryview(_aligned_buffer(1 << 20))[:5000], 0, False),  # not whole blocks
        (lambda: memoryview(bytes(4096)), 0, False),  # read-only: not the copy loop's
    ],
    ids=["whole-buffer", "aligned-slice", "offset", "address", "partial-block", "read-only"],
)
def test_direct_ready(make: Any, offset: int, ready: bool) -> None:
    from blobstream.storage.local import direct_ready

    assert direct_ready(make(), offset) is ready


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("file:///srv/blobs", False),
        ("file:///srv/blobs?direct=1", True),
        ("file:///srv/blobs?direct=on", True),
        ("file:///srv/blobs?direct=0", False),
        ("file:///srv/blobs?direct=no&direct=yes", True),  # the last one counts
        ("file:///srv/blobs?direct=maybe", None),
        ("file:///srv/blobs?direct=", None),
    ],
)
def test_direct_flag_of_the_url(url: str, direct: bool | None) -> None:
    from blobstream.storage import InvalidStorageURL, url_flag

    if direct is None:
        with pytest.raises(InvalidStorageURL):
            url_flag(url, "direct")
    else:
        assert url_flag(url, "direct") is direct


def _resident_pages(path: Path) -> tuple[int, int]:
    """(pages of ``path`` in the page cache, pages in all), by ``mincore(2)`` on a
    private mapping that is never touched (so it shows the file's cached pages)."""
    size = path.stat().st_size
    pages = -(-size // mmap.PAGESIZE)
    vec = (ctypes.c_ubyte * pages)()
    libc = ctypes.CDLL(None, use_errno=True)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY) as m:
        anchor = ctypes.c_char.from_buffer(m)  # the mapping's address, no page touched
        try:
            if libc.mincore(ctypes.c_void_p(ctypes.addressof(anchor)), ctypes.c_size_t(size), vec):
                raise OSError(ctypes.get_errno(), "mincore")
        finally:
            del anchor
    return sum(v & 1 for v in vec), pages


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "buffered"])
def test_direct_writes_bypass_the_page_cache(tmp_path: Path, direct: bool) -> None:
    """With ``direct`` the copy loop's whole pieces go to disk without the page cache
    (only the odd tail is buffered); the blob reads back whole either way."""
    from blobstream.streams import copy_stream

    store = LocalStore(tmp_path / "data", direct=direct)
    body = os.urandom(8 * (1 << 20) + 100)
    try:
        writer = store.begin_write("direct")
        result = copy_stream(io.BytesIO(body), writer, length=len(body))
        writer.commit(Commit(result.size, result.sha256, "application/octet-stream", ALWAYS))
        resident, pages = _resident_pages(store.data_path(store.stat("direct").etag))
        if direct:
            assert resident <= 1  # the tail's page
        else:
            assert resident > pages * 0.9
        with store.open("direct") as reader:
            assert reader.read() == body
    finally:
        store.close()


def test_direct_on_any_filesystem(tmp_path: Path) -> None:
    """``?direct=1`` on a filesystem that refuses O_DIRECT, or with pieces that are
    not whole blocks, writes buffered instead: every byte still lands."""
    from blobstream.storage import open_store
    from blobstream.streams import copy_stream

    for root in (tmp_path / "disk", Path("/dev/shm") / f"blobstream-direct-{os.getpid()}"):
        store = open_store(f"{root.as_uri()}?direct=1")
        assert isinstance(store, LocalStore) and store.direct
        body = os.urandom(3 * (1 << 20) + 4097)
        try:
            for source in (io.BytesIO(body), Trickle(body)):
                writer = store.begin_write("k")
                result = copy_stream(source, writer, length=len(body))
                writer.commit(Commit(result.size, result.sha256, "text/plain", ALWAYS))
                with store.open("k") as reader:
                    assert reader.read() == body
        finally:
            store.close()
            if str(root).startswith("/dev/shm"):
                shutil.rmtree(root, ignore_errors=True)


class Trickle(io.RawIOBase):
    """Hands out odd-sized pieces, so writes start at offsets no block begins at."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._io.readinto(memoryview(buffer)[:100_003])
