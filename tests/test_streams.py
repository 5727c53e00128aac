"""copy_stream: the seed's trick, as tables of lengths, limits, sources, sinks and hashers."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from typing import Any

import pytest

from blobstream.errors import BlobstreamError, IncompleteBody, Locked, TooLarge
from blobstream.streams import CHUNK_SIZE, PIPELINE_THRESHOLD, copy_stream, new_hashers

T = PIPELINE_THRESHOLD
C = CHUNK_SIZE
PAYLOAD = os.urandom(T + 3 * C + 7)


class ReadOnly:
    """A source with ``read`` and no ``readinto``, like many file-like wrappers."""

    def __init__(self, data: bytes, most: int | None = None) -> None:
        self._io = io.BytesIO(data)
        self._most = most

    def read(self, size: int = -1, /) -> bytes:
        if self._most is not None:
            size = min(size, self._most)
        return self._io.read(size)


class Trickle(io.RawIOBase):
    """A ``readinto`` source that hands out at most ``most`` bytes per call (a slow socket)."""

    def __init__(self, data: bytes, most: int) -> None:
        self._io = io.BytesIO(data)
        self._most = most

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._most]
        return self._io.readinto(view)


def sources(data: bytes) -> dict[str, Any]:
    return {
        "readinto": io.BytesIO(data),
        "read-only": ReadOnly(data),
        "trickle-readinto": Trickle(data, 70_001),
        "trickle-read": ReadOnly(data, 70_001),
    }


SIZES = sorted({0, 1, C - 1, C, C + 1, T - 1, T, T + 1, T + 3 * C + 7})


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("declared", [True, False], ids=["length", "chunked"])
@pytest.mark.parametrize("kind", ["readinto", "read-only", "trickle-readinto", "trickle-read"])
def test_copies_every_byte(size: int, declared: bool, kind: str) -> None:
    data = PAYLOAD[:size]
    sink = io.BytesIO()
    progress: list[int] = []
    result = copy_stream(
        sources(data)[kind],
        sink,
        length=size if declared else None,
        on_progress=progress.append,
    )
    assert result.size == size
    assert sink.getvalue() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert sum(progress) == size
    assert all(0 < n <= C for n in progress)


@pytest.mark.parametrize("size", [0, C, T + 1])
def test_declared_length_stops_early(size: int) -> None:
    sink = io.BytesIO()
    source = io.BytesIO(PAYLOAD[: size + 100])
    assert copy_stream(source, sink, length=size).size == size
    assert sink.getvalue() == PAYLOAD[:size]
    assert source.read() == PAYLOAD[size : size + 100]


@pytest.mark.parametrize("kind", ["readinto", "read-only"])
@pytest.mark.parametrize(("actual", "declared"), [(0, 1), (10, 11), (C, C + 1), (T, T + C)])
def test_short_body_is_incomplete(kind: str, actual: int, declared: int) -> None:
    with pytest.raises(IncompleteBody, match=f"after {actual} of {declared}"):
        copy_stream(sources(PAYLOAD[:actual])[kind], io.BytesIO(), length=declared)


@pytest.mark.parametrize(
    ("size", "declared", "limit", "error"),
    [
        (100, True, 100, None),
        (100, False, 100, None),
        (101, True, 100, TooLarge),
        (101, False, 100, TooLarge),
        (T + 1, False, T, TooLarge),
        (T, False, T, None),
        (0, False, 0, None),
        (1, False, 0, TooLarge),
    ],
)
def test_limit(size: int, declared: bool, limit: int, error: type[Exception] | None) -> None:
    data = PAYLOAD[:size]
    sink = io.BytesIO()
    if error is None:
        assert copy_stream(io.BytesIO(data), sink, length=size if declared else None, limit=limit)
        assert sink.getvalue() == data
    else:
        with pytest.raises(error):
            copy_stream(io.BytesIO(data), sink, length=size if declared else None, limit=limit)
        assert len(sink.getvalue()) <= limit


def test_declared_oversize_is_refused_before_reading() -> None:
    source = io.BytesIO(b"x" * 10)
    with pytest.raises(TooLarge):
        copy_stream(source, io.BytesIO(), length=10, limit=9)
    assert source.tell() == 0


class FailingSink:
    def __init__(self, after: int) -> None:
        self.after = after
        self.written = 0

    def write(self, data: Any, /) -> int:
        if self.written + len(data) > self.after:
            raise OSError(28, "No space left on device")
        self.written += len(data)
        return len(data)


@pytest.mark.parametrize("size", [C * 2, T + C])
@pytest.mark.parametrize("declared", [True, False], ids=["length", "chunked"])
def test_failing_sink_error_propagates_unchanged(size: int, declared: bool) -> None:
    sink = FailingSink(C)
    with pytest.raises(OSError, match="No space left") as info:
        copy_stream(io.BytesIO(PAYLOAD[:size]), sink, length=size if declared else None)
    assert not isinstance(info.value, BlobstreamError)
    assert sink.written == C


class BrokenSource:
    """Fails after the first piece, as a server's body reader does on a broken body."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def read(self, size: int = -1, /) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise self.error
        return b"a" * 10


