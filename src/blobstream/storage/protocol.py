"""What a storage backend is: small protocols, one per capability (tusd's datastore.go).

A backend implements :class:`BlobStore` (write a new version atomically, read a
consistent version, stat, delete, list by prefix after a cursor). Resumable
uploads need :class:`UploadStore` as well; the server discovers it with
``isinstance(store, UploadStore)`` and advertises tus only when it is there.
Backends raise only the errors in :mod:`blobstream.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from blobstream.timestamps import format_iso

Buffer: TypeAlias = bytes | bytearray | memoryview


@dataclass(frozen=True)
class BlobInfo:
    """One committed version of a blob. ``etag`` is opaque and unquoted."""

    key: str
    size: int
    etag: str
    sha256: str
    content_type: str
    last_modified: float
    # What a dialect records with the version besides the above (S3: its ETag, user
    # metadata, checksums); kept by every backend, copied with the blob.
    meta: Mapping[str, str] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "etag": f'"{self.etag}"',
            "sha256": self.sha256,
            "content_type": self.content_type,
            "last_modified": format_iso(self.last_modified),
        }


@dataclass(frozen=True)
class WriteCondition:
    """A precondition checked atomically with the commit (RFC 9110 §13.1.1-2)."""

    if_match: tuple[str, ...] | None = None  # one of these etags must be current; ("*",) = exists
    if_none_match: tuple[str, ...] | None = None  # none may be current; ("*",) = must not exist

    def check(self, current: BlobInfo | None) -> None:
        """Raise PreconditionFailed unless the condition holds for ``current``."""
        from blobstream.errors import PreconditionFailed

        if self.if_match is not None:
            if current is None:
                raise PreconditionFailed("If-Match: the blob does not exist")
            if "*" not in self.if_match and current.etag not in self.if_match:
                raise PreconditionFailed("If-Match: the blob has another version")
        if self.if_none_match is not None and current is not None:
            if "*" in self.if_none_match:
                raise PreconditionFailed("If-None-Match: *: the blob already exists")
            if current.etag in self.if_none_match:
                raise PreconditionFailed("If-None-Match: the blob has that version")


ALWAYS = WriteCondition()


@dataclass(frozen=True)
class Commit:
    """What the caller learned while streaming, recorded with the new version."""

    size: int
    sha256: str
    content_type: str = "application/octet-stream"
    condition: WriteCondition = ALWAYS
    meta: Mapping[str, str] = field(default_factory=dict)


class BlobWriter(Protocol):
    """A new version being written; invisible until :meth:`commit`.

    Exactly one of ``commit`` or ``abort`` ends it; ``abort`` after a failed
    ``commit`` is allowed and removes everything that was written.
    """

    def write(self, data: Buffer) -> None: ...

    def commit(self, commit: Commit) -> tuple[BlobInfo, bool]:
        """Make the version visible atomically; return it and whether the key is new."""
        ...

    def abort(self) -> None: ...


class BlobReader(Protocol):
    """An open, consistent version: it keeps reading the same bytes even if replaced."""

    info: BlobInfo

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """The blob capability every backend has."""

    url: str

    def begin_write(self, key: str) -> BlobWriter: ...

    def open(self, key: str) -> BlobReader:
        """Open the current version; raises NotFound."""
        ...

    def stat(self, key: str) -> BlobInfo:
        """Raises NotFound."""
        ...

    def delete(self, key: str, condition: WriteCondition = ALWAYS) -> BlobInfo:
        """Remove the key and return what was removed; raises NotFound/PreconditionFailed."""
        ...

    def list(self, prefix: str = "", after: str = "", limit: int = 1000) -> list[BlobInfo]:
        """Up to ``limit`` blobs with ``prefix``, keys greater than ``after``, in key order."""
        ...

    def ping(self) -> None:
        """Raise StorageUnavailable when the store does not answer."""
        ...

    def close(self) -> None: ...


@dataclass
class UploadState:
    """The persisted state of a resumable upload (tus 1.0), as any node sees it."""

    upload_id: str
    offset: int
    length: int | None  # None while the length is deferred
    metadata: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    expires: float | None = None
    partial: bool = False  # tus concatenation: a partial upload
    parts: tuple[str, ...] = ()  # tus concatenation: a final upload of these partials
    completed_key: str | None = None  # set once the upload became a blob


@runtime_checkable
class UploadStore(Protocol):
    """Resumable-upload state and bytes kept in the store, so any node continues any upload."""

    def create_upload(self, state: UploadState) -> UploadState: ...

    def get_upload(self, upload_id: str) -> UploadState:
        """Raises NotFound."""
        ...

    def update_upload(self, state: UploadState) -> None:
        """Persist the metadata fields (length, expiry, completed key); not the offset."""
        ...

    def append_upload(self, upload_id: str, offset: int) -> UploadAppender:
        """Lock the upload for appending at ``offset``: Conflict if the offset is not
        the stored one, Locked if another request is appending."""
        ...

    def read_upload(self, upload_id: str, start: int = 0) -> Iterator[bytes]:
        """The upload's bytes from ``start``, in pieces of bounded size."""
        ...

    def complete_upload(self, upload_id: str, key: str, commit: Commit) -> tuple[BlobInfo, bool]:
        """Turn the upload's bytes (or its parts, concatenated) into the blob atomically."""
        ...

    def delete_upload(self, upload_id: str) -> None: ...

    def expired_uploads(self, now: float) -> Iterator[str]: ...


@runtime_checkable
class UploadListing(Protocol):
    """Uploads by id prefix, in id order, paged: S3 multipart parts and uploads."""

    def list_uploads(self, prefix: str, after: str = "", limit: int = 1000) -> list[UploadState]:
        """Up to ``limit`` uploads whose id starts with ``prefix`` and is greater than
        ``after``, in id order."""
        ...


class UploadAppender(Protocol):
    """Appends to a locked upload; ``close`` persists the new offset (even after an error)."""

    offset: int

    def write(self, data: Buffer) -> None: ...

    def discard(self) -> None:
        """Drop what this appender wrote (a failed checksum); the offset stays."""
        ...

    def close(self) -> int:
        """Make the appended bytes durable, record and return the new offset, unlock."""
        ...


@runtime_checkable
class CopyStore(Protocol):
    """Copy a blob inside the store: the bytes never pass through the node."""

    def copy_blob(
        self,
        src_key: str,
        dst_key: str,
        *,
        source_etag: str | None,
        condition: WriteCondition,
        meta: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> tuple[BlobInfo, bool]:
        """Publish the current version of ``src_key`` (which must have ``source_etag``
        when given) as ``dst_key`` under ``condition``; NotFound/PreconditionFailed.
        ``meta`` and ``content_type``, when given, replace the source's (a copy onto
        itself then changes the metadata only)."""
        ...


@runtime_checkable
class MoveStore(Protocol):
    """Rename a blob atomically: the destination appears as the source disappears."""

    def move_blob(
        self, src_key: str, dst_key: str, *, source_etag: str | None, condition: WriteCondition
    ) -> tuple[BlobInfo, bool]: ...
