"""The behaviour every storage backend must have (the fsspec pattern).

A backend joins by subclassing :class:`BlobStoreContract` (and
:class:`UploadStoreContract` when it keeps resumable uploads) with a ``store``
fixture that opens the real thing, and :meth:`leftovers`, which names whatever
the backend keeps that no blob or upload owns (temporary files, large objects,
multipart uploads).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from blobstream.errors import Conflict, Locked, NotFound, PreconditionFailed, StorageUnavailable
from blobstream.storage.protocol import BlobStore, Commit, UploadState, WriteCondition

MiB = 1 << 20


def put(
    store: Any,
    key: str,
    data: bytes,
    condition: WriteCondition | None = None,
    content_type: str = "application/octet-stream",
) -> Any:
    writer = store.begin_write(key)
    try:
        for i in range(0, len(data), MiB):
            writer.write(memoryview(data)[i : i + MiB])
        commit = Commit(
            len(data), hashlib.sha256(data).hexdigest(), content_type, condition or WriteCondition()
        )
        return writer.commit(commit)
    except BaseException:
        writer.abort()
        raise


def get(store: Any, key: str) -> bytes:
    reader = store.open(key)
    try:
        out = io.BytesIO()
        while piece := reader.read(MiB):
            out.write(piece)
        return out.getvalue()
    finally:
        reader.close()


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes whose every position is recognisable, so a torn read shows."""
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


