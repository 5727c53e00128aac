"""Whole trees: a local directory to keys under a prefix and back, N files at a time.

A file whose size and SHA-256 equal the blob's is left alone (the local file
is hashed only when the sizes match). Memory stays bounded however many files
there are: the local tree is walked one directory at a time in key order, and
merged with the server's listing of the prefix, fetched a page at a time
(``put``); a download lists lazily and looks at one local file per blob
(``get``). At most ``2 × jobs`` transfers are queued. Each file goes through
:meth:`Client.put` / :meth:`Client.get`, so each is verified and resumable.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from blobstream.client.errors import ClientError
from blobstream.client.models import BlobStat
from blobstream.client.state import ResumeState

if TYPE_CHECKING:
    from blobstream.client.core import Client

Status = Literal["sent", "unchanged", "failed"]


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file: ``sent`` (either way), ``unchanged`` or ``failed``."""

    key: str
    path: Path
    size: int
    status: Status
    error: str | None = None


@dataclass
class TreeResult:
    """The tally of a tree transfer; ``failed`` lists the files that did not make it."""

    sent: int = 0
    unchanged: int = 0
    bytes: int = 0
    failed: list[FileOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, outcome: FileOutcome) -> None:
        if outcome.status == "sent":
            self.sent += 1
            self.bytes += outcome.size
        elif outcome.status == "unchanged":
            self.unchanged += 1
        else:
            self.failed.append(outcome)


class Stopped(Exception):
    """Raised inside a transfer when the tree transfer is being stopped (Ctrl-C)."""


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    size: int


def key_prefix(prefix: str) -> str:
    """``photos`` and ``photos/`` both mean the keys under ``photos/``; ``""`` means all."""
    prefix = prefix.strip("/")
    return prefix + "/" if prefix else ""


def walk(root: Path, prefix: str) -> Iterator[LocalFile]:
    """Regular files under ``root`` in the order of their keys (``prefix`` + relative path).

    Siblings sort by name, a directory as ``name/``, so the depth-first walk
    yields keys in string order (what the server lists in). Symbolic links to
    directories are not followed; other special files are left out.
    """
    entries: list[tuple[str, os.DirEntry[str], bool]] = []
    with os.scandir(root) as it:
        for entry in it:
            if entry.is_dir(follow_symlinks=False):
                entries.append((entry.name + "/", entry, True))
            elif entry.is_file():
                entries.append((entry.name, entry, False))
    entries.sort(key=lambda e: e[0])
    for name, entry, is_dir in entries:
        if is_dir:
            yield from walk(Path(entry.path), prefix + name)
        else:
            yield LocalFile(Path(entry.path), prefix + name, entry.stat().st_size)


def pair(
    local: Iterator[LocalFile], remote: Iterator[BlobStat]
) -> Iterator[tuple[LocalFile, BlobStat | None]]:
    """Each local file with the blob of the same key, both streams in key order."""
    blob = next(remote, None)
    for item in local:
        while blob is not None and blob.key < item.key:
            blob = next(remote, None)
        yield item, (blob if blob is not None and blob.key == item.key else None)


def same(path: Path, size: int, blob: BlobStat | None) -> bool:
    """Whether ``path`` holds exactly ``blob`` (hashed only when the sizes match)."""
    if blob is None or blob.sha256 is None or blob.size != size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(1 << 20)
        while n := f.readinto(buf):
            digest.update(memoryview(buf)[:n])
    return digest.hexdigest() == blob.sha256


