"""Downloads that verify SHA-256 end to end and resume with ``Range`` + ``If-Range``.

A path download writes ``DEST.part`` and renames it to ``DEST`` only once the
SHA-256 of every byte equals the server's ``Repr-Digest`` (RFC 9530), so a
file that looks complete is complete. The ETag of the version being fetched is
remembered in the resume state; ``--resume`` hashes the existing prefix, asks
for the rest with ``If-Range: <etag>`` (RFC 9110 §13.1.5), and restarts from
zero when the server answers 200 because the blob changed.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

import requests

from blobstream.client.errors import ServerError, VerificationError
from blobstream.client.models import BlobStat
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.state import ResumeState, download_ident
from blobstream.client.transport import PIECE, Transport, iter_body
from blobstream.client.tus import hash_range

Progress = Callable[[int], None]
OnStart = Callable[[BlobStat, int], None]
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download_to_path(
    transport: Transport,
    key: str,
    dest: Path,
    *,
    resume: bool,
    bucket: TokenBucket | None,
    progress: Progress | None,
    state: ResumeState | None,
    on_start: OnStart | None,
) -> BlobStat:
    part = part_path(dest)
    ident = download_ident(transport.base, key, dest)
    remembered = state.get("downloads", ident) if state is not None and resume else None
    etag = remembered.get("etag") if remembered else None
    offset = part.stat().st_size if etag and part.is_file() else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = str(etag)
    response = transport.request(
        "GET", transport.blob_url(key), what=f"get {key}", ok=(200, 206, 416), headers=headers,
        stream=True,
    )  # fmt: skip
    with response:
        if response.status_code == 416:
            # The .part is as long as the blob, or longer: check it whole, or start over.
            response.close()
            return _finish_or_restart(
                transport, key, dest, part, etag, bucket, progress, state, on_start
            )
        stat = _stat_of(key, response)
        if response.status_code == 200:
            offset = 0
        elif _range_start(response) != offset:
            raise ServerError(f"get {key}: the server sent a range that does not start at {offset}")
        if state is not None:
            state.put("downloads", ident, {"etag": stat.etag})
        digest = hashlib.sha256()
        mode = "r+b" if offset else "wb"
        with open(part, mode) as out:
            if offset:
                hash_range(out, 0, offset, digest)
                out.seek(offset)
                out.truncate()
            if on_start is not None:
                on_start(stat, offset)
            received = offset + _copy(response, out, digest, bucket, progress, f"get {key}")
    if received != stat.size:
        raise ServerError(f"get {key}: received {received} bytes of {stat.size}")
    if state is not None:
        state.remove("downloads", ident)
    _verify(key, stat, digest.hexdigest(), part)
    os.replace(part, dest)
    return stat


def download_to_file(
    transport: Transport,
    key: str,
    out: IO[bytes],
    *,
    bucket: TokenBucket | None,
    progress: Progress | None,
    on_start: OnStart | None,
) -> BlobStat:
    """Stream ``key`` into an open file (stdout); a mismatch is reported after the fact."""
    headers = {"Accept-Encoding": "identity"}
    response = transport.request(
        "GET", transport.blob_url(key), what=f"get {key}", headers=headers, stream=True
    )
    with response:
        stat = _stat_of(key, response)
        if on_start is not None:
            on_start(stat, 0)
        digest = hashlib.sha256()
        received = _copy(response, out, digest, bucket, progress, f"get {key}")
    out.flush()
    if received != stat.size:
        raise ServerError(f"get {key}: received {received} bytes of {stat.size}")
    _verify(key, stat, digest.hexdigest(), None)
    return stat


def _copy(
    response: requests.Response,
    out: IO[bytes],
    digest: hashlib._Hash,
    bucket: TokenBucket | None,
    progress: Progress | None,
    what: str,
) -> int:
    """Write the body to ``out`` while a second thread hashes it (hashlib frees the GIL)."""
    total = 0
    piece = bucket.piece if bucket is not None else PIECE
    with BackgroundHasher(digest) as hasher:
        for data in iter_body(response, what, piece):
            if bucket is not None:
                bucket.take(len(data))
            out.write(data)
            hasher.update(data)
            total += len(data)
            if progress is not None:
                progress(len(data))
    return total


class BackgroundHasher:
    """Feeds pieces to a hash on another thread; at most ``depth`` pieces wait in between."""

    def __init__(self, digest: hashlib._Hash, depth: int = 4) -> None:
        self.digest = digest
        self._queue: queue.Queue[bytes | None] = queue.Queue(depth)
        self._thread = threading.Thread(target=self._run, name="blobstream-hash", daemon=True)

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            self.digest.update(data)

    def update(self, data: bytes) -> None:
        self._queue.put(data)

    def __enter__(self) -> BackgroundHasher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()


def _finish_or_restart(
    transport: Transport,
    key: str,
    dest: Path,
    part: Path,
    etag: str | None,
    bucket: TokenBucket | None,
    progress: Progress | None,
    state: ResumeState | None,
    on_start: OnStart | None,
) -> BlobStat:
    with transport.request("HEAD", transport.blob_url(key), what=f"get {key}") as response:
        stat = BlobStat.from_headers(key, response.headers)
    if stat.etag == etag and part.stat().st_size == stat.size:
        digest = hashlib.sha256()
        with open(part, "rb") as f:
            hash_range(f, 0, stat.size, digest)
        if state is not None:
            state.remove("downloads", download_ident(transport.base, key, dest))
        _verify(key, stat, digest.hexdigest(), part)
        os.replace(part, dest)
        return stat
    part.unlink()
    return download_to_path(
        transport, key, dest, resume=False, bucket=bucket, progress=progress, state=state,
        on_start=on_start,
    )  # fmt: skip


def _verify(key: str, stat: BlobStat, local: str, part: Path | None) -> None:
    kept = f"; the partial file is kept as {part}" if part is not None else ""
    if stat.sha256 is None:
        raise VerificationError(f"get {key}: the server sent no Repr-Digest to check{kept}")
    if stat.sha256 != local:
        raise VerificationError(
            f"get {key}: SHA-256 mismatch: received {local}, the server has {stat.sha256}{kept}"
        )


def _range_start(response: requests.Response) -> int | None:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    return int(match[1]) if match else None


def _stat_of(key: str, response: requests.Response) -> BlobStat:
    stat = BlobStat.from_headers(key, response.headers)
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if response.status_code == 206 and match:
        return BlobStat(
            key, int(match[3]), stat.etag, stat.sha256, stat.content_type, stat.last_modified
        )
    return stat
