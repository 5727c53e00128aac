"""Server-side copy and move: ``PUT /blobs/{dst}`` with ``Blobstream-Copy-Source``.

The source is named by its path, ``/blobs/{src}`` with the key percent-encoded
as in any URL. ``Blobstream-Copy-Source-If-Match``, ``-If-None-Match``,
``-If-Modified-Since`` and ``-If-Unmodified-Since`` are checked against the
source (S3's ``x-amz-copy-source-if-*``: any that fails is a 412) and the copy
is pinned to the version they were checked against; ``If-Match`` and
``If-None-Match`` apply to the destination as for any PUT.
``Blobstream-Copy-Mode: move`` removes the source once the destination is
committed. The bytes never pass through the client, and on backends that copy
inside the store not through the node either (:mod:`blobstream.storage.copy`).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes, urlsplit

from flask import Response, jsonify, request, url_for

from blobstream.errors import BadRequest, InvalidHeader, NotFound, PreconditionFailed
from blobstream.events.hub import current_hooks
from blobstream.http.conditionals import ConditionalHeaders, Outcome, Validators, evaluate
from blobstream.http.keys import validate_key
from blobstream.server.receive import write_condition
from blobstream.server.state import state
from blobstream.storage import copy
from blobstream.storage.protocol import BlobInfo

SOURCE = "Blobstream-Copy-Source"
MODE = "Blobstream-Copy-Mode"
MODES = ("copy", "move")


def source_key(value: str, base: str) -> str:
    """The key named by a ``Blobstream-Copy-Source`` path under ``base`` (``/blobs/``)."""
    path = urlsplit(value.strip(" \t")).path
    if not path.startswith(base):
        raise InvalidHeader(f"{SOURCE} must be a path {base}{{key}}")
    try:
        key = unquote_to_bytes(path[len(base) :]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidHeader(f"{SOURCE} does not name a UTF-8 key") from exc
    return validate_key(key)


def check_source(info: BlobInfo) -> None:
    """412 unless every ``Blobstream-Copy-Source-If-*`` holds for the source version."""

    def get(name: str) -> str | None:
        return request.headers.get(f"{SOURCE}-{name}")

    cond = ConditionalHeaders.from_headers(get)
    # Evaluated as for a read of the source; "not modified" is a failed precondition here.
    outcome = evaluate("GET", cond, Validators(info.etag, info.last_modified))
    if outcome is not Outcome.PROCEED:
        raise PreconditionFailed("a Blobstream-Copy-Source-If-* condition does not hold")


def copy_to(dst: str) -> Response:
    """Answer a copy or move PUT onto ``dst`` (already validated)."""
    mode = request.headers.get(MODE, "copy").strip(" \t").lower()
    if mode not in MODES:
        raise InvalidHeader(f"{MODE} must be copy or move")
    if request.content_length or "Transfer-Encoding" in request.headers:
        raise BadRequest("a copy takes no request body")
    base = url_for("blobs.blob", key="-")[:-1]
    src = source_key(request.headers[SOURCE], base)
    if src == dst:
        raise BadRequest("a blob cannot be copied or moved onto itself")
    store = state().store
    try:
        source = store.stat(src)
    except NotFound:
        raise NotFound(f"the copy source {src!r} does not exist") from None
    check_source(source)
    try:
        current: BlobInfo | None = store.stat(dst)
    except NotFound:
        current = None
    condition = write_condition(request, current)
    hooks = current_hooks()
    if hooks is not None:
        hooks.room(dst, source.size)
        hooks.before_commit(dst, source.size, source.sha256, source.content_type)
    action = copy.move_blob if mode == "move" else copy.copy_blob
    info, created = action(store, src, dst, source_etag=source.etag, condition=condition)
    if hooks is not None:
        hooks.committed(info)
        if mode == "move":
            hooks.deleted(source)
    response = jsonify(info.to_json())
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{info.etag}"'
    if created:
        response.headers["Location"] = url_for("blobs.blob", key=info.key)
    return response
