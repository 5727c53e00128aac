"""Store one body under one key: stream, hash, verify, commit — or leave nothing.

This is the write path every entry point shares (PUT, POST, multipart parts,
tus completion of a single-piece upload): it owns the writer and aborts it on
any failure, so a disconnect, a size limit or a digest mismatch leaves the
previous version intact and no garbage behind. Digests come in the header
section or, for a chunked body, in its trailer section (RFC 9530 §2): both are
checked before the commit.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from blobstream.errors import BadRequest, DigestMismatch, InvalidHeader
from blobstream.events.hub import current_hooks
from blobstream.http.digests import expected_digests
from blobstream.storage.protocol import ALWAYS, BlobInfo, BlobStore, Commit, WriteCondition
from blobstream.streams import CopyResult, Hasher, Readable, copy_stream, new_hashers

# Called once the body arrived and its digests matched, before the commit: it may
# refuse (raise) and returns the metadata recorded with the version (a dialect's own).
Finish = Callable[[CopyResult], Mapping[str, str]]

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


def wants_md5(source: object) -> bool:
    """Whether ``source`` announced an MD5 trailer (``Trailer: Content-MD5``): hash it too."""
    return "content-md5" in getattr(source, "announced", ())


def verify_trailers(result: CopyResult, source: object) -> None:
    """Check the digests a chunked body sent after its content (RFC 9530 §2, RFC 9110 §6.5).

    ``source`` is the body stream, read to its end. Its ``trailers`` may carry
    ``Content-Digest`` and ``Content-MD5``, checked like the same header fields.
    A digest announced in ``Trailer`` but not received, or one that the server
    cannot see, is a 400: a body is never stored unchecked against a digest sent for it.
    """
    if not hasattr(source, "trailers"):
        return
    trailers = getattr(source, "trailers", None)
    announced: frozenset[str] = getattr(source, "announced", frozenset())
    digest_names = {"content-digest", "content-md5"}
    if trailers is None:
        if announced & digest_names:
            raise BadRequest(
                "this server cannot read trailer fields: send Content-Digest in the header section"
            )
        return
    fields: dict[str, list[str]] = {}
    for name, value in trailers:
        if name in digest_names:
            fields.setdefault(name, []).append(value)
    missing = sorted((announced & digest_names) - fields.keys())
    if missing:
        raise BadRequest(f"the trailer section lacks the announced {', '.join(missing)}")
    if not fields:
        return
    if len(fields.get("content-md5", ())) > 1:
        raise InvalidHeader("Content-MD5 appears more than once in the trailer section")
    md5 = fields.get("content-md5", [None])[0]
    digest = ", ".join(fields["content-digest"]) if "content-digest" in fields else None
    parsed = expected_digests(md5, digest)
    if parsed.md5 is not None and "md5" not in result.hashers:
        raise BadRequest(
            "an MD5 digest in the trailer section must be announced with Trailer: Content-MD5"
        )
    verify(result, Expected(sha256=parsed.sha256, md5=parsed.md5))


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
    extra_hashers: Mapping[str, Hasher] | None = None,
    finish: Finish | None = None,
) -> tuple[BlobInfo, bool]:
    """Stream ``source`` into a new version of ``key``; return it and whether the key is new.

    The app's hooks (quotas, the pre-commit veto, events) are asked on the way.
    ``extra_hashers`` see every byte too; ``finish`` checks them before the commit
    and gives the version's metadata."""
    body = source  # the request's own stream: its trailers are read after the copy
    hooks = current_hooks()
    if hooks is not None:
        source = hooks.before_write(key, source, length)
    hashers = new_hashers(md5=expected.md5 is not None or wants_md5(body))
    if extra_hashers:
        hashers.update(extra_hashers)
    writer = store.begin_write(key)
    try:
        result = copy_stream(source, writer, length=length, limit=limit, hashers=hashers)
        verify(result, expected)
        verify_trailers(result, body)
        meta = finish(result) if finish is not None else {}
        if hooks is not None:
            hooks.before_commit(key, result.size, result.sha256, content_type)
        stored = writer.commit(Commit(result.size, result.sha256, content_type, condition, meta))
    except BaseException:
        writer.abort()
        raise
    if hooks is not None:
        hooks.committed(stored[0])
    return stored
