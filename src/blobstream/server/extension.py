"""The Flask extension: ``Blobstream(app)`` or ``Blobstream().init_app(app)``.

Configuration comes from ``app.config`` with the ``BLOBSTREAM_`` prefix:
``BLOBSTREAM_STORAGE`` (a storage URL) or ``BLOBSTREAM_STORE`` (a store object),
``BLOBSTREAM_MAX_SIZE`` (bytes, or None for no limit) and
``BLOBSTREAM_URL_PREFIX`` (where the API is mounted, default none).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter

from blobstream import events, tus, web
from blobstream.auth import hook as auth_hook
from blobstream.errors import BlobstreamError
from blobstream.extras import needs
from blobstream.http.problem import PROBLEM_JSON, problem
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
    return err.get_response(request.environ)  # type: ignore[return-value]


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
    if isinstance(exc, BlobstreamError):
        return problem_response(exc)
    if isinstance(exc, HTTPException):
        return http_problem(exc)
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


# Flask's per-scope hook lists (key None: every request of the app; a blueprint's
# name: that blueprint's requests only).
_HOOKS = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs")


def _scope_hooks(app: Flask, blueprints: list[str], seen: dict[str, int]) -> None:
    """Move the app-wide hooks registered since ``seen`` to ``blueprints`` only.

    They go first in each blueprint's list: they ran before the blueprint's own
    ``before_request`` hooks (after its ``after_request`` ones) when app-wide.
    """
    for attr in _HOOKS:
        scopes: dict[str | None, list[Callable[..., Any]]] = getattr(app, attr)
        app_wide = scopes.get(None, [])
        added = app_wide[seen[attr] :]
        del app_wide[seen[attr] :]
        for name in blueprints:
            scopes[name] = [*added, *scopes.get(name, [])]


def _answer_as_problems(app: Flask, scopes: Sequence[str | None]) -> None:
    """Register the problem+json error handlers and ``after_request`` for ``scopes``."""
    handlers: list[tuple[type[Exception], Callable[[Any], Response]]] = [
        (BlobstreamError, _log_server_errors),
        (HTTPException, http_problem),
        (Exception, unexpected_problem),
    ]
    for scope in scopes:
        for exc_class, handler in handlers:
            app.error_handler_spec[scope][None][exc_class] = handler
        app.after_request_funcs[scope].insert(0, _close_if_body_ignored)


def _claim_routing_errors() -> Response | None:
    """A 405 on one of blobstream's routes (any routing error under its own URL
    prefix) is blobstream's to answer, as problem+json.

    Routing errors reach only app-wide handlers (the request matched no
    blueprint), so this app-wide hook answers them, and only them.
    """
    exc = request.routing_exception
    if not isinstance(exc, HTTPException):
        return None
    prefix = state().config.get("url_prefix")
    if prefix and (request.path + "/").startswith(prefix.rstrip("/") + "/"):
        return http_problem(exc)  # anything under blobstream's own prefix
    if not isinstance(exc, MethodNotAllowed) or not exc.valid_methods:
        return None
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        rule, _ = adapter.match(method=next(iter(exc.valid_methods)), return_rule=True)
    except HTTPException:
        return None
    if rule.endpoint.partition(".")[0] not in state().blueprints:
        return None
    return http_problem(exc)


class Blobstream:
    """Mount the blob API on a Flask app (SPEC "Flask developers").

    Everything it registers answers only for its own blueprints: the app's other
    routes keep their own error pages, handlers and exception propagation.
    ``Blobstream(app, standalone=True)`` is for blobstream's own server, whose
    every answer (404 of an unknown path included) is a problem document.
    """

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
        before = set(app.blueprints)
        hooks_before = {attr: len(getattr(app, attr).get(None, ())) for attr in _HOOKS}
        prefix = config.get("url_prefix") or None
        for blueprint in (blobs.bp, health, metrics.bp, openapi.bp):
            app.register_blueprint(blueprint, url_prefix=prefix)
        app.register_blueprint(web.bp, url_prefix=prefix)
        tus.install(app, store, app.extensions[EXTENSION_KEY].max_size, config, prefix)
        from blobstream.tus import ietf  # IETF resumable uploads, on the tus upload state

        ietf.install(app, prefix)
        from blobstream import dav

        if dav.wanted(config):
            with needs("server", "WebDAV at /dav/ (BLOBSTREAM_DAV=0 turns it off)"):
                dav.install(app, store, prefix)
        metrics.install(app)
        auth_hook.install(app, config)
        events.install(app, store, config, self.listeners)
        ours = [name for name in app.blueprints if name not in before]
        app.extensions[EXTENSION_KEY].blueprints = ours
        for rule in app.url_map.iter_rules():
            if rule.endpoint.partition(".")[0] in ours:
                rule.merge_slashes = False  # "a//b" is a key of its own, not a redirect
        if config.get("standalone"):
            # blobstream's own server: every answer of the app is blobstream's.
            _answer_as_problems(app, [None])
            return
        _scope_hooks(app, ours, hooks_before)
        _answer_as_problems(app, ours)
        app.before_request(_claim_routing_errors)

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