class TreeTransfer:
    """Runs file transfers on ``jobs`` threads, each with a :class:`Client` of its own."""

    def __init__(
        self,
        client: Client,
        *,
        jobs: int,
        progress: Callable[[int], None] | None,
        on_file: Callable[[FileOutcome], None] | None,
        on_found: Callable[[LocalFile], None] | None = None,
    ) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.client = client
        self.jobs = jobs
        self.on_file = on_file
        self.on_found = on_found
        self._progress = progress
        self._stop = threading.Event()
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()

    def progress(self, n: int) -> None:
        if self._stop.is_set():
            raise Stopped
        if self._progress is not None:
            self._progress(n)

    def thread_client(self) -> Client:
        from blobstream.client.core import Client

        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(self.client.url, timeout=self.client.transport.timeout)
            client.transport.session.headers.update(self.client.transport.session.headers)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def run(self, tasks: Iterator[tuple[LocalFile, Callable[[], Status]]]) -> TreeResult:
        result = TreeResult()
        pending: set[Future[FileOutcome]] = set()

        def finish(done: set[Future[FileOutcome]]) -> None:
            for future in done:
                outcome = future.result()
                result.add(outcome)
                if self.on_file is not None:
                    self.on_file(outcome)

        pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="blobstream-tree")
        try:
            for item, task in tasks:
                if self.on_found is not None:
                    self.on_found(item)
                pending.add(pool.submit(self._one, item, task))
                if len(pending) >= 2 * self.jobs:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    finish(done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                finish(done)
        except BaseException:
            self._stop.set()  # transfers under way stop at their next piece, resumable
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            for client in self._clients:
                client.close()
        return result

    def _one(self, item: LocalFile, task: Callable[[], Status]) -> FileOutcome:
        if self._stop.is_set():
            raise Stopped
        try:
            status = task()
        except Stopped:
            raise
        except (ClientError, OSError, ValueError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            return FileOutcome(item.key, item.path, item.size, "failed", message)
        return FileOutcome(item.key, item.path, item.size, status)


def put_tree(
    client: Client,
    root: Path,
    prefix: str,
    *,
    jobs: int = 4,
    resume: bool = False,
    state: ResumeState | None = None,
    progress: Callable[[int], None] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    on_found: Callable[[LocalFile], None] | None = None,
) -> TreeResult:
    if not root.is_dir():
        raise NotADirectoryError(20, "not a directory", str(root))
    base = key_prefix(prefix)
    runner = TreeTransfer(client, jobs=jobs, progress=progress, on_file=on_file, on_found=on_found)

    def tasks() -> Iterator[tuple[LocalFile, Callable[[], Status]]]:
        for item, blob in pair(walk(root, base), client.list(base)):

            def upload(item: LocalFile = item, blob: BlobStat | None = blob) -> Status:
                if same(item.path, item.size, blob):
                    return "unchanged"
                runner.thread_client().put(
                    item.key, item.path, progress=runner.progress, state=state, resume=resume
                )
                return "sent"

            yield item, upload

    return runner.run(tasks())


def get_tree(
    client: Client,
    prefix: str,
    root: Path,
    *,
    jobs: int = 4,
    resume: bool = False,
    state: ResumeState | None = None,
    progress: Callable[[int], None] | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    on_found: Callable[[LocalFile], None] | None = None,
) -> TreeResult:
    base = key_prefix(prefix)
    root.mkdir(parents=True, exist_ok=True)
    top = root.resolve()
    runner = TreeTransfer(client, jobs=jobs, progress=progress, on_file=on_file, on_found=on_found)

    def tasks() -> Iterator[tuple[LocalFile, Callable[[], Status]]]:
        for blob in client.list(base):
            dest = top.joinpath(*blob.key[len(base) :].split("/"))
            item = LocalFile(dest, blob.key, blob.size)

            def download(item: LocalFile = item, blob: BlobStat = blob) -> Status:
                if top not in item.path.resolve().parents:
                    raise ClientError(f"{item.key}: the key leads outside {top}")
                if item.path.is_file() and same(item.path, item.path.stat().st_size, blob):
                    return "unchanged"
                item.path.parent.mkdir(parents=True, exist_ok=True)
                runner.thread_client().get(
                    item.key, item.path, resume=resume, state=state, progress=runner.progress
                )
                return "sent"

            yield item, download

    return runner.run(tasks())
