"""One resumable upload of a local file through tus, verified end to end.

The upload URL is remembered in the resume state under (server, key, absolute
path, size, mtime) as soon as it exists, so an interrupted upload — Ctrl-C, a
dropped connection, a reboot — continues with HEAD + PATCH where the server
has it. Each PATCH carries ``Upload-Checksum: sha256`` (tus checksum
extension) when the server offers it; after the last byte the blob's
``Repr-Digest`` must equal the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

from blobstream.client.errors import (
    ConflictError,
    ConnectionFailed,
    NotFoundError,
    ServerError,
    VerificationError,
)
from blobstream.client.models import BlobStat
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.state import ResumeState, upload_ident
from blobstream.client.tus import hash_range

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

    from blobstream.client.core import Client

ATTEMPTS = 3
SECTION = "uploads"


class ResumableUpload:
    def __init__(
        self,
        client: Client,
        key: str,
        path: Path,
        *,
        content_type: str,
        chunk_size: int,
        bucket: TokenBucket | None,
        progress: Callable[[int], None] | None,
        state: ResumeState | None,
        if_none_match: bool = False,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("the chunk size must be positive")
        self.client = client
        self.tus = client.tus
        self.key = key
        self.path = path
        self.content_type = content_type
        self.chunk_size = chunk_size
        self.bucket = bucket
        self.progress = progress
        self.state = state
        self.if_none_match = if_none_match

    def run(
        self, *, resume: bool = True, on_resume: Callable[[int, int], None] | None = None
    ) -> BlobStat:
        try:
            server = self.tus.server()
        except NotFoundError as exc:
            raise ServerError(
                f"put {self.key}: the server offers no resumable uploads (tus)"
            ) from exc
        checksum = "checksum" in server.extensions and "sha256" in server.checksums
        with open(self.path, "rb") as f:
            st = self.path.stat()
            size = st.st_size
            ident = upload_ident(self.client.url, self.key, self.path, size, st.st_mtime_ns)
            url, offset = self._find(ident, resume)
            if url is None:
                url = self._create(ident, size)
            elif on_resume is not None:
                on_resume(offset, size)
            whole = hashlib.sha256()
            hash_range(f, 0, offset, whole)
            if self.progress is not None and offset:
                self.progress(offset)
            whole = self._send_all(f, url, offset, size, whole, checksum)
        stat = self.client.stat(self.key)
        if self.state is not None:
            self.state.remove(SECTION, ident)
        if stat.sha256 != whole.hexdigest():
            raise VerificationError(
                f"put {self.key}: SHA-256 mismatch: sent {whole.hexdigest()}, "
                f"the server has {stat.sha256}"
            )
        return stat

    def _find(self, ident: str, resume: bool) -> tuple[str | None, int]:
        entry = self.state.get(SECTION, ident) if self.state is not None else None
        if entry is None or not isinstance(entry.get("url"), str):
            return None, 0
        if not resume:
            self.tus.terminate(entry["url"])
            return None, 0
        try:
            return entry["url"], self.tus.offset(entry["url"])
        except NotFoundError:
            return None, 0  # expired or terminated on the server: start again

    def _create(self, ident: str, size: int) -> str:
        if self.if_none_match:
            try:
                self.client.stat(self.key)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"put {self.key}: the blob already exists", 412)
        metadata = {"key": self.key, "filename": self.path.name, "filetype": self.content_type}
        url = self.tus.create(size, metadata)
        if self.state is not None:
            self.state.put(SECTION, ident, {"url": url})
        return url

    def _send_all(
        self, f: IO[bytes], url: str, offset: int, size: int, whole: Hash, checksum: bool
    ) -> Hash:
        """PATCH every chunk from ``offset``; the next chunk is hashed while one is sent."""
        with open(self.path, "rb") as g, ThreadPoolExecutor(1) as pool:

            def hashed(at: int, base: Hash) -> Future[tuple[int, bytes, Hash]]:
                n = min(self.chunk_size, size - at)
                return pool.submit(_hash_chunk, g, at, n, base)

            pending = hashed(offset, whole.copy())
            while offset < size:
                n, chunk, after = pending.result()
                if offset + n < size:
                    pending = hashed(offset + n, after.copy())
                new, whole = self._send_chunk(f, url, offset, n, chunk, after, checksum)
                if new != offset + n and new < size:
                    pending.result()  # a retry moved the offset: hash from there instead
                    pending = hashed(new, whole.copy())
                offset = new
        return whole

    def _send_chunk(
        self,
        f: IO[bytes],
        url: str,
        offset: int,
        n: int,
        chunk: bytes,
        after: Hash,
        checksum: bool,
    ) -> tuple[int, Hash]:
        """PATCH one chunk (retrying a broken connection); returns the new offset and hash."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                new = self.tus.patch(
                    url, f, offset, n, checksum=chunk if checksum else None,
                    bucket=self.bucket, progress=self.progress,
                )  # fmt: skip
            except ConflictError:
                # 409: the server is at another offset, e.g. it finished committing a PATCH
                # that was cut off just before the client heard the answer. Follow it.
                if attempt == ATTEMPTS:
                    raise
                new = self.tus.offset(url)
            except (ConnectionFailed, ServerError, VerificationError):
                # A broken connection, a server fault or a chunk damaged on the way (460).
                if attempt == ATTEMPTS:
                    raise
                time.sleep(attempt)
                new = self.tus.offset(url)
            if new == offset + n:
                return new, after
            if new != offset:
                rehashed = hashlib.sha256()
                hash_range(f, 0, new, rehashed)
                return new, rehashed
        raise ServerError(f"put {self.key}: the server did not take the bytes at {offset}")


def _hash_chunk(f: IO[bytes], offset: int, n: int, base: Hash) -> tuple[int, bytes, Hash]:
    """The chunk's own SHA-256 (for ``Upload-Checksum``) and ``base`` extended by it."""
    chunk = hashlib.sha256()
    hash_range(f, offset, n, chunk, base)
    return n, chunk.digest(), base