def rss_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class BlobStoreContract:
    """Tests every :class:`BlobStore` passes; subclasses provide ``store``."""

    many_keys = 12_000
    writers = 8  # threads writing the many keys
    readers_outlive_replacement = True
    big_size = 2 << 30

    def leftovers(self, store: Any) -> list[str]:
        raise NotImplementedError

    def test_is_a_blob_store(self, store: Any) -> None:
        assert isinstance(store, BlobStore)

    def test_write_read_and_metadata_round_trip(self, store: Any) -> None:
        data = pattern(3 * MiB + 7)
        info, new = put(store, "dir/file.bin", data, content_type="image/png")
        assert new is True
        assert (info.key, info.size, info.content_type) == ("dir/file.bin", len(data), "image/png")
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert store.stat("dir/file.bin") == info
        reader = store.open("dir/file.bin")
        assert reader.info == info
        reader.close()
        assert get(store, "dir/file.bin") == data
        again, new = put(store, "dir/file.bin", b"x")
        assert new is False and again.etag != info.etag

    def test_empty_blob(self, store: Any) -> None:
        info, _ = put(store, "empty", b"")
        assert info.size == 0
        assert get(store, "empty") == b""

    def test_replace_is_invisible_until_commit(self, store: Any) -> None:
        put(store, "k", b"old")
        writer = store.begin_write("k")
        writer.write(b"new version")
        assert get(store, "k") == b"old"
        writer.commit(Commit(11, hashlib.sha256(b"new version").hexdigest()))
        assert get(store, "k") == b"new version"

    def test_reader_keeps_its_version_while_replaced_and_deleted(self, store: Any) -> None:
        """A reader sees only its version; backends without old versions (S3 without
        versioning) may raise a storage error once the old bytes are gone, never others."""
        old = pattern(3 * MiB, seed=1)
        put(store, "k", old)
        reader = store.open("k")
        try:
            first = reader.read(MiB)
            put(store, "k", pattern(3 * MiB, seed=2))
            rest = reader.read(2 * MiB)
            assert first + rest == old
            reader.seek(0)
            with self.maybe_gone():
                assert reader.read(10) == old[:10]
        finally:
            reader.close()
        reader = store.open("k")
        try:
            store.delete("k")
            with self.maybe_gone():
                assert reader.read(3 * MiB) == pattern(3 * MiB, seed=2)
        finally:
            reader.close()
        assert self.leftovers(store) == []

    def maybe_gone(self) -> contextlib.AbstractContextManager[object]:
        if self.readers_outlive_replacement:
            return contextlib.nullcontext()
        return pytest.raises(StorageUnavailable)

    def test_a_version_appears_only_with_its_metadata(self, store: Any) -> None:
        """Watchers never see a streamed (multi-part) version without its SHA-256 and type."""
        data = pattern(12 * MiB + 5, seed=4)
        expected = (hashlib.sha256(data).hexdigest(), len(data), "text/plain")
        seen: list[Any] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                with contextlib.suppress(NotFound):
                    seen.append(store.stat("m"))

        watchers = [threading.Thread(target=watch) for _ in range(2)]
        for t in watchers:
            t.start()
        try:
            put(store, "m", data, content_type="text/plain")
            time.sleep(0.05)
        finally:
            stop.set()
            for t in watchers:
                t.join()
        seen.append(store.stat("m"))
        assert {(i.sha256, i.size, i.content_type) for i in seen} == {expected}
        assert self.leftovers(store) == []

    def test_concurrent_writers_leave_one_complete_version(self, store: Any) -> None:
        bodies = [pattern(2 * MiB + i, seed=i) for i in range(4)]
        barrier = threading.Barrier(len(bodies))

        def write(body: bytes) -> None:
            barrier.wait()
            put(store, "contended", body)

        with ThreadPoolExecutor(len(bodies)) as pool:
            list(pool.map(write, bodies))
        final = get(store, "contended")
        assert final in bodies
        assert store.stat("contended").sha256 == hashlib.sha256(final).hexdigest()
        assert self.leftovers(store) == []

    def test_aborted_write_leaves_nothing(self, store: Any) -> None:
        put(store, "kept", b"previous")
        for key in ("new", "kept"):
            writer = store.begin_write(key)
            writer.write(pattern(6 * MiB))
            writer.abort()
        with pytest.raises(NotFound):
            store.stat("new")
        assert get(store, "kept") == b"previous"
        assert self.leftovers(store) == []

    def test_conditions(self, store: Any) -> None:
        create_only = WriteCondition(if_none_match=("*",))
        info, _ = put(store, "c", b"one", create_only)
        with pytest.raises(PreconditionFailed):
            put(store, "c", b"two", create_only)
        with pytest.raises(PreconditionFailed):
            put(store, "c", b"two", WriteCondition(if_match=("stale",)))
        with pytest.raises(PreconditionFailed):
            put(store, "absent", b"two", WriteCondition(if_match=("*",)))
        assert get(store, "c") == b"one"
        info, new = put(store, "c", b"three", WriteCondition(if_match=(info.etag,)))
        assert new is False
        with pytest.raises(PreconditionFailed):
            store.delete("c", WriteCondition(if_match=("stale",)))
        assert store.delete("c", WriteCondition(if_match=(info.etag,))).etag == info.etag
        with pytest.raises(NotFound):
            store.delete("c")
        assert self.leftovers(store) == []

    @pytest.mark.parametrize("start", [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 16, 3 * MiB + 17])
    def test_range_reads_at_every_edge(self, store: Any, start: int) -> None:
        data = pattern(3 * MiB + 17)
        put(store, "r", data)
        reader = store.open("r")
        try:
            for size in (1, 2, MiB - 1, MiB + 1, 5 * MiB):
                assert reader.seek(start) == start
                assert reader.read(size) == data[start : start + size]
            reader.seek(-1, os.SEEK_END)
            assert reader.read(5) == data[-1:]
            assert reader.read(5) == b""
        finally:
            reader.close()

    def test_listing_in_utf8_byte_order_with_prefix_and_cursor(self, store: Any) -> None:
        keys = ["a", "a/b", "a/c/d", "ab", "B", "é", "z", "ÿ", "日本/語", "😀", "a-", "a.b"]
        for key in keys:
            put(store, key, key.encode())
        expected = sorted(keys, key=lambda k: k.encode())
        assert [i.key for i in store.list()] == expected
        assert [i.key for i in store.list(prefix="a/")] == ["a/b", "a/c/d"]
        assert [i.key for i in store.list(after="z")] == [k for k in expected if k.encode() > b"z"]
        assert [i.key for i in store.list(prefix="a", after="a/b", limit=2)] == ["a/c/d", "ab"]
        listed = store.list(prefix="日本")[0]
        assert listed == store.stat("日本/語")

    def test_listing_cursors_over_many_keys(self, store: Any) -> None:
        keys = [f"many/{i:06d}" for i in range(self.many_keys)]
        started = time.monotonic()
        with ThreadPoolExecutor(self.writers) as pool:
            list(pool.map(lambda k: put(store, k, k.encode()), keys))
        written = time.monotonic() - started
        seen: list[str] = []
        after = ""
        while page := store.list(prefix="many/", after=after, limit=1000):
            seen.extend(i.key for i in page)
            after = page[-1].key
        listed = time.monotonic() - started - written
        print(f"{self.many_keys} keys: written in {written:.1f}s, listed in {listed:.1f}s")
        assert seen == keys

    def test_big_blob_in_bounded_memory(self, store: Any) -> None:
        block = pattern(MiB, seed=7)
        before = rss_mib("VmRSS")
        reset_peak_rss()
        started = time.monotonic()
        writer = store.begin_write("big")
        digest = hashlib.sha256()
        for _ in range(self.big_size // MiB):
            writer.write(block)
            digest.update(block)
        writer.commit(Commit(self.big_size, digest.hexdigest()))
        wrote = time.monotonic() - started
        reader = store.open("big")
        back = hashlib.sha256()
        total = 0
        try:
            while piece := reader.read(MiB):
                back.update(piece)
                total += len(piece)
        finally:
            reader.close()
        read = time.monotonic() - started - wrote
        growth = rss_mib("VmHWM") - before
        mib = self.big_size / MiB
        print(
            f"{mib:.0f} MiB: write {mib / wrote:.0f} MiB/s, read {mib / read:.0f} MiB/s, "
            f"peak RSS growth {growth:.1f} MiB"
        )
        assert (total, back.hexdigest()) == (self.big_size, digest.hexdigest())
        assert store.stat("big").sha256 == digest.hexdigest()
        assert growth < 100
        assert self.leftovers(store) == []


def _state(upload_id: str, length: int | None, **kw: Any) -> UploadState:
    return UploadState(upload_id=upload_id, offset=0, length=length, created=time.time(), **kw)


def _append(store: Any, upload_id: str, offset: int, data: bytes) -> int:
    appender = store.append_upload(upload_id, offset)
    try:
        for i in range(0, len(data), MiB):
            appender.write(memoryview(data)[i : i + MiB])
    finally:
        end: int = appender.close()
    return end


def _commit(data: bytes) -> Commit:
    return Commit(len(data), hashlib.sha256(data).hexdigest())


class UploadStoreContract:
    """Resumable-upload state and bytes (tus 1.0) every :class:`UploadStore` keeps."""

    def leftovers(self, store: Any) -> list[str]:
        raise NotImplementedError

    def test_create_append_resume_complete(self, store: Any) -> None:
        data = pattern(11 * MiB + 3)
        store.create_upload(_state("u1", len(data), metadata={"key": "x/y", "filename": "y"}))
        assert _append(store, "u1", 0, data[: 4 * MiB]) == 4 * MiB
        with pytest.raises(Conflict):
            store.append_upload("u1", 0)
        held = store.append_upload("u1", 4 * MiB)
        try:
            with pytest.raises(Locked):
                store.append_upload("u1", 4 * MiB)
        finally:
            held.close()
        state = store.get_upload("u1")
        assert (state.offset, state.length, state.metadata) == (
            4 * MiB,
            len(data),
            {"key": "x/y", "filename": "y"},
        )
        assert _append(store, "u1", 4 * MiB, data[4 * MiB :]) == len(data)
        assert b"".join(store.read_upload("u1", 5)) == data[5:]
        info, new = store.complete_upload("u1", "x/y", _commit(data))
        assert new is True and info.size == len(data)
        assert get(store, "x/y") == data
        assert store.get_upload("u1").completed_key == "x/y"
        store.delete_upload("u1")
        with pytest.raises(NotFound):
            store.get_upload("u1")
        assert self.leftovers(store) == []

    def test_bytes_before_a_disconnect_are_kept(self, store: Any) -> None:
        store.create_upload(_state("u2", 20 * MiB))
        appender = store.append_upload("u2", 0)
        with pytest.raises(OSError):
            try:
                appender.write(pattern(3 * MiB))
                raise OSError("the client went away")
            finally:
                assert appender.close() == 3 * MiB
        assert store.get_upload("u2").offset == 3 * MiB
        assert b"".join(store.read_upload("u2")) == pattern(3 * MiB)

    def test_discard_drops_only_this_append(self, store: Any) -> None:
        data = pattern(9 * MiB + 5)
        store.create_upload(_state("u3", len(data)))
        _append(store, "u3", 0, data[: 2 * MiB])
        appender = store.append_upload("u3", 2 * MiB)
        appender.write(pattern(7 * MiB, seed=9))
        appender.discard()
        assert appender.close() == 2 * MiB
        assert store.get_upload("u3").offset == 2 * MiB
        _append(store, "u3", 2 * MiB, data[2 * MiB :])
        store.complete_upload("u3", "d", _commit(data))
        assert get(store, "d") == data

    def test_small_chunks_and_deferred_length(self, store: Any) -> None:
        data = pattern(6 * MiB + 100, seed=3)
        store.create_upload(_state("u4", None))
        offset = 0
        for size in (1, 1000, 64 * 1024, 3 * MiB, 7, 3 * MiB):
            offset = _append(store, "u4", offset, data[offset : offset + size])
        state = store.get_upload("u4")
        state.length = len(data)
        store.update_upload(state)
        offset = _append(store, "u4", offset, data[offset:])
        assert offset == len(data) == store.get_upload("u4").length
        store.complete_upload("u4", "small", _commit(data))
        assert get(store, "small") == data

    def test_concatenation_of_partial_uploads(self, store: Any) -> None:
        parts = [pattern(100, seed=1), pattern(6 * MiB + 1, seed=2), pattern(3, seed=3)]
        for i, body in enumerate(parts):
            store.create_upload(_state(f"p{i}", len(body), partial=True))
            _append(store, f"p{i}", 0, body)
        ids = tuple(f"p{i}" for i in range(len(parts)))
        store.create_upload(_state("final", sum(map(len, parts)), parts=ids))
        whole = b"".join(parts)
        info, _ = store.complete_upload("final", "joined", _commit(whole))
        assert info.size == len(whole)
        assert get(store, "joined") == whole
        assert store.get_upload("final").completed_key == "joined"
        assert b"".join(store.read_upload("final")) == whole
        assert b"".join(store.read_upload("final", 6 * MiB + 50)) == whole[6 * MiB + 50 :]
        assert self.leftovers(store) == []

    def test_concatenation_of_large_partial_uploads(self, store: Any) -> None:
        """Parts long enough to be copied inside stores that can, a short one last."""
        parts = [pattern(6 * MiB + 1, seed=4), pattern(5 * MiB + 7, seed=5), pattern(2, seed=6)]
        for i, body in enumerate(parts):
            store.create_upload(_state(f"q{i}", len(body), partial=True))
            _append(store, f"q{i}", 0, body)
        store.create_upload(_state("qf", sum(map(len, parts)), parts=("q0", "q1", "q2")))
        whole = b"".join(parts)
        info, _ = store.complete_upload("qf", "joined/large", _commit(whole))
        assert (info.size, info.sha256) == (len(whole), hashlib.sha256(whole).hexdigest())
        assert store.stat("joined/large") == info
        assert get(store, "joined/large") == whole

    def test_completion_honours_the_condition(self, store: Any) -> None:
        put(store, "taken", b"first")
        store.create_upload(_state("u5", 3))
        _append(store, "u5", 0, b"abc")
        condition = WriteCondition(if_none_match=("*",))
        with pytest.raises(PreconditionFailed):
            store.complete_upload(
                "u5", "taken", Commit(3, hashlib.sha256(b"abc").hexdigest(), condition=condition)
            )
        assert get(store, "taken") == b"first"
        # A refused completion keeps the upload's bytes: it can complete under another key.
        store.complete_upload("u5", "free", _commit(b"abc"))
        assert get(store, "free") == b"abc"

    def test_expired_uploads_and_delete(self, store: Any) -> None:
        now = time.time()
        store.create_upload(_state("old", 10, expires=now - 60))
        store.create_upload(_state("young", 10, expires=now + 3600))
        store.create_upload(_state("forever", 10))
        _append(store, "old", 0, b"12345")
        assert sorted(store.expired_uploads(now)) == ["old"]
        for upload_id in ("old", "young", "forever"):
            store.delete_upload(upload_id)
        assert list(store.expired_uploads(now + 7200)) == []
        with pytest.raises(NotFound):
            store.delete_upload("old")
        assert self.leftovers(store) == []
