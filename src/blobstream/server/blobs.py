"""The ``/blobs`` REST API (SPEC "HTTP API"): PUT, POST, GET, HEAD, DELETE and listing."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, jsonify, request, url_for

from blobstream.errors import BadRequest, InvalidHeader, InvalidKey, NotFound
from blobstream.events.hub import current_hooks
from blobstream.http.keys import validate_key, validate_prefix
from blobstream.ingest import store_stream
from blobstream.server.multipart import store_multipart
from blobstream.server.receive import (
    content_type_of,
    declared_length,
    expected_of,
    write_condition,
)
from blobstream.server.responses import send_stream
from blobstream.server.state import state
from blobstream.server.wsgi_input import body_stream
from blobstream.storage.protocol import BlobInfo, WriteCondition

MAX_LIST_LIMIT = 10000
DEFAULT_LIST_LIMIT = 1000

bp = Blueprint("blobs", __name__)


@bp.before_request
def _require_utf8() -> None:
    """Keys and listing arguments are UTF-8: Werkzeug would turn bad bytes into U+FFFD,
    a different (valid) key, so they are checked on the raw path and query."""
    environ = request.environ
    try:
        environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
        query = environ.get("QUERY_STRING", "").replace("+", " ")
        unquote_to_bytes(query).decode("utf-8")
    except UnicodeError as exc:
        raise InvalidKey("the key or a query argument is not valid UTF-8") from exc


def _stored(info: BlobInfo, created: bool) -> Response:
    response = jsonify(info.to_json())
    response.status_code = 201 if created else 200
    response.headers["ETag"] = f'"{info.etag}"'
    if created:
        response.headers["Location"] = url_for("blobs.blob", key=info.key)
    return response


def _current(key: str) -> BlobInfo | None:
    try:
        return state().store.stat(key)
    except NotFound:
        return None


def _put_body(key: str, condition: WriteCondition) -> tuple[BlobInfo, bool]:
    s = state()
    length = declared_length(request, s.max_size)
    content_type = content_type_of(request)
    expected = expected_of(request)
    return store_stream(
        s.store,
        key,
        body_stream(request),
        length=length,
        limit=s.max_size,
        content_type=content_type,
        condition=condition,
        expected=expected,
    )


@bp.put("/blobs/<blobkey:key>")
def put_blob(key: str) -> Response:
    key = validate_key(key)
    if "Blobstream-Copy-Source" in request.headers:
        from blobstream.server.copy import copy_to

        return copy_to(key)
    condition = write_condition(request, _current(key))
    return _stored(*_put_body(key, condition))


@bp.post("/blobs")
@bp.post("/blobs/<blobkey:prefix>")
def post_blob(prefix: str = "") -> Response:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    prefix = validate_prefix(prefix)
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        declared_length(request, None)  # refuses what the form reader could not decode
        stored = store_multipart(state().store, prefix, request, state().max_size)
        response = jsonify({"blobs": [info.to_json() for info, _ in stored]})
        response.status_code = 201
        return response
    key = validate_key(prefix + uuid.uuid4().hex)
    return _stored(*_put_body(key, WriteCondition(if_none_match=("*",))))


@bp.route("/blobs/<blobkey:key>", methods=["GET", "HEAD"], endpoint="blob")
def get_blob(key: str) -> Response:
    key = validate_key(key)
    if request.method == "GET":
        from blobstream.server.follow import follow_response

        followed = follow_response(key)
        if followed is not None:
            return followed
    download = request.args.get("download")
    reader = state().store.open(key)
    info = reader.info
    response = send_stream(
        reader,  # type: ignore[arg-type]
        size=info.size,
        etag=info.etag,
        last_modified=info.last_modified,
        content_type=info.content_type,
        sha256=info.sha256,
        download_name=(download or key.rsplit("/", 1)[-1]) if download is not None else None,
    )
    # A blob can be replaced at any time: caches may keep it but must revalidate
    # (a cheap 304 on the strong ETag) before reusing it.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.delete("/blobs/<blobkey:key>")
def delete_blob(key: str) -> Response:
    key = validate_key(key)
    current = state().store.stat(key)
    removed = state().store.delete(key, write_condition(request, current))
    hooks = current_hooks()
    if hooks is not None:
        hooks.deleted(removed)
    return Response(status=204)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


@bp.get("/blobs")
def list_blobs() -> Response:
    prefix = validate_prefix(request.args.get("prefix", ""))
    after = request.args.get("after", "")
    if len(after.encode("utf-8", "surrogatepass")) > 4096:
        raise InvalidHeader("after is too long to be a key")
    limit = _int_arg("limit", DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT)
    blobs = state().store.list(prefix, after, limit)
    body: dict[str, Any] = {
        "blobs": [info.to_json() for info in blobs],
        "next": blobs[-1].key if len(blobs) == limit else None,
    }
    return jsonify(body)
