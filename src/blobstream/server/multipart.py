"""``multipart/form-data`` uploads streamed part by part into storage, never spooled.

Werkzeug's sans-IO :class:`MultipartDecoder` turns the body into events; each
file part goes through the same writer, hashing and size limit as a PUT, and
is committed atomically when its closing boundary arrives. Text fields are
ignored. Each file is its own atomic write: a form that fails half-way keeps
the files committed before the failure.
"""

from __future__ import annotations

import hashlib

from flask import Request
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from blobstream.errors import (
    BadRequest,
    BlobstreamError,
    IncompleteBody,
    QuotaExceeded,
    TooLarge,
)
from blobstream.events.hub import current_hooks
from blobstream.http.keys import validate_key
from blobstream.server.receive import media_type
from blobstream.server.wsgi_input import body_stream
from blobstream.storage.protocol import BlobInfo, BlobStore, BlobWriter, Commit
from blobstream.streams import CHUNK_SIZE

MAX_PARTS = 1000
MAX_BUFFERED = 4 * CHUNK_SIZE


class _Part:
    def __init__(self, store: BlobStore, key: str, content_type: str) -> None:
        self.key = key
        self.content_type = content_type
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.hooks = current_hooks()
        self.room = None if self.hooks is None else self.hooks.room(key)
        self.writer: BlobWriter = store.begin_write(key)

    def write(self, data: bytes, limit: int | None) -> None:
        self.size += len(data)
        if limit is not None and self.size > limit:
            raise TooLarge(f"the file {self.key!r} exceeds the limit of {limit} bytes")
        if self.room is not None and self.size > self.room:
            raise QuotaExceeded(f"the file {self.key!r} passes what is left of the quota")
        self.sha256.update(data)
        self.writer.write(data)

    def commit(self) -> tuple[BlobInfo, bool]:
        commit = Commit(self.size, self.sha256.hexdigest(), self.content_type)
        if self.hooks is not None:
            self.hooks.before_commit(self.key, commit.size, commit.sha256, self.content_type)
        stored = self.writer.commit(commit)
        if self.hooks is not None:
            self.hooks.committed(stored[0])
        return stored


def store_multipart(
    store: BlobStore, prefix: str, req: Request, limit: int | None
) -> list[tuple[BlobInfo, bool]]:
    """Store every file part of the form under ``prefix + filename``; return them in order."""
    _, options = parse_options_header(req.headers.get("Content-Type", ""))
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise BadRequest("multipart/form-data needs a boundary parameter")
    decoder = MultipartDecoder(
        boundary.encode("latin-1", "replace"),
        max_form_memory_size=MAX_BUFFERED,
        max_parts=MAX_PARTS,
    )
    stored: list[tuple[BlobInfo, bool]] = []
    part: _Part | None = None
    stream = body_stream(req)
    try:
        done = False
        while not done:
            try:
                chunk = stream.read(CHUNK_SIZE)
            except BlobstreamError:
                raise
            except Exception as exc:  # the server's body reader has errors of its own
                raise IncompleteBody(f"the form could not be read: {exc}") from exc
            decoder.receive_data(chunk or None)
            while not isinstance(event := decoder.next_event(), NeedData):
                if isinstance(event, File):
                    name = event.filename.replace("\\", "/").rsplit("/", 1)[-1]
                    if name:
                        ctype = media_type(event.headers.get("Content-Type"))
                        part = _Part(store, validate_key(prefix + name), ctype)
                elif isinstance(event, Data):
                    if part is not None:
                        part.write(event.data, limit)
                        if not event.more_data:
                            stored.append(part.commit())
                            part = None
                elif isinstance(event, Epilogue):
                    done = True
                    break
            if not chunk and not done:
                raise IncompleteBody("the form ended before its closing boundary")
    except ValueError as exc:
        raise BadRequest(f"the form is not valid multipart/form-data: {exc}") from exc
    finally:
        if part is not None:
            part.writer.abort()
    if not stored:
        raise BadRequest("the form holds no file to store")
    return stored
