"""tus 1.0 upload life cycle on any :class:`~blobstream.storage.protocol.UploadStore`.

Creation, appends (with checksum), completion into a blob, concatenation,
termination and expiry. It knows only the storage protocol, so every backend
that implements it gets the whole of tus; the Flask glue is in ``blueprint.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from blobstream.errors import (
    BlobstreamError,
    ChecksumMismatch,
    Conflict,
    DigestMismatch,
    Forbidden,
    Gone,
    IncompleteBody,
    InvalidHeader,
    Locked,
    NotFound,
    TooLarge,
    Vetoed,
)
from blobstream.events.hub import Hooks
from blobstream.http.keys import validate_key
from blobstream.ingest import DEFAULT_CONTENT_TYPE
from blobstream.server.receive import media_type
from blobstream.storage.protocol import BlobInfo, Buffer, Commit, UploadAppender, UploadState
from blobstream.storage.protocol import UploadStore as UploadStoreProtocol
from blobstream.streams import Hasher, Readable, copy_stream
from blobstream.tus import digest
from blobstream.tus.hashing import HashCache

log = logging.getLogger("blobstream.tus")

DEFAULT_EXPIRY = 24 * 3600.0


@dataclass(frozen=True)
class Chunk:
    """One request body to append: its declared length (None if chunked) and checksum."""

    source: Readable
    length: int | None
    checksum: tuple[str, bytes] | None = None
    repr_digest: str | None = None  # the Repr-Digest header; a trailer may carry it instead


class _Sink:
    """The appender, counting what it stored."""

    def __init__(self, appender: UploadAppender) -> None:
        self.appender = appender
        self.written = 0

    def write(self, data: Buffer) -> None:
        self.appender.write(data)
        self.written += len(data)


class _Counted:
    """A hasher counting what it took. The copy loop hashes each piece on one thread
    while another writes it, so after a failed write the running hash may hold bytes
    that were not stored: it is kept only when both counts agree with the new offset."""

    __slots__ = ("count", "hasher")

    def __init__(self, hasher: Any) -> None:
        self.hasher = hasher
        self.count = 0

    def update(self, data: Buffer) -> None:
        self.hasher.update(data)
        self.count += len(data)

    def digest(self) -> bytes:
        return bytes(self.hasher.digest())

    def hexdigest(self) -> str:
        return str(self.hasher.hexdigest())


class TusService:
    """The tus operations of one app: ``store`` holds the state, ``hashes`` is per process."""

    def __init__(
        self,
        store: UploadStoreProtocol,
        *,
        max_size: int | None = None,
        expiry: float = DEFAULT_EXPIRY,
        hashes: HashCache | None = None,
    ) -> None:
        self.store = store
        self.max_size = max_size
        self.expiry = expiry
        self.hashes = hashes or HashCache()
        self.hooks: Hooks | None = None  # set by the app's event hooks when installed

    # -- reading state ----------------------------------------------------------------

    def get(self, upload_id: str, now: float | None = None) -> UploadState:
        """The upload's state; 404 when unknown, 410 (and reclaimed) when expired."""
        state = self.store.get_upload(upload_id)
        now = time.time() if now is None else now
        if state.expires is not None and state.expires <= now:
            with contextlib.suppress(BlobstreamError):
                self.store.delete_upload(upload_id)
            self.hashes.forget(upload_id)
            if self.hooks is not None:
                self.hooks.upload_event("upload.expired", state)
            raise Gone(f"the upload {upload_id} expired")
        return state

    def settle(self, upload_id: str) -> UploadState:
        """The state for HEAD: an upload whose every byte arrived but whose completion
        was cut short (a crash between the last PATCH and the commit) completes now,
        so a client that sees the full offset finds its blob."""
        state = self.get(upload_id)
        if (
            state.length is not None
            and state.length == state.offset
            and not state.partial
            and not state.parts
            and state.completed_key is None
            and not digest.required(state.metadata)
        ):
            self.complete(state)
        return state

    def key_of(self, state: UploadState) -> str | None:
        return None if state.partial else state.metadata.get("key")

    # -- creation ----------------------------------------------------------------------

    def check_length(self, length: int) -> None:
        if self.max_size is not None and length > self.max_size:
            raise TooLarge(f"Upload-Length {length} exceeds the limit of {self.max_size} bytes")

    def create(
        self, length: int | None, metadata: dict[str, str], *, partial: bool = False
    ) -> UploadState:
        """A new upload (creation, creation-defer-length, concatenation ``partial``)."""
        if length is not None:
            self.check_length(length)
        upload_id = uuid.uuid4().hex
        metadata = self._named(upload_id, metadata, partial)
        if self.hooks is not None and not partial:
            self.hooks.room(metadata["key"], length)
        now = time.time()
        state = UploadState(
            upload_id=upload_id,
            offset=0,
            length=length,
            metadata=metadata,
            created=now,
            expires=now + self.expiry,
            partial=partial,
        )
        state = self.store.create_upload(state)
        if self.hooks is not None:
            self.hooks.upload_event("upload.created", state)
        if length == 0 and not partial:
            self.complete(state)
        return state

    def create_final(self, part_ids: list[str], metadata: dict[str, str]) -> UploadState:
        """A final upload joining finished partial uploads, completed at once."""
        total = 0
        for part_id in part_ids:
            try:
                part = self.get(part_id)
            except (NotFound, Gone) as exc:
                raise InvalidHeader(f"Upload-Concat: no partial upload {part_id}") from exc
            if not part.partial:
                raise InvalidHeader(f"Upload-Concat: {part_id} is not a partial upload")
            if part.length is None or part.offset != part.length:
                raise InvalidHeader(f"Upload-Concat: the partial upload {part_id} is unfinished")
            total += part.length
        self.check_length(total)
        upload_id = uuid.uuid4().hex
        now = time.time()
        state = UploadState(
            upload_id=upload_id,
            offset=total,
            length=total,
            metadata=self._named(upload_id, metadata, False),
            created=now,
            expires=now + self.expiry,
            parts=tuple(part_ids),
        )
        state = self.store.create_upload(state)
        self.complete(state)
        # tus 1.0 concatenation: partial uploads may be deleted once concatenated.
        for part_id in part_ids:
            with contextlib.suppress(BlobstreamError):
                self.store.delete_upload(part_id)
            self.hashes.forget(part_id)
        return state

    def _named(self, upload_id: str, metadata: dict[str, str], partial: bool) -> dict[str, str]:
        """Check the blob's key and type now; with no key, the upload's id names it."""
        metadata = dict(metadata)
        if partial:
            return metadata
        metadata["key"] = validate_key(metadata.get("key") or upload_id)
        for name in ("filetype", "type"):
            if name in metadata:
                media_type(metadata[name])
        return metadata

    # -- appending ----------------------------------------------------------------------

    def append(
        self, upload_id: str, offset: int, chunk: Chunk, *, length: int | None = None
    ) -> UploadState:
        """Append a PATCH body at ``offset``; complete the upload when its last byte arrives."""
        state = self.get(upload_id)
        if state.parts:
            raise Forbidden("a final upload of a concatenation takes no PATCH")
        if offset != state.offset:
            raise Conflict(f"Upload-Offset {offset} is not the upload's offset {state.offset}")
        if length is not None and length != state.length:
            if state.length is not None:
                raise InvalidHeader("Upload-Length cannot change once it is set")
            if length < state.offset:
                raise InvalidHeader(f"Upload-Length {length} is below the offset {state.offset}")
            self.check_length(length)
            if self.hooks is not None and not state.partial:
                self.hooks.room(state.metadata.get("key") or upload_id, length)
            state.length = length
        remaining = self._remaining(state)
        if chunk.length is not None and remaining is not None and chunk.length > remaining:
            raise TooLarge(
                f"the chunk of {chunk.length} bytes passes the upload's length by "
                f"{chunk.length - remaining} bytes"
            )
        if state.completed_key is None:
            state.expires = time.time() + self.expiry
            self.store.update_upload(state)
        if chunk.length != 0 and remaining != 0:
            state.offset = self._write(state, offset, chunk, remaining)
            if self.hooks is not None:
                self.hooks.upload_event("upload.progress", state)
        elif chunk.length is None and chunk.source.read(1):
            raise TooLarge("the upload already has all its bytes")
        if state.length == state.offset and not state.partial and state.completed_key is None:
            expected = digest.sent_sha256(chunk.repr_digest, chunk.source)
            if expected is not None or not digest.required(state.metadata):
                self.complete(state, expected)
        return state

    def _remaining(self, state: UploadState) -> int | None:
        if state.length is not None:
            return state.length - state.offset
        if self.max_size is not None:
            return self.max_size - state.offset
        return None

    def _write(self, state: UploadState, offset: int, chunk: Chunk, limit: int | None) -> int:
        live = self.hashes.resume(state.upload_id, offset)
        check = None
        if chunk.checksum is not None:
            check = hashlib.new(chunk.checksum[0], usedforsecurity=False)
        appender = self.store.append_upload(state.upload_id, offset)
        sink = _Sink(appender)
        counted = _Counted(live) if live is not None else None
        hashers: dict[str, Hasher] = {}
        if counted is not None:
            hashers["sha256"] = counted
        if check is not None:
            hashers["check"] = check
        try:
            try:
                copy_stream(chunk.source, sink, length=chunk.length, limit=limit, hashers=hashers)
            except TooLarge:
                appender.discard()
                raise
            except BaseException as exc:
                # Bytes that arrived before a disconnect are kept, unless a checksum
                # was promised: an unverified chunk is dropped (checksum extension).
                if check is not None or not isinstance(exc, IncompleteBody | BlobstreamError):
                    appender.discard()
                raise
            if check is not None and chunk.checksum is not None:
                if not hmac.compare_digest(check.digest(), chunk.checksum[1]):
                    appender.discard()
                    raise ChecksumMismatch(
                        f"the chunk does not match its {chunk.checksum[0]} Upload-Checksum"
                    )
        finally:
            new_offset = appender.close()
            stored = new_offset - offset
            if counted is not None and counted.count == sink.written == stored:
                self.hashes.put(state.upload_id, new_offset, counted.hasher)
        return new_offset

    # -- completion, termination, expiry ----------------------------------------------------

    def complete(self, state: UploadState, expected: bytes | None = None) -> BlobInfo:
        """The last byte arrived: the upload becomes its blob, atomically, SHA-256 recorded.

        With ``expected`` (the client's ``Repr-Digest``) a different SHA-256 discards it."""
        key = state.metadata.get("key") or state.upload_id
        assert state.length is not None
        sha256 = self.hashes.sha256(self.store, state)
        if expected is not None and not hmac.compare_digest(bytes.fromhex(sha256), expected):
            with contextlib.suppress(BlobstreamError):
                self.store.delete_upload(state.upload_id)
            self.hashes.forget(state.upload_id)
            raise DigestMismatch(
                "the upload's SHA-256 does not match its Repr-Digest: nothing was stored "
                "and the upload is discarded"
            )
        content_type = media_type(
            state.metadata.get("filetype") or state.metadata.get("type") or DEFAULT_CONTENT_TYPE
        )
        if self.hooks is not None:
            try:
                self.hooks.before_commit(key, state.length, sha256, content_type)
            except Vetoed:
                # The vetoed bytes go: the upload cannot become this blob again.
                with contextlib.suppress(BlobstreamError):
                    self.store.delete_upload(state.upload_id)
                self.hashes.forget(state.upload_id)
                raise
        info, _created = self.store.complete_upload(
            state.upload_id, key, Commit(state.length, sha256, content_type)
        )
        state.completed_key = key
        self.hashes.forget(state.upload_id)
        if self.hooks is not None:
            self.hooks.forget_upload(state.upload_id)
            self.hooks.committed(info)
        return info

    def terminate(self, upload_id: str) -> None:
        """termination: drop the upload's state and bytes (a finished blob stays)."""
        self.get(upload_id)
        self.store.delete_upload(upload_id)
        self.hashes.forget(upload_id)

    def remove_expired(self, now: float | None = None) -> int:
        """Delete the uploads whose time is up; busy ones wait for the next round."""
        removed = 0
        for upload_id in list(self.store.expired_uploads(time.time() if now is None else now)):
            try:
                state = self.store.get_upload(upload_id) if self.hooks is not None else None
                self.store.delete_upload(upload_id)
            except (Locked, NotFound):
                continue
            self.hashes.forget(upload_id)
            if self.hooks is not None and state is not None:
                self.hooks.upload_event("upload.expired", state)
            removed += 1
        return removed
