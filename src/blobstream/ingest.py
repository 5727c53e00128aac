"""Store one body under one key: stream, hash, verify, commit — or leave nothing.

This is the write path every entry point shares (PUT, POST, multipart parts,
tus completion of a single-piece upload): it owns the writer and aborts it on
any failure, so a disconnect, a size limit or a digest mismatch leaves the
previous version intact and no garbage behind.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from blobstream.errors import DigestMismatch
from blobstream.events.hub import current_hooks
from blobstream.storage.protocol import ALWAYS, BlobInfo, BlobStore, Commit, WriteCondition
from blobstream.streams import CopyResult, Readable, copy_stream, new_hashers

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Expected:
    """Digests the client asked to be checked before the commit (raw bytes)."""

    sha256: bytes | None = None
    md5: bytes | None = None


def verify(result: CopyResult, expected: Expected) -> None:
    """Raise DigestMismatch unless every expected digest matches what was received."""
    for name, want in (("sha256", expected.sha256), ("md5", expected.md5)):
        if want is not None and not hmac.compare_digest(result.digest(name), want):
            raise DigestMismatch(f"the body's {name} does not match the digest that was sent")


def store_stream(
    store: BlobStore,
    key: str,
    source: Readable,
    *,
    length: int | None = None,
    limit: int | None = None,
    content_type: str = DEFAULT_CONTENT_TYPE,
    condition: WriteCondition = ALWAYS,
    expected: Expected = Expected(),
) -> tuple[BlobInfo, bool]:
    """Stream ``source`` into a new version of ``key``; return it and whether the key is new.

    The app's hooks (quotas, the pre-commit veto, events) are asked on the way."""
    hooks = current_hooks()
    if hooks is not None:
        source = hooks.before_write(key, source, length)
    hashers = new_hashers(md5=expected.md5 is not None)
    writer = store.begin_write(key)
    try:
        result = copy_stream(source, writer, length=length, limit=limit, hashers=hashers)
        verify(result, expected)
        if hooks is not None:
            hooks.before_commit(key, result.size, result.sha256, content_type)
        stored = writer.commit(Commit(result.size, result.sha256, content_type, condition))
    except BaseException:
        writer.abort()
        raise
    if hooks is not None:
        hooks.committed(stored[0])
    return stored
