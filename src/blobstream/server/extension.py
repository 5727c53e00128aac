"""The Flask extension: ``Blobstream(app)`` or ``Blobstream().init_app(app)``.

Configuration comes from ``app.config`` with the ``BLOBSTREAM_`` prefix:
``BLOBSTREAM_STORAGE`` (a storage URL) or ``BLOBSTREAM_STORE`` (a store object),
``BLOBSTREAM_MAX_SIZE`` (bytes, or None for no limit) and
``BLOBSTREAM_URL_PREFIX`` (where the API is mounted, default none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from blobstream import events, tus, web
from blobstream.auth import hook as auth_hook
from blobstream.errors import BlobstreamError
from blobstream.http.problem import PROBLEM_JSON, problem, problem_from_error
from blobstream.server import blobs, metrics, openapi
from blobstream.server.state import EXTENSION_KEY, State, state
from blobstream.storage import DEFAULT_STORAGE, open_store

log = logging.getLogger("blobstream")


class KeyConverter(BaseConverter):
    """Matches any rest of the path, even empty or with ``//``: keys are validated later."""

    regex = "[\\s\\S]*"  # "." would not match a newline: such a key must be a 400
    part_isolating = False


health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> tuple[Response, int]:
    store = state().store
    try:
        store.ping()
    except BlobstreamError as exc:
        return jsonify({"status": "unavailable", "detail": exc.detail}), 503
    return jsonify({"status": "ok"}), 200


def problem_response(err: BlobstreamError) -> Response:
    response = jsonify(problem_from_error(err))
    response.status_code = err.status
    response.content_type = PROBLEM_JSON
    for name, value in err.headers.items():
        response.headers[name] = value
    return _close_if_unread(response)


def http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = exc.description or exc.name
    response = jsonify(problem(status, exc.name, detail))
    response.status_code = status
    response.content_type = PROBLEM_JSON
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return _close_if_unread(response)


def unexpected_problem(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return http_problem(exc)
    if isinstance(exc, BlobstreamError):
        return problem_response(exc)
    log.exception("unexpected failure answering %s %s", request.method, request.path)
    err = BlobstreamError("the server failed; the failure is logged")
    return problem_response(err)


def _close_if_unread(response: Response) -> Response:
    """An error sent before the request body was read must close the connection:
    the unread rest of the body cannot be told apart from a next request."""
    if request.method in ("PUT", "POST", "PATCH") and request.content_length != 0:
        response.headers["Connection"] = "close"
    return response


def _close_if_body_ignored(response: Response) -> Response:
    """A GET, HEAD, DELETE or OPTIONS never reads a body it was sent: gunicorn would
    parse it after the response and might answer it too (a second, unasked-for
    response on the connection). Closing the connection instead keeps one answer
    per request."""
    if (
        request.method not in ("PUT", "POST", "PATCH")
        and (request.content_length or "Transfer-Encoding" in request.headers)
        and not g.get("blobstream_body_read")  # WebDAV reads its XML bodies
    ):
        response.headers["Connection"] = "close"
    return response


def _log_server_errors(err: BlobstreamError) -> Response:
    if err.status >= 500:
        log.error("%s %s: %s", request.method, request.path, err.detail)
    return problem_response(err)


class Blobstream:
    """Mount the blob API on a Flask app (SPEC "Flask developers")."""

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self.options = options
        self.listeners = events.Listeners()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        config = {**self.options}
        for name, value in app.config.items():
            if name.startswith("BLOBSTREAM_"):
                config.setdefault(name.removeprefix("BLOBSTREAM_").lower(), value)
        store = config.get("store") or open_store(
            config.get("storage") or DEFAULT_STORAGE,
            create=bool(config.get("create_storage", True)),
        )
        max_size = config.get("max_size")
        app.extensions[EXTENSION_KEY] = State(
            store=store, max_size=int(max_size) if max_size else None, config=config
        )
        app.url_map.converters.setdefault("blobkey", KeyConverter)
        app.url_map.merge_slashes = False
        prefix = config.get("url_prefix") or None
        for blueprint in (blobs.bp, health, metrics.bp, openapi.bp):
            app.register_blueprint(blueprint, url_prefix=prefix)
        app.register_blueprint(web.bp, url_prefix=prefix)
        tus.install(app, store, app.extensions[EXTENSION_KEY].max_size, config, prefix)
        from blobstream.tus import ietf  # IETF resumable uploads, on the tus upload state

        ietf.install(app, prefix)
        from blobstream import dav

        if dav.wanted(config):
            dav.install(app, store, prefix)
        metrics.install(app)
        auth_hook.install(app, config)
        events.install(app, store, config, self.listeners)
        app.register_error_handler(BlobstreamError, _log_server_errors)
        app.register_error_handler(HTTPException, http_problem)
        app.register_error_handler(Exception, unexpected_problem)
        app.after_request(_close_if_body_ignored)

    def on(self, event: str, fn: Callable[[events.Event], None]) -> Callable[[events.Event], None]:
        """Call ``fn(event)`` after each ``event`` ("*": every one); failures are logged."""
        return self.listeners.on(event, fn)

    def pre_commit(
        self, fn: Callable[[events.PendingBlob], None]
    ) -> Callable[[events.PendingBlob], None]:
        """Call ``fn(pending)`` before each commit; raising ``Vetoed`` refuses the write."""
        self.listeners.pre_commit.append(fn)
        return fn

    @staticmethod
    def presigned_url(key: str, method: str = "GET", expires_in: int = 3600) -> str:
        """A URL granting ``method`` on ``key`` until the expiry (needs ``BLOBSTREAM_SECRET``)."""
        return auth_hook.presigned_url_for(key, method, expires_in)
