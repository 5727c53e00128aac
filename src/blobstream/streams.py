"""The seed's trick: copy a readable stream into a writable sink in bounded memory.

:func:`copy_stream` reads about 1 MiB at a time (``readinto`` a reused buffer
where the source has it), feeds every piece to the hashers and the sink, counts
bytes, enforces a size limit and notices a short body. From 1 MiB on, each
piece is hashed and written on two helper threads while the next is received:
``hashlib`` and file writes release the GIL, so both cores work.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from blobstream.errors import BlobstreamError, IncompleteBody, TooLarge

CHUNK_SIZE = 1 << 20
# Below this many bytes handing a piece to the helper threads costs more than
# hashing it and writing it side by side saves.
PIPELINE_THRESHOLD = CHUNK_SIZE
# Copies that may pipeline at once in a process: past the number of cores the
# helper threads only queue for CPU, while each pipelined copy holds DEPTH
# buffers (64 concurrent uploads measured 450 MiB of server RSS without a cap).
_SLOTS = max(2, os.cpu_count() or 2)
_PIPELINES = threading.BoundedSemaphore(_SLOTS)
_helpers: tuple[int, ThreadPoolExecutor] | None = None
_helpers_lock = threading.Lock()


def _helper_threads() -> ThreadPoolExecutor:
    """The process's hash and write threads, two per pipeline slot, kept between copies
    (a forked child starts its own: its parent's threads did not come along)."""
    global _helpers
    with _helpers_lock:
        if _helpers is None or _helpers[0] != os.getpid():
            pool = ThreadPoolExecutor(2 * _SLOTS, thread_name_prefix="blobstream-copy")
            _helpers = (os.getpid(), pool)
        return _helpers[1]


PieceBuffer = bytearray | mmap.mmap


class _BufferPool:
    """Reused ``CHUNK_SIZE`` buffers, at most :attr:`KEEP` of them idle.

    A fresh 1 MiB buffer costs 0.3-0.6 ms of page faults here (more on a VM that
    hands freed memory back to its host at once), about what hashing it costs: a
    16 MiB PUT spent 2.5 ms allocating its four pipeline buffers. Taking them from
    this pool keeps their pages resident; the cap keeps an idle worker's memory
    bounded whatever the peak was. They are anonymous ``mmap``s, so page-aligned:
    the local backend writes them to disk directly (``O_DIRECT``).
    """

    KEEP = 16

    def __init__(self) -> None:
        self._idle: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return mmap.mmap(-1, CHUNK_SIZE)

    def give(self, buf: mmap.mmap) -> None:
        with self._lock:
            if len(self._idle) < self.KEEP:
                self._idle.append(buf)


_BUFFERS = _BufferPool()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: Any, /) -> Any: ...


