"""One resumable upload of a local file through tus, verified by the server before it commits.

1. ``POST /uploads`` creates the upload (tus creation) with the metadata pair
   ``repr-digest sha-256`` (``blobstream.tus.digest``): the server will not
   complete it until it is sent a ``Repr-Digest`` that matches its bytes.
2. The upload URL is remembered in the resume state under (server, key,
   absolute path, size, mtime) before any byte goes: an atomic replace of a
   small file, so it survives Ctrl-C, a dropped connection, ``kill -9`` of the
   client or a crash of the server.
3. One ``PATCH`` sends the file from the offset to the end (``sendfile``,
   chunked), while another thread hashes the whole file; its SHA-256 follows in
   the trailer section as ``Repr-Digest``. The server commits only if the
   SHA-256 of everything it holds equals it; a mismatch discards the upload.

``resume`` asks the server where the remembered upload is (HEAD) and sends
only the rest; the whole file is still hashed, so the check covers every byte.
When trailers cannot pass (a proxy is configured), the bytes go with
``Content-Length`` and an empty PATCH carries ``Repr-Digest`` in its header.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from blobstream.client.errors import (
    ClientError,
    ConflictError,
    NotFoundError,
    ServerError,
    VerificationError,
)
from blobstream.client.filebody import FileHasher, repr_digest, send_file
from blobstream.client.models import BlobStat
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.state import ResumeState, upload_ident
from blobstream.client.trailer import NoTrailers, connection_for
from blobstream.client.transport import SizedBody
from blobstream.client.tus import read_range

if TYPE_CHECKING:
    from blobstream.client.core import Client

ATTEMPTS = 5
DEFAULT_CHUNK = 64 << 20
"""Bytes per PATCH, all on one connection: what a crash of the server can lose at most."""
SECTION = "uploads"
MARKER = {"repr-digest": "sha-256"}
OFFSET_TYPE = "application/offset+octet-stream"


class ResumableUpload:
    def __init__(
        self,
        client: Client,
        key: str,
        path: Path,
        *,
        content_type: str,
        chunk_size: int | None = None,
        bucket: TokenBucket | None,
        progress: Callable[[int], None] | None,
        state: ResumeState | None,
        if_none_match: bool = False,
    ) -> None:
        if chunk_size is not None and chunk_size <= 0:
            raise ValueError("the chunk size must be positive")
        chunk_size = chunk_size or DEFAULT_CHUNK
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
            self.tus.server()
        except NotFoundError as exc:
            raise ServerError(
                f"put {self.key}: the server offers no resumable uploads (tus)"
            ) from exc
        with open(self.path, "rb") as f:
            st = self.path.stat()
            size = st.st_size
            ident = upload_ident(self.client.url, self.key, self.path, size, st.st_mtime_ns)
            url, offset = self._find(ident, resume)
            if url is None:
                url = self._create(ident, size)
            elif on_resume is not None:
                on_resume(offset, size)
            hasher = FileHasher(self.path, size)
            try:
                if self.progress is not None and offset:
                    self.progress(offset)
                self._send(f, url, offset, size, hasher)
            except VerificationError:
                self._forget(ident)  # the server discarded the upload
                raise
            finally:
                hasher.cancel()
            sha256 = hasher.result().hex()
        stat = self.client.stat(self.key)
        self._forget(ident)
        if stat.sha256 != sha256:
            raise VerificationError(
                f"put {self.key}: SHA-256 mismatch: sent {sha256}, the server has {stat.sha256}"
            )
        return stat

    def _forget(self, ident: str) -> None:
        if self.state is not None:
            self.state.remove(SECTION, ident)

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
            return None, 0  # expired, terminated or discarded on the server: start again

    def _create(self, ident: str, size: int) -> str:
        if self.if_none_match:
            try:
                self.client.stat(self.key)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"put {self.key}: the blob already exists", 412)
        metadata = {
            "key": self.key,
            "filename": self.path.name,
            "filetype": self.content_type,
            **MARKER,
        }
        url = self.tus.create(size, metadata)
        if self.state is not None:
            self.state.put(SECTION, ident, {"url": url})
        return url

    def _send(self, f: IO[bytes], url: str, offset: int, size: int, hasher: FileHasher) -> None:
        """PATCH the rest; when the server is elsewhere or busy, follow it (a few times)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._send_from(f, url, offset, size, hasher)
                return
            except ClientError as exc:
                # 409: the server holds more than it said (an earlier connection was still
                # draining into it); 423: that connection still holds the upload. Follow it.
                if exc.status not in (409, 423) or attempt == ATTEMPTS:
                    raise
            time.sleep(0.2 * attempt)
            offset = self.tus.offset(url)

    def _send_from(
        self, f: IO[bytes], url: str, offset: int, size: int, hasher: FileHasher
    ) -> None:
        """PATCH from ``offset`` to the end, in pieces of ``chunk_size``, the digest last."""
        transport = self.client.transport
        try:
            conn: http.client.HTTPConnection | None = connection_for(transport, url)
        except NoTrailers:
            conn = None
        try:
            while True:
                end = min(size, offset + self.chunk_size)
                last = end == size
                if offset == end:
                    self._finish(url, offset, hasher)  # every byte is there: the digest is due
                    return
                headers = {**self.tus.headers, "Content-Type": OFFSET_TYPE}
                headers["Upload-Offset"] = str(offset)
                if conn is not None:
                    response = send_file(
                        transport, conn, "PATCH", url, headers, f, offset, end - offset,
                        trailer=hasher.result if last else None, what=f"put {self.key}",
                        ok=(200, 204), bucket=self.bucket, progress=self.progress,
                    )  # fmt: skip
                    value = response.headers.get("Upload-Offset", "")
                else:
                    value = self._patch_plain(f, url, headers, offset, end - offset)
                    if last:
                        self._finish(url, end, hasher)
                        return
                if not value.isdigit() or int(value) != end:
                    raise ServerError(
                        f"put {self.key}: the server has {value or '?'} bytes, not {end}"
                    )
                if last:
                    return
                offset = end
        finally:
            if conn is not None:
                conn.close()

    def _patch_plain(
        self, f: IO[bytes], url: str, headers: dict[str, str], offset: int, n: int
    ) -> str:
        """A PATCH through the session (and its proxy), with ``Content-Length``."""
        body = SizedBody(read_range(f, offset, n, self.bucket, self.progress), n)
        with self.client.transport.request(
            "PATCH", url, what=f"put {self.key}", ok=(200, 204), headers=headers, data=body
        ) as answer:
            return str(answer.headers.get("Upload-Offset", ""))

    def _finish(self, url: str, offset: int, hasher: FileHasher) -> None:
        """An empty PATCH with ``Repr-Digest`` in its header: check and commit."""
        headers = {
            **self.tus.headers,
            "Content-Type": OFFSET_TYPE,
            "Upload-Offset": str(offset),
            "Repr-Digest": repr_digest(hasher.result()),
        }
        self.client.transport.request(
            "PATCH", url, what=f"put {self.key}", ok=(200, 204), headers=headers, data=b""
        ).close()
