"""The tus 1.0 endpoints at ``/uploads`` (tus.io protocol 1.0.0): Flask glue only.

Headers are parsed by :mod:`blobstream.tus.headers`, the life cycle is
:class:`~blobstream.tus.service.TusService`; this module maps requests to both
and results to tus responses. Errors are problem+json with the tus status codes
(``409``, ``410``, ``412`` with ``Tus-Version``, ``415``, ``423``, ``460`` …).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import MethodNotAllowed

from blobstream.errors import BlobstreamError, InvalidHeader, UnsupportedMediaType
from blobstream.http.dates import format_http_date
from blobstream.server.receive import declared_length
from blobstream.server.wsgi_input import body_stream
from blobstream.storage.protocol import UploadState
from blobstream.tus import headers as h
from blobstream.tus.cors import cors_headers
from blobstream.tus.service import Chunk, TusService

EXTENSION_KEY = "blobstream_tus"
UPLOAD_ID_HEADER = "Blobstream-Upload-Id"

bp = Blueprint("tus", __name__)


def service() -> TusService:
    svc: TusService = current_app.extensions[EXTENSION_KEY]
    return svc


def _method() -> str:
    return h.effective_method(request.method, request.headers.get("X-HTTP-Method-Override"))


@bp.before_request
def _check_version() -> None:
    if _method() != "OPTIONS":
        h.check_tus_resumable(request.headers.get("Tus-Resumable"))


@bp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = h.TUS_VERSION
    response.headers.setdefault("Cache-Control", "no-store")
    preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
    response.headers.update(cors_headers(request.headers.get("Origin"), preflight))
    if response.status_code == 460:
        response.status = "460 Checksum Mismatch"
    return response


def _empty(status: int) -> Response:
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response


def _options() -> Response:
    response = _empty(204)
    response.headers["Tus-Version"] = h.TUS_VERSION
    response.headers["Tus-Extension"] = ",".join(h.EXTENSIONS)
    response.headers["Tus-Checksum-Algorithm"] = ",".join(h.CHECKSUM_ALGORITHMS)
    if service().max_size is not None:
        response.headers["Tus-Max-Size"] = str(service().max_size)
    return response


def _location(upload_id: str) -> str:
    return url_for("tus.upload", upload_id=upload_id, _external=True)


def _state_headers(response: Response, state: UploadState) -> Response:
    response.headers["Upload-Offset"] = str(state.offset)
    response.headers[UPLOAD_ID_HEADER] = state.upload_id  # the id alone, for OpenAPI links
    if state.expires is not None and state.completed_key is None:
        response.headers["Upload-Expires"] = format_http_date(state.expires)
    key = service().key_of(state)
    if key is not None:
        response.headers["Blobstream-Key"] = h.key_header(key)
    return response


def _chunk(required: bool) -> Chunk | None:
    """The request body as a chunk to append, or None when a POST carries none."""
    length = declared_length(request, None)
    if not required and length == 0:
        return None
    if request.mimetype != h.OFFSET_CONTENT_TYPE:
        raise UnsupportedMediaType(f"a tus chunk must be sent as {h.OFFSET_CONTENT_TYPE}")
    checksum = h.parse_checksum_header(request.headers.get("Upload-Checksum"))
    return Chunk(body_stream(request), length, checksum, request.headers.get("Repr-Digest"))


@bp.route("/uploads", methods=["POST", "OPTIONS"], strict_slashes=False)
def uploads() -> Response:
    method = _method()
    if method == "OPTIONS":
        return _options()
    if method != "POST":
        raise MethodNotAllowed(valid_methods=["POST", "OPTIONS"])
    return _create()


def _create() -> Response:
    svc = service()
    metadata = h.parse_metadata(request.headers.get("Upload-Metadata"))
    concat = h.parse_concat(request.headers.get("Upload-Concat"))
    length = h.parse_number(request.headers.get("Upload-Length"), "Upload-Length")
    defer = h.parse_defer_length(request.headers.get("Upload-Defer-Length"))
    if concat is not None and not concat.partial:
        if length is not None or defer:
            raise InvalidHeader("a final upload takes its length from its parts")
        base = url_for("tus.uploads")
        parts = [h.upload_id_from_url(url, base) for url in concat.parts]
        state = svc.create_final(parts, metadata)
        response = _state_headers(_empty(201), state)
        response.headers["Location"] = _location(state.upload_id)
        return response
    if (length is None) == (not defer):
        raise InvalidHeader("send exactly one of Upload-Length and Upload-Defer-Length: 1")
    if length is not None:
        svc.check_length(length)
    chunk = _chunk(required=False)
    state = svc.create(length, metadata, partial=concat is not None)
    if chunk is not None:
        try:
            state = svc.append(state.upload_id, 0, chunk)
        except BlobstreamError as exc:
            exc.headers = {**exc.headers, "Location": _location(state.upload_id)}
            raise
    response = _state_headers(_empty(201), state)
    response.headers["Location"] = _location(state.upload_id)
    return response


@bp.route("/uploads/<upload_id>", methods=["HEAD", "PATCH", "DELETE", "POST", "OPTIONS"])
def upload(upload_id: str) -> Response:
    method = _method()
    if method == "OPTIONS":
        return _options()
    if not h.is_upload_id(upload_id):
        from blobstream.errors import NotFound

        raise NotFound(f"no upload has the id {upload_id!r}")
    if method == "HEAD":
        return _head(upload_id)
    if method == "PATCH":
        return _patch(upload_id)
    if method == "DELETE":
        service().terminate(upload_id)
        return _empty(204)
    raise MethodNotAllowed(valid_methods=["HEAD", "PATCH", "DELETE", "OPTIONS"])


def _head(upload_id: str) -> Response:
    state = service().settle(upload_id)
    response = _state_headers(_empty(200), state)
    if state.length is None:
        response.headers["Upload-Defer-Length"] = "1"
    else:
        response.headers["Upload-Length"] = str(state.length)
    if state.metadata:
        response.headers["Upload-Metadata"] = h.format_metadata(state.metadata)
    if state.partial:
        response.headers["Upload-Concat"] = "partial"
    elif state.parts:
        urls = " ".join(url_for("tus.upload", upload_id=p) for p in state.parts)
        response.headers["Upload-Concat"] = f"final;{urls}"
    return response


def _patch(upload_id: str) -> Response:
    offset = h.parse_number(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset is None:
        raise InvalidHeader("a PATCH needs Upload-Offset")
    length = h.parse_number(request.headers.get("Upload-Length"), "Upload-Length")
    chunk = _chunk(required=True)
    assert chunk is not None
    state = service().append(upload_id, offset, chunk, length=length)
    return _state_headers(_empty(204), state)
