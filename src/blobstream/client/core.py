"""``blobstream.Client``: put, get, open, stat, list, delete over the blobstream HTTP API.

Everything streams in pieces of about 1 MiB: no call holds a whole body or a
whole listing. Every transfer is verified end to end with SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from blobstream.client.errors import (
    ClientError,
    NotFoundError,
    ServerError,
    VerificationError,
)
from blobstream.client.models import BlobStat, b64
from blobstream.client.ratelimit import TokenBucket
from blobstream.client.remote import RemoteBlobIO
from blobstream.client.state import ResumeState
from blobstream.client.trailer import Fill, NoTrailers, fill_from, put_with_trailer
from blobstream.client.transport import DEFAULT_URL, PIECE, SizedBody, Transport
from blobstream.client.tus import TusClient, hash_range, read_range

if TYPE_CHECKING:
    from blobstream.client.tree import FileOutcome, TreeResult

Progress = Callable[[int], None]
Source = str | os.PathLike[str] | IO[bytes] | Iterable[bytes]
RESUMABLE_THRESHOLD = 4 << 20
"""Files at least this large go as resumable uploads; smaller ones as one PUT (resent whole)."""


class Client:
    """A blobstream server at ``url`` (``Authorization: Bearer token`` when given).

    >>> with Client("http://127.0.0.1:8080") as c:          # doctest: +SKIP
    ...     c.put("isos/big.iso", "big.iso")
    ...     with c.open("isos/big.iso") as f:
    ...         head = f.read(512)
    """

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.transport = Transport(url, token, timeout)
        self.tus = TusClient(self.transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- reading -----------------------------------------------------------------

    def stat(self, key: str) -> BlobStat:
        """``HEAD /blobs/{key}``: size, ETag, SHA-256, type, modified (NotFoundError if absent)."""
        url = self.transport.blob_url(key)
        with self.transport.request("HEAD", url, what=f"stat {key}") as response:
            return BlobStat.from_headers(key, response.headers)

    def list(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[BlobStat]:
        """Every blob under ``prefix`` in key order, fetching one page at a time as you iterate."""
        after = ""
        while True:
            params = {"prefix": prefix, "limit": str(page_size)}
            if after:
                params["after"] = after
            response = self.transport.request(
                "GET", self.transport.absolute("/blobs"), what=f"list {prefix!r}", params=params
            )
            with response:
                try:
                    page = response.json()
                    blobs = [BlobStat.from_json(b) for b in page["blobs"]]
                    after = page.get("next") or ""
                except (ValueError, KeyError, TypeError) as exc:
                    raise ServerError(
                        f"list {prefix!r}: the server sent an unreadable page"
                    ) from exc
            yield from blobs
            if not after or not blobs:
                return

    def open(self, key: str, *, buffer_size: int = 64 << 10) -> io.BufferedReader:
        """A read-only, seekable, buffered file over Range requests, pinned to today's version."""
        return io.BufferedReader(RemoteBlobIO(self.transport, self.stat(key)), buffer_size)

    def get(
        self,
        key: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        resume: bool = False,
        limit_rate: int | None = None,
        progress: Progress | None = None,
        state: ResumeState | None = None,
        on_start: Callable[[BlobStat, int], None] | None = None,
    ) -> BlobStat:
        """Download ``key`` to a path (through ``dest.part``, renamed when verified) or a file.

        With ``resume`` a leftover ``.part`` is hashed and continued with
        ``Range`` + ``If-Range``; a changed blob restarts from zero. A digest
        mismatch raises VerificationError and leaves the ``.part`` in place.
        The ETag a ``.part`` belongs to is kept in ``state``: resuming needs the
        same ResumeState as the interrupted call (without it, ``get`` starts over).
        """
        from blobstream.client.download import download_to_file, download_to_path

        bucket = TokenBucket(limit_rate) if limit_rate else None
        if isinstance(dest, str | os.PathLike):
            return download_to_path(
                self.transport, key, Path(dest), resume=resume, bucket=bucket,
                progress=progress, state=state, on_start=on_start,
            )  # fmt: skip
        if resume:
            raise ClientError("resume needs a destination path, not a stream")
        return download_to_file(
            self.transport, key, dest, bucket=bucket, progress=progress, on_start=on_start
        )

    # -- writing -----------------------------------------------------------------

    def put(
        self,
        key: str,
        source: Source,
        *,
        content_type: str | None = None,
        limit_rate: int | None = None,
        progress: Progress | None = None,
        resumable_threshold: int | None = RESUMABLE_THRESHOLD,
        chunk_size: int | None = None,
        if_none_match: bool = False,
        state: ResumeState | None = None,
        resume: bool = False,
        on_resume: Callable[[int, int], None] | None = None,
    ) -> BlobStat:
        """Store ``source`` (a path, a binary file or an iterable of bytes) under ``key``.

        A regular file of at least ``resumable_threshold`` bytes (or any, with
        ``resume``) is a resumable upload (:meth:`upload_resumable`, remembered
        in ``state``): one PATCH, the file's SHA-256 in its trailer, checked by
        the server before it commits. Anything else is one chunked PUT, hashed
        while it is read, with ``Content-Digest`` in the trailer section. The
        SHA-256 the server answers is compared with the one sent.
        """
        bucket = TokenBucket(limit_rate) if limit_rate else None
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            content_type = content_type or _guess_type(path.name)
            big = resumable_threshold is not None and path.stat().st_size >= resumable_threshold
            if (resume or big) and path.is_file():
                try:
                    self.tus.server()
                except NotFoundError:
                    pass  # no tus on this server: one PUT still works
                else:
                    return self.upload_resumable(
                        key, path, content_type=content_type, chunk_size=chunk_size,
                        limit_rate=limit_rate, progress=progress, state=state,
                        if_none_match=if_none_match, resume=resume, on_resume=on_resume,
                    )  # fmt: skip
            with open(path, "rb") as f:
                if path.is_file():
                    return self._put_seekable(key, f, content_type, bucket, progress, if_none_match)
                # A pipe or device (``<(tar c dir)``, /dev/stdin): one read, one hash.
                return self._put_stream(key, f, content_type, bucket, progress, if_none_match)
        content_type = content_type or "application/octet-stream"
        if hasattr(source, "read"):
            stream = cast(IO[bytes], source)
            if _seekable(stream):
                return self._put_seekable(
                    key, stream, content_type, bucket, progress, if_none_match
                )
            pieces: Iterable[bytes] | IO[bytes] = stream
        else:
            pieces = source
        return self._put_stream(key, pieces, content_type, bucket, progress, if_none_match)

    def _put_seekable(
        self,
        key: str,
        f: IO[bytes],
        content_type: str,
        bucket: TokenBucket | None,
        progress: Progress | None,
        if_none_match: bool,
    ) -> BlobStat:
        """One PUT with the digest in a trailer; hashed first only when trailers cannot go."""
        headers = _put_headers(content_type, if_none_match)
        try:
            return self._put_trailer(key, headers, fill_from(f), bucket, progress)
        except NoTrailers:
            pass
        start = f.tell()
        size = f.seek(0, io.SEEK_END) - start
        digest = hashlib.sha256()
        hash_range(f, start, size, digest)
        headers["Content-Digest"] = f"sha-256=:{b64(digest.digest())}:"
        body = SizedBody(read_range(f, start, size, bucket, progress), size)
        stat = self._send_put(key, headers, body if size else b"")
        _check(key, stat.sha256, digest.hexdigest())
        return stat

    def _put_stream(
        self,
        key: str,
        pieces: Iterable[bytes] | IO[bytes],
        content_type: str,
        bucket: TokenBucket | None,
        progress: Progress | None,
        if_none_match: bool,
    ) -> BlobStat:
        """One chunked PUT with the digest in a trailer (or, through a proxy, compared after)."""
        headers = _put_headers(content_type, if_none_match)
        try:
            return self._put_trailer(key, headers, fill_from(pieces), bucket, progress)
        except NoTrailers:
            pass
        digest = hashlib.sha256()
        if hasattr(pieces, "read"):
            source: Iterable[bytes] = _read_pieces(cast(IO[bytes], pieces))
        else:
            source = pieces

        def body() -> Iterator[bytes]:
            for data in _coalesce(source, PIECE):
                if bucket is not None:
                    bucket.take(len(data))
                digest.update(data)
                yield data
                if progress is not None:
                    progress(len(data))

        stat = self._send_put(key, headers, body())
        _check(key, stat.sha256, digest.hexdigest())
        return stat

    def _put_trailer(
        self,
        key: str,
        headers: dict[str, str],
        fill: Fill,
        bucket: TokenBucket | None,
        progress: Progress | None,
    ) -> BlobStat:
        url = self.transport.blob_url(key)
        response, sent = put_with_trailer(
            self.transport, url, headers, fill, what=f"put {key}", bucket=bucket,
            progress=progress,
        )  # fmt: skip
        try:
            stat = BlobStat.from_json(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerError(f"put {key}: the server sent an unreadable answer") from exc
        _check(key, stat.sha256, sent)
        return stat

    def _send_put(
        self, key: str, headers: dict[str, str], body: Iterable[bytes] | SizedBody | bytes
    ) -> BlobStat:
        url = self.transport.blob_url(key)
        response = self.transport.request(
            "PUT", url, what=f"put {key}", ok=(200, 201), headers=headers, data=body
        )
        with response:
            try:
                return BlobStat.from_json(response.json())
            except (ValueError, KeyError, TypeError) as exc:
                raise ServerError(f"put {key}: the server sent an unreadable answer") from exc

    def upload_resumable(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        content_type: str | None = None,
        chunk_size: int | None = None,
        limit_rate: int | None = None,
        progress: Progress | None = None,
        state: ResumeState | None = None,
        resume: bool = True,
        if_none_match: bool = False,
        on_resume: Callable[[int, int], None] | None = None,
    ) -> BlobStat:
        """Upload a file through tus, remembering the upload in ``state`` until it is done.

        The file goes in one PATCH (or PATCHes of ``chunk_size``) with its
        SHA-256 as ``Repr-Digest`` in the trailer; the server commits only if
        it matches (``blobstream.client.upload``). With ``resume`` an upload
        remembered for this (server, key, file, size, mtime) continues where
        the server has it (HEAD, then PATCH of the rest).
        """
        from blobstream.client.upload import ResumableUpload

        return ResumableUpload(
            self, key, Path(path), content_type=content_type or _guess_type(Path(path).name),
            chunk_size=chunk_size, bucket=TokenBucket(limit_rate) if limit_rate else None,
            progress=progress, state=state, if_none_match=if_none_match,
        ).run(resume=resume, on_resume=on_resume)  # fmt: skip

    def put_tree(
        self, root: str | os.PathLike[str], prefix: str, *, jobs: int = 4, resume: bool = False,
        state: ResumeState | None = None, progress: Progress | None = None,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> TreeResult:  # fmt: skip
        """Upload every file under ``root`` to ``prefix/<relative path>``, ``jobs`` at a time.

        Files whose size and SHA-256 equal the blob's are skipped; each other file
        goes by :meth:`put` (resumable, verified). A failed file is listed in the
        result, the others go on (``blobstream.client.tree``).
        """
        from blobstream.client.tree import put_tree

        return put_tree(
            self, Path(root), prefix, jobs=jobs, resume=resume, state=state, progress=progress,
            on_file=on_file,
        )  # fmt: skip

    def get_tree(
        self, prefix: str, root: str | os.PathLike[str], *, jobs: int = 4, resume: bool = False,
        state: ResumeState | None = None, progress: Progress | None = None,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> TreeResult:  # fmt: skip
        """Download every blob under ``prefix`` to ``root/<rest of the key>``, ``jobs`` at a time.

        Local files whose size and SHA-256 equal the blob's are skipped; the
        others go by :meth:`get` (through ``.part``, verified)."""
        from blobstream.client.tree import get_tree

        return get_tree(
            self, prefix, Path(root), jobs=jobs, resume=resume, state=state, progress=progress,
            on_file=on_file,
        )  # fmt: skip

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """``DELETE /blobs/{key}``: NotFoundError if absent, ConflictError if ``if_match`` fails."""
        headers = {"If-Match": if_match} if if_match else {}
        url = self.transport.blob_url(key)
        self.transport.request(
            "DELETE", url, what=f"rm {key}", ok=(200, 204), headers=headers
        ).close()


def _put_headers(content_type: str, if_none_match: bool) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    if if_none_match:
        headers["If-None-Match"] = "*"
    return headers


def _check(key: str, server_sha256: str | None, local_sha256: str) -> None:
    if server_sha256 is None:
        raise VerificationError(f"{key}: the server did not say which SHA-256 it stored")
    if server_sha256 != local_sha256:
        raise VerificationError(
            f"{key}: SHA-256 mismatch: sent {local_sha256}, the server has {server_sha256}"
        )


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _seekable(f: IO[bytes]) -> bool:
    try:
        return f.seekable()
    except (OSError, ValueError, AttributeError):
        return False


def _coalesce(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Small pieces joined into pieces of about ``size``: one send per piece, not per line."""
    pending = bytearray()
    for data in pieces:
        if not pending and len(data) >= size:
            yield data
            continue
        pending += data
        if len(pending) >= size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _read_pieces(f: IO[bytes]) -> Iterator[bytes]:
    while data := f.read(PIECE):
        yield data


__all__ = ["Client"]
