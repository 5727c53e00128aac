"""Download while uploading: ``GET /blobs/{key}?follow=…`` or ``Blobstream-Follow: …``.

Only on explicit request (by default a blob is invisible until its last byte
is committed). The value is the id of the resumable upload (tus or IETF) to
follow, or ``1`` to follow the newest unfinished upload that names ``key``,
found by looking through the store's open uploads (at most
``FOLLOW_SCAN_LIMIT`` of them: pass the id when there may be many). The answer
is a chunked ``200`` that streams the bytes received so far and then polls
the upload's state, sending new bytes as they arrive, until the upload
completes; the rest comes from the committed blob, whose SHA-256 is checked
against every byte sent. If the upload is terminated or expires, or the time
limit (``BLOBSTREAM_FOLLOW_TIMEOUT``, seconds, default 3600) passes, the
response is cut short (no final chunk), so no client takes it for whole.
Without an unfinished upload the blob is served as by a plain GET.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterator

from flask import Response, request

from blobstream.errors import BlobstreamError, InvalidHeader, NotFound
from blobstream.server.state import state
from blobstream.storage.protocol import BlobStore, UploadState, UploadStore

log = logging.getLogger("blobstream.follow")

POLL = 0.05
FOLLOW_SCAN_LIMIT = 1000
DEFAULT_TIMEOUT = 3600.0
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_YES = ("1", "true", "yes")


class FollowAborted(Exception):
    """The followed upload ended without becoming the blob: the response is cut short."""


def follow_value() -> str | None:
    """The opt-in: the query's ``follow`` or the ``Blobstream-Follow`` header, or None."""
    value = request.args.get("follow")
    if value is None:
        value = request.headers.get("Blobstream-Follow")
    if value is None:
        return None
    value = value.strip(" \t").lower()
    if value in ("0", "false", "no", ""):
        return None
    if value not in _YES and not _UPLOAD_ID.fullmatch(value):
        raise InvalidHeader("follow takes 1 or the id of an upload")
    return value


def _open_upload(uploads: UploadStore, key: str, value: str) -> UploadState | None:
    """The unfinished upload of ``key`` to follow, or None when there is none."""
    if value not in _YES:
        try:
            found = uploads.get_upload(value)
        except NotFound:
            raise NotFound(f"no upload has the id {value!r}") from None
        if found.metadata.get("key") != key or found.partial:
            raise NotFound(f"the upload {value} is not an upload of {key!r}")
        return None if found.completed_key is not None else found
    best: UploadState | None = None
    far = time.time() + 100 * 365 * 86400.0
    for count, upload_id in enumerate(uploads.expired_uploads(far)):
        if count >= FOLLOW_SCAN_LIMIT:
            break
        try:
            candidate = uploads.get_upload(upload_id)
        except NotFound:
            continue
        if (
            candidate.metadata.get("key") == key
            and not candidate.partial
            and candidate.completed_key is None
            and (best is None or candidate.created > best.created)
        ):
            best = candidate
    return best


def follow_response(key: str) -> Response | None:
    """A following response for ``key``, or None to serve the blob as usual."""
    value = follow_value()
    store = state().store
    if value is None or not isinstance(store, UploadStore):
        return None
    upload = _open_upload(store, key, value)
    if upload is None:
        return None
    configured = state().config.get("follow_timeout") or os.environ.get("BLOBSTREAM_FOLLOW_TIMEOUT")
    timeout = float(configured or DEFAULT_TIMEOUT)
    content_type = (
        upload.metadata.get("filetype") or upload.metadata.get("type") or "application/octet-stream"
    )
    response = Response(_follow(store, upload.upload_id, time.monotonic() + timeout), mimetype=None)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    response.headers["Blobstream-Upload"] = upload.upload_id
    if upload.length is not None:
        response.headers["Blobstream-Upload-Length"] = str(upload.length)
    return response


def _follow(store: BlobStore, upload_id: str, deadline: float) -> Iterator[bytes]:
    """The upload's bytes as they arrive, then the rest of the committed blob."""
    assert isinstance(store, UploadStore)
    sent = 0
    digest = hashlib.sha256()
    while True:
        try:
            upload = store.get_upload(upload_id)
        except NotFound:
            raise FollowAborted(f"the upload {upload_id} was terminated") from None
        if upload.completed_key is not None:
            yield from _finish(store, upload.completed_key, sent, digest)
            return
        if upload.expires is not None and upload.expires <= time.time():
            raise FollowAborted(f"the upload {upload_id} expired")
        if upload.offset > sent:
            try:
                for piece in store.read_upload(upload_id, sent):
                    digest.update(piece)
                    sent += len(piece)
                    yield piece
            except (BlobstreamError, OSError):
                pass  # completed or terminated meanwhile: the state says which
            continue
        if time.monotonic() > deadline:
            raise FollowAborted(f"following the upload {upload_id} took too long")
        time.sleep(POLL)


def _finish(store: BlobStore, key: str, sent: int, digest: hashlib._Hash) -> Iterator[bytes]:
    """The committed blob from ``sent`` on, provided the bytes already sent are its own."""
    reader = store.open(key)
    try:
        if reader.info.size < sent:
            raise FollowAborted(f"the blob {key!r} is shorter than what was sent")
        reader.seek(sent)
        while piece := reader.read(1 << 20):
            digest.update(piece)
            yield piece
    finally:
        reader.close()
    if digest.hexdigest() != reader.info.sha256:
        raise FollowAborted(f"the blob {key!r} is not the version that was followed")
