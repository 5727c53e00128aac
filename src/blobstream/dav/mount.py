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

from collections.abc import Iterator
from itertools import chain
from typing import Any

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from wsgidav import util
from wsgidav.dav_error import DAVError

from blobstream.dav.changes import CREATED_KEY
from blobstream.errors import BadRequest, BlobstreamError, NotFound, TooLarge

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
        first = b"".join(util.send_status_response(environ, start_response, exc))
        chunks = iter(())
    status, headers = started
    if status.startswith("204") and environ.get(CREATED_KEY):
        status = "201 Created"  # COPY/MOVE onto a new name (RFC 4918 §9.8.7)
    if environ.get("wsgidav.all_input_read") or not request.content_length:
        g.blobstream_body_read = True
    headers = [(n, v) for n, v in headers if n.lower() != "date"]  # the server sends one
    body = chain([first], chunks)
    return Response(stream_with_context(body), status=status, headers=headers)
