"""``/dav/`` on the app: a Flask view that runs WsgiDAV (RFC 4918) for each request.

Being a view keeps every rule of the other dialects: authentication (Basic
with a token as the password), roles, presigned URLs, CORS, metrics, request
ids, hooks. ``GET``/``HEAD`` of a blob skip the engine and are answered by the
blob API's own view (ranges, conditionals, ``Repr-Digest``, sendfile); PUT is
answered by :func:`blobstream.dav.changes.put` inside the engine. A refusal
from the store is answered as a problem document, the protocol's own errors
(423 with a precondition element, 207 multi-status) as WsgiDAV writes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import chain
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.http import HTTP_STATUS_CODES
from wsgidav import util
from wsgidav.dav_error import DAVError

from blobstream.dav.changes import CREATED_KEY
from blobstream.errors import BadRequest, BlobstreamError, NotFound, TooLarge
from blobstream.http.problem import PROBLEM_JSON, problem

log = logging.getLogger("blobstream")
DAV_KEY = "blobstream.dav"
METHODS = [
    "OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH",
    "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "POST",
]  # fmt: skip
READ_METHODS = frozenset({"OPTIONS", "GET", "HEAD", "PROPFIND"})
MAX_XML_BODY = 1 << 20  # WsgiDAV reads an XML request body whole: bound it

bp = Blueprint("dav", __name__)


class Mount:
    """The engine of one app and the path it answers under (``/dav`` after the app's prefix)."""

    def __init__(self, engine: Any, path: str) -> None:
        self.engine = engine
        self.path = path


@bp.route("/dav", methods=METHODS, provide_automatic_options=False, endpoint="root")
def dav_root() -> Response:
    return dav("")


@bp.route("/dav/<blobkey:key>", methods=METHODS, provide_automatic_options=False)
def dav(key: str) -> Response:
    method = request.method
    if "#" in request.environ.get("RAW_URI", ""):
        raise BadRequest("a request target has no fragment (RFC 9110 §7.1)")
    if method in ("GET", "HEAD") and key and "If" not in request.headers:
        from blobstream.server.blobs import get_blob

        try:
            return get_blob(key)
        except NotFound:
            pass  # a collection, or nothing: the engine says which
    if method != "PUT" and (request.content_length or 0) > MAX_XML_BODY:
        raise TooLarge(f"a {method} body over {MAX_XML_BODY} bytes is refused")
    return _run_engine()


def _problem(exc: DAVError, environ: dict[str, Any]) -> Response:
    """The engine's refusal as a problem document (RFC 9457), like every other refusal."""
    status = exc.value
    title = HTTP_STATUS_CODES.get(status, "Error")
    detail = exc.context_info or title
    if status >= 500:
        log.error("%s %s: %s", request.method, request.path, detail, exc_info=exc.src_exception)
        detail = "the server failed; the failure is logged"
    response = jsonify(problem(status, title, str(detail)))
    response.status_code = status
    response.content_type = PROBLEM_JSON
    for name, value in exc.add_headers or ():
        response.headers[name] = value
    if request.content_length and not environ.get("wsgidav.all_input_read"):
        response.headers["Connection"] = "close"  # the unread body cannot be told from a request
    else:
        g.blobstream_body_read = True
    return response


def _run_engine() -> Response:
    mount: Mount = current_app.extensions[DAV_KEY]
    environ = dict(request.environ)
    script = environ.get("SCRIPT_NAME", "")
    path = environ.get("PATH_INFO", "")
    environ["SCRIPT_NAME"] = script + mount.path
    environ["PATH_INFO"] = path[len(mount.path) :] or "/"
    principal = g.get("blobstream_principal")
    environ["wsgidav.auth.user_name"] = getattr(principal, "name", "anonymous")
    # A body is read by the handler that needs it, never read whole to be discarded.
    environ["wsgidav.some_input_read"] = 1
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return None

    try:
        chunks: Iterator[bytes] = iter(mount.engine(environ, start_response))
        first = next(chunks, b"")
    except DAVError as exc:
        kept: BlobstreamError | None = g.pop("blobstream_dav_error", None)
        if kept is not None and kept.status == exc.value:
            raise kept from None
        if exc.err_condition is None and exc.value >= 400:
            return _problem(exc, environ)
        # A precondition element (RFC 4918 §16) is the protocol's own error body; 304.
        first = b"".join(util.send_status_response(environ, start_response, exc))
        chunks = iter(())
    status, headers = started
    if status.startswith("204") and environ.get(CREATED_KEY):
        status = "201 Created"  # COPY/MOVE onto a new name (RFC 4918 §9.8.7)
    if environ.get("wsgidav.all_input_read") or not request.content_length:
        g.blobstream_body_read = True
    headers = [(n, v) for n, v in headers if n.lower() != "date"]  # the server sends one
    kind = next((v for n, v in headers if n.lower() == "content-type"), "")
    if status.startswith("2") and kind.startswith("text/html"):
        # WsgiDAV's page saying "201 Created" (MKCOL, COPY, MOVE): the status says it all.
        first, chunks = b"", iter(())
        drop = ("content-type", "content-length")
        headers = [(n, v) for n, v in headers if n.lower() not in drop]
        headers.append(("Content-Length", "0"))
    # The engine ran its handler for the first piece; what follows is its body only
    # (XML already made, or a blob's bytes), which needs no request context.
    response = Response(chain([first], chunks), status=status, headers=headers)
    if not any(n.lower() == "content-type" for n, _ in headers):
        del response.headers["Content-Type"]  # not Werkzeug's text/html on a 204
    return response