class Hasher(Protocol):
    def update(self, data: Any, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


@dataclass
class CopyResult:
    """What went through: the byte count and the finished hashers by name."""

    size: int
    hashers: dict[str, Hasher] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return self.hashers["sha256"].hexdigest()

    def digest(self, name: str) -> bytes:
        return self.hashers[name].digest()


def new_hashers(*, md5: bool = False, sha1: bool = False) -> dict[str, Hasher]:
    """SHA-256 always; MD5 and SHA-1 only when a client asked to be checked with them."""
    hashers: dict[str, Hasher] = {"sha256": hashlib.sha256()}
    if md5:
        hashers["md5"] = hashlib.md5(usedforsecurity=False)
    if sha1:
        hashers["sha1"] = hashlib.sha1(usedforsecurity=False)
    return hashers


def copy_stream(
    source: Readable,
    sink: Writable,
    *,
    length: int | None = None,
    limit: int | None = None,
    hashers: dict[str, Hasher] | None = None,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> CopyResult:
    """Copy ``source`` to ``sink`` until EOF (or ``length`` bytes) and return what went through.

    ``length`` is the declared body length: fewer bytes raise :class:`IncompleteBody`.
    ``limit`` is the most the sink may take: more raise :class:`TooLarge` as soon as
    the excess is seen. Errors of the source (a client going away) become
    :class:`IncompleteBody`; errors of the sink propagate unchanged.
    """
    if hashers is None:
        hashers = new_hashers()
    if length is not None and limit is not None and length > limit:
        raise TooLarge(f"the body of {length} bytes exceeds the limit of {limit} bytes")
    pipelined = length is None or length >= PIPELINE_THRESHOLD
    if length is not None:
        chunk_size = max(1, min(chunk_size, length))  # a small body gets a small buffer
    consume = _Consumer(sink, list(hashers.values()), on_progress, chunk_size, pipelined)
    total = 0
    try:
        with consume:
            for buf, piece in _pieces(source, consume.acquire, length):
                total += len(piece)
                if limit is not None and total > limit:
                    raise TooLarge(f"the body exceeds the limit of {limit} bytes")
                consume.put(buf, piece)
    except BlobstreamError:
        raise
    except (OSError, ValueError) as exc:
        if consume.sink_failed:
            raise
        raise IncompleteBody(f"the body could not be read: {exc}") from exc
    if length is not None and total < length:
        raise IncompleteBody(f"the body ended after {total} of {length} bytes")
    return CopyResult(total, hashers)


def _pieces(
    source: Readable, acquire: Callable[[], PieceBuffer], length: int | None
) -> Iterator[tuple[PieceBuffer, memoryview]]:
    """Yield (pooled buffer, piece): the piece is a view of the buffer with ``readinto``."""
    remaining = length
    readinto = getattr(source, "readinto", None)
    while remaining is None or remaining > 0:
        buf = acquire()
        want = len(buf) if remaining is None else min(len(buf), remaining)
        try:
            if readinto is not None:
                n = readinto(memoryview(buf)[:want])
                piece = memoryview(buf)[: n or 0]
            else:
                piece = memoryview(source.read(want))
        except BlobstreamError:
            raise
        except Exception as exc:
            # A server's body reader raises its own errors (gunicorn's
            # InvalidChunkSize is no OSError): any failure to read is the body's.
            raise IncompleteBody(f"the body could not be read: {exc}") from exc
        if not piece:
            return
        if remaining is not None:
            remaining -= len(piece)
        yield buf, piece


class _Piece:
    """One received piece on its way through the helper threads."""

    __slots__ = ("buf", "left", "view")

    def __init__(self, buf: PieceBuffer, view: memoryview) -> None:
        self.buf = buf
        self.view = view
        self.left = 2  # the hasher and the writer


class _Consumer:
    """Hashes and writes pieces, inline or on two helper threads taken from a pool
    the process keeps, so a copy does not start threads.

    The hasher and the writer take every piece at once: ``hashlib`` and file
    writes both release the GIL, so while the next piece is received the last one
    is hashed and written side by side, and a body of one piece waits for the
    slower of the two, not for both. Pieces read with ``readinto`` live in a pool
    of :attr:`DEPTH` reused buffers; the pool is also the back-pressure: the
    reader waits for a buffer both threads are done with.
    """

    DEPTH = 4

    def __init__(
        self,
        sink: Writable,
        hashers: list[Hasher],
        on_progress: Callable[[int], None] | None,
        chunk_size: int,
        pipelined: bool,
    ) -> None:
        self.sink = sink
        self.hashers = hashers
        self.on_progress = on_progress
        self.chunk_size = chunk_size
        self.sink_failed = False
        self._error: BaseException | None = None
        self._one: PieceBuffer | None = None
        self._taken: list[mmap.mmap] = []
        self._pipelined = False
        self._helpers: list[Future[None]] = []
        if pipelined and _PIPELINES.acquire(blocking=False):
            # queue.Queue, not SimpleQueue: with SimpleQueue a 256 MiB PUT ran 8-12 %
            # slower here (same server, A/B interleaved), for reasons not pinned down.
            self._to_hash: queue.Queue[_Piece | None] = queue.Queue()
            self._to_write: queue.Queue[_Piece | None] = queue.Queue()
            self._free: queue.Queue[PieceBuffer] = queue.Queue()
            self._lock = threading.Lock()
            for _ in range(self.DEPTH):
                self._free.put(self._buffer())
            self._pipelined = True

    def _buffer(self) -> PieceBuffer:
        """A buffer of ``chunk_size``: a pooled one when that is the pool's size."""
        if self.chunk_size != CHUNK_SIZE:
            return bytearray(self.chunk_size)  # a small body's own small buffer
        buf = _BUFFERS.take()
        self._taken.append(buf)
        return buf

    def acquire(self) -> PieceBuffer:
        if not self._pipelined:
            if self._one is None:
                self._one = self._buffer()
            return self._one
        buf = self._free.get()
        if self._error is not None:
            raise self._error
        return buf

    def put(self, buf: PieceBuffer, piece: memoryview) -> None:
        if not self._pipelined:
            self._hash(piece)
            self._write(piece)
        else:
            item = _Piece(buf, piece)
            self._to_hash.put(item)
            self._to_write.put(item)

    def _hash(self, piece: memoryview) -> None:
        for hasher in self.hashers:
            hasher.update(piece)

    def _write(self, piece: memoryview) -> None:
        try:
            self.sink.write(piece)
        except BaseException:
            self.sink_failed = True
            raise
        if self.on_progress is not None:
            self.on_progress(len(piece))

    def _release(self, item: _Piece) -> None:
        with self._lock:
            item.left -= 1
            done = item.left == 0
        if done:
            self._free.put(item.buf)

    def _serve(
        self, pieces: queue.Queue[_Piece | None], work: Callable[[memoryview], None]
    ) -> None:
        """A helper thread's loop: ``work`` on each piece until the end (``None``)."""
        while (item := pieces.get()) is not None:
            if self._error is None:
                try:
                    work(item.view)
                except BaseException as exc:  # handed to the reading thread
                    self._error = exc
            self._release(item)

    def __enter__(self) -> _Consumer:
        if self._pipelined:
            helpers = _helper_threads()
            self._helpers = [
                helpers.submit(self._serve, self._to_hash, self._hash),
                helpers.submit(self._serve, self._to_write, self._write),
            ]
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if not self._pipelined:
                return
            self._to_hash.put(None)
            self._to_write.put(None)
            for helper in self._helpers:
                helper.result()
            _PIPELINES.release()
            if exc_type is None and self._error is not None:
                raise self._error
        finally:
            # Only once no helper thread can touch them any more.
            for buf in self._taken:
                _BUFFERS.give(buf)
            self._taken.clear()
