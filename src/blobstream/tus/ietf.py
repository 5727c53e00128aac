"""IETF resumable uploads (draft-ietf-httpbis-resumable-upload) on the tus upload state.

Upload creation is ``POST /uploads/ietf/{key}`` (the blob's key in the path, as
for ``PUT /blobs/{key}``) or ``POST /uploads/ietf`` (the key from a tus-style
``Upload-Metadata`` ``key`` if the client sends one, as tus-js-client does,
else the upload's id names the blob), with ``Upload-Complete`` and possibly the
first bytes. The upload resource is ``/uploads/{id}/ietf``: ``HEAD`` retrieves
the offset, ``PATCH`` appends at ``Upload-Offset`` (``application/partial-upload``
for interop version 6), ``DELETE`` cancels. The state is the tus upload's, kept
by :class:`~blobstream.tus.service.TusService` in the store, so any node
continues any upload and a reader may follow it (``server/follow.py``).

``104 Upload Resumption Supported`` is not sent: gunicorn gives a WSGI app no
way to send an informational response; the ``Location`` comes with the final
``201`` instead, which the draft allows and its clients accept.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request, url_for
from werkzeug.exceptions import MethodNotAllowed

from blobstream.errors import BlobstreamError, InvalidHeader, NotFound, UnsupportedMediaType
from blobstream.http.keys import validate_key
from blobstream.server.receive import declared_length
from blobstream.server.wsgi_input import body_stream
from blobstream.storage.protocol import UploadState
from blobstream.tus import headers as h
from blobstream.tus import ietf_headers as ih
from blobstream.tus.blueprint import UPLOAD_ID_HEADER
from blobstream.tus.service import Chunk, TusService

bp = Blueprint("ietf", __name__)
SERVICE_KEY = "blobstream_tus"


def service() -> TusService:
    svc: TusService = current_app.extensions[SERVICE_KEY]
    return svc


@bp.before_request
def _check_version() -> None:
    if request.method != "OPTIONS":
        ih.parse_interop_version(request.headers.get("Upload-Draft-Interop-Version"))


@bp.after_request
def _common_headers(response: Response) -> Response:
    version = request.headers.get("Upload-Draft-Interop-Version", "").strip(" \t")
    if version in ih.INTEROP_VERSIONS:
        response.headers["Upload-Draft-Interop-Version"] = version
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _state_response(status: int, state: UploadState) -> Response:
    response = Response(status=status)
    del response.headers["Content-Type"]
    response.headers["Upload-Offset"] = str(state.offset)
    response.headers[UPLOAD_ID_HEADER] = state.upload_id
    response.headers["Upload-Complete"] = ih.format_sf_boolean(state.completed_key is not None)
    if state.length is not None:
        response.headers["Upload-Length"] = str(state.length)
    key = service().key_of(state)
    if key is not None:
        response.headers["Blobstream-Key"] = h.key_header(key)
    return response


def _location(upload_id: str) -> str:
    return url_for("ietf.upload", upload_id=upload_id, _external=True)


def _complete_flag() -> bool:
    done = ih.parse_complete(
        request.headers.get("Upload-Complete"), request.headers.get("Upload-Incomplete")
    )
    if done is None:
        raise InvalidHeader("send Upload-Complete: ?1 (the body ends the upload) or ?0")
    return done


def _finish(state: UploadState) -> UploadState:
    """``Upload-Complete: ?1`` on a body of unknown length: what arrived is all there is."""
    if state.length is None:
        state.length = state.offset
        service().store.update_upload(state)
        service().complete(state)
    elif state.offset != state.length:
        raise InvalidHeader(
            f"Upload-Complete: ?1 but the upload has {state.offset} of {state.length} bytes"
        )
    return state


def _append(state: UploadState, offset: int, done: bool) -> UploadState:
    body = declared_length(request, None)
    length = None
    if done and body is not None:
        length = offset + body
        if state.length is not None and length != state.length:
            raise InvalidHeader(
                f"Upload-Complete: ?1 with {body} bytes at {offset} does not reach "
                f"the upload's length {state.length}"
            )
    state = service().append(
        state.upload_id, offset, Chunk(body_stream(request), body), length=length
    )
    return _finish(state) if done else state


@bp.post("/uploads/ietf", strict_slashes=False)
@bp.post("/uploads/ietf/<blobkey:key>")
def create(key: str | None = None) -> Response:
    """Upload creation (draft §4.2), with the first bytes when the body has any."""
    svc = service()
    done = _complete_flag()
    metadata = h.parse_metadata(request.headers.get("Upload-Metadata"))
    if key is not None:
        metadata["key"] = validate_key(key)
    length = h.parse_number(request.headers.get("Upload-Length"), "Upload-Length")
    body = declared_length(request, None)
    if done and length is None and body is not None:
        length = body
    if length is not None:
        svc.check_length(length)
    state = svc.create(length, metadata)
    if body != 0 or (done and state.completed_key is None):
        try:
            state = _append(state, 0, done)
        except BlobstreamError as exc:
            exc.headers = {**exc.headers, "Location": _location(state.upload_id)}
            raise
    response = _state_response(201, state)
    response.headers["Location"] = _location(state.upload_id)
    return response


@bp.route("/uploads/<upload_id>/ietf", methods=["HEAD", "PATCH", "DELETE", "OPTIONS"])
def upload(upload_id: str) -> Response:
    """Offset retrieval (HEAD), append (PATCH) and cancellation (DELETE), draft §4.3-4.5."""
    if request.method == "OPTIONS":
        response = Response(status=204)
        response.headers["Allow"] = "HEAD, PATCH, DELETE, OPTIONS"
        return response
    if not h.is_upload_id(upload_id):
        raise NotFound(f"no upload has the id {upload_id!r}")
    svc = service()
    if request.method == "HEAD":
        return _state_response(204, svc.settle(upload_id))
    if request.method == "DELETE":
        svc.terminate(upload_id)
        response = Response(status=204)
        del response.headers["Content-Type"]
        return response
    if request.method != "PATCH":
        raise MethodNotAllowed(valid_methods=["HEAD", "PATCH", "DELETE", "OPTIONS"])
    version = request.headers.get("Upload-Draft-Interop-Version", "").strip(" \t")
    if version == "6" and request.mimetype != ih.PARTIAL_UPLOAD:
        raise UnsupportedMediaType(f"an append must be sent as {ih.PARTIAL_UPLOAD}")
    offset = h.parse_number(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset is None:
        raise InvalidHeader("an append needs Upload-Offset")
    done = _complete_flag()
    state = _append(svc.get(upload_id), offset, done)
    return _state_response(204, state)


def install(app: Flask, url_prefix: str | None) -> None:
    """Mount the draft's endpoints next to tus (only where tus is mounted)."""
    if SERVICE_KEY not in app.extensions:
        return
    from blobstream.server import openapi
    from blobstream.tus.ietf_openapi import PATHS

    app.register_blueprint(bp, url_prefix=url_prefix)
    openapi.add_paths(PATHS)