class ParseError(Exception):
    """Like gunicorn's InvalidChunkSize: not an OSError."""


@pytest.mark.parametrize(
    "error",
    [ConnectionResetError("reset"), OSError("gone"), ValueError("closed file"), ParseError("zz")],
)
@pytest.mark.parametrize("declared", [True, False], ids=["length", "chunked"])
def test_failing_source_is_incomplete_body(error: Exception, declared: bool) -> None:
    with pytest.raises(IncompleteBody) as info:
        copy_stream(BrokenSource(error), io.BytesIO(), length=T + 1 if declared else None)
    assert info.value.__cause__ is error


def test_source_blobstream_errors_pass_through() -> None:
    with pytest.raises(Locked):
        copy_stream(BrokenSource(Locked("rate limited")), io.BytesIO())


@pytest.mark.parametrize(
    ("md5", "sha1", "names"),
    [
        (False, False, {"sha256"}),
        (True, False, {"sha256", "md5"}),
        (False, True, {"sha256", "sha1"}),
        (True, True, {"sha256", "md5", "sha1"}),
    ],
)
@pytest.mark.parametrize("size", [0, 1000, T + 5])
def test_hashers(md5: bool, sha1: bool, names: set[str], size: int) -> None:
    data = PAYLOAD[:size]
    hashers = new_hashers(md5=md5, sha1=sha1)
    assert set(hashers) == names
    result = copy_stream(io.BytesIO(data), io.BytesIO(), hashers=hashers)
    for name in names:
        assert result.digest(name) == hashlib.new(name, data).digest()
        assert result.hashers[name].hexdigest() == hashlib.new(name, data).hexdigest()


def test_default_hashers_are_sha256_only() -> None:
    result = copy_stream(io.BytesIO(b"abc"), io.BytesIO())
    assert set(result.hashers) == {"sha256"}
    assert result.sha256 == hashlib.sha256(b"abc").hexdigest()


def test_small_chunk_size() -> None:
    sink = io.BytesIO()
    progress: list[int] = []
    result = copy_stream(
        io.BytesIO(PAYLOAD[:1000]), sink, chunk_size=64, on_progress=progress.append
    )
    assert result.size == 1000
    assert sink.getvalue() == PAYLOAD[:1000]
    assert max(progress) == 64


class CheckingSink:
    """Hashes what it is given on the spot: a buffer reused too soon shows up as a
    digest that differs from the one of the source."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def test_concurrent_copies_never_share_a_buffer() -> None:
    """Buffers and helper threads are reused across copies; twelve copies at once, each
    of a body no other copy has, more than the pipelines there are, failing ones among
    them, each sees exactly its own bytes, hashed and written."""
    bodies = [os.urandom(T + (i + 1) * C // 2 + i) for i in range(12)]
    outcomes: dict[int, Any] = {}

    def run(i: int) -> None:
        for round_ in range(3):
            if (i + round_) % 4 == 0:
                try:
                    copy_stream(io.BytesIO(bodies[i]), FailingSink(C), length=len(bodies[i]))
                except OSError:
                    continue
                outcomes[i] = AssertionError("a failing sink did not fail")
                return
            sink = CheckingSink()
            result = copy_stream(io.BytesIO(bodies[i]), sink, length=len(bodies[i]))
            want = hashlib.sha256(bodies[i]).hexdigest()
            got = (result.size, result.sha256, sink.sha256.hexdigest())
            if got != (len(bodies[i]), want, want):
                outcomes[i] = AssertionError(f"copy {i} round {round_} got other bytes")
                return
        outcomes[i] = None

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == dict.fromkeys(range(len(bodies)))
