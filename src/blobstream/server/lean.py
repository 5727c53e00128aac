"""The lean path: the standalone server's hottest requests without Flask's per-request work.

``GET``, ``HEAD`` and ``PUT`` of ``/blobs/{key}`` are most of a blob server's
traffic, and for a small blob Flask's request machinery (contexts, routing,
hooks, response objects) costs more than the blob. This WSGI layer answers them
straight from the environ with the blueprint's own pieces: the pure HTTP
helpers, :func:`~blobstream.server.responses.plan_response`, the
``receive`` helpers, :func:`~blobstream.ingest.store_stream`, the same metrics,
request ids and problem documents.

Whatever it is not sure to answer exactly as the blueprint would goes to Flask
untouched: a query string, an ``Origin`` (CORS), a copy or follow header, a
request a token does not allow, a server with CORS origins, and for ``PUT`` any
hook, quota or per-token upload cap. An error found before the body is read
(404, 412, 416, 413 by the declared length, a bad header) is handed to Flask
too, so it answers with its own document; only an error while the body streams
is answered here, as the blueprint's problem+json.

Only :func:`blobstream.server.app.create_app` (the standalone server) installs
it: an app that mounts the extension keeps its own ``before_request`` hooks on
every request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, cast
from urllib.parse import quote

from flask import Flask, Request
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES

from blobstream.auth.hook import ANONYMOUS, auth_state
from blobstream.auth.limits import TimedInput
from blobstream.auth.tokens import Principal, Role
from blobstream.errors import BlobstreamError
from blobstream.events.hub import HOOKS_KEY, REQUEST_ID_HEADER, Hooks, request_id_of
from blobstream.http.keys import validate_key
from blobstream.http.problem import PROBLEM_JSON, problem_from_error
from blobstream.http.ranges import ByteSpan
from blobstream.ingest import store_stream
from blobstream.server import metrics
from blobstream.server.receive import content_type_of, declared_length, expected_of, write_condition
from blobstream.server.responses import (
    READ_SIZE,
    _closing_iter,
    _multipart,
    _read_span,
    plan_response,
)
from blobstream.server.state import EXTENSION_KEY, State
from blobstream.server.wsgi_input import body_stream
from blobstream.storage.protocol import BlobInfo

log = logging.getLogger("blobstream")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ROUTE = "/blobs/<blobkey:key>"
PREFIX = "/blobs/"
SMALL = 64 * 1024  # bodies up to this size are read and written, not sent with sendfile
# Request headers that ask for something only the blueprint does.
_TO_FLASK = ("HTTP_ORIGIN", "HTTP_BLOBSTREAM_COPY_SOURCE", "HTTP_BLOBSTREAM_FOLLOW")
_KEY_SAFE = "!$&'()*+,/:;=@"  # what Werkzeug leaves unquoted in a URL path (url_for)


def _key(path: str) -> str | None:
    """The blob key of a ``/blobs/{key}`` WSGI path, if it is a valid one."""
    try:
        return validate_key(path[len(PREFIX) :].encode("latin-1").decode("utf-8"))
    except (UnicodeError, BlobstreamError):
        return None


def _status(code: int) -> str:
    return f"{code} {HTTP_STATUS_CODES.get(code, 'UNKNOWN').upper()}"


class _Tracked:
    """A response body that ends the transfer's in-flight count when the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self.body = body
        self.done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


class _Download:
    """What a prepared ``GET`` sends: nothing, one span of the blob or multipart parts.
    ``done`` ends the transfer's in-flight count; :meth:`close` closes and ends it."""

    __slots__ = ("done", "parts", "span", "stream")

    def __init__(self, stream: IO[bytes], done: Callable[[], None]) -> None:
        self.stream = stream
        self.done = done
        self.span: ByteSpan | None = None
        self.parts: Iterator[bytes] | None = None

    def small(self) -> bytes:
        """The whole (short) span, read at once; the stream is closed."""
        assert self.span is not None
        try:
            self.stream.seek(self.span.start)
            data = self.stream.read(self.span.length)
        finally:
            self.stream.close()
        if len(data) != self.span.length:
            raise OSError("the blob is shorter than its index entry")
        return data

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            self.done()


def _tracked_file(environ: dict[str, Any], stream: IO[bytes], done: Callable[[], None]) -> Any:
    """The server's ``wsgi.file_wrapper`` (so gunicorn still uses sendfile), counting its end."""
    wrapper = environ["wsgi.file_wrapper"](stream, READ_SIZE)

    def close() -> None:
        try:
            stream.close()
        finally:
            done()

    wrapper.close = close  # gunicorn's wrapper sets ``close`` on the instance too
    return wrapper


class LeanBlobs:
    """WSGI middleware in front of the Flask app's ``wsgi_app`` (module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.flask = app.wsgi_app
        self.state: State = app.extensions[EXTENSION_KEY]
        self.auth = auth_state(app).config
        self.hooks: Hooks | None = app.extensions.get(HOOKS_KEY)
        self.metrics = metrics.metrics_of(app)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD")
        path: str = environ.get("PATH_INFO", "")
        if (
            method not in ("GET", "HEAD", "PUT")
            or not path.startswith(PREFIX)
            or environ.get("QUERY_STRING")
        ):
            return self.flask(environ, start_response)
        admitted = self._admit(environ, Role.WRITE if method == "PUT" else Role.READ)
        if admitted is None:
            return self.flask(environ, start_response)
        key, principal = admitted
        if method == "PUT":
            return self._put(environ, start_response, key, principal)
        return self._get(environ, start_response, method, key)

    def plain_get(
        self, environ: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], _Download] | None:
        """:meth:`prepare_get` for a ``GET``/``HEAD`` of ``/blobs/{key}`` with no query
        that this path answers; ``None`` when Flask would (the worker's shortcut)."""
        admitted = self._admit(environ, Role.READ)
        if admitted is None:
            return None
        return self.prepare_get(environ, environ["REQUEST_METHOD"], admitted[0])

    def _admit(self, environ: dict[str, Any], needed: Role) -> tuple[str, Principal] | None:
        """The key and who asks, for a ``/blobs/{key}`` request this path may answer;
        None sends it to Flask (CORS, copy and follow headers, a token it cannot tell)."""
        if any(name in environ for name in _TO_FLASK) or self.auth.cors.origins:
            return None
        key = _key(environ["PATH_INFO"])
        principal = self._principal(environ, needed)
        if key is None or principal is None:
            return None
        return key, principal

    def _principal(self, environ: dict[str, Any], needed: Role) -> Principal | None:
        """Who sends the request, when this path can tell; None sends it to Flask."""
        header = environ.get("HTTP_AUTHORIZATION")
        if self.auth.anonymous:
            return ANONYMOUS if header is None else None
        if header is None:
            return None
        scheme, _, token = str(header).strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        principal = self.auth.tokens.authenticate(token.strip())
        if principal is None or principal.role < needed:
            return None
        return principal

    # -- GET and HEAD -----------------------------------------------------------------

    def prepare_get(
        self, environ: dict[str, Any], method: str, key: str
    ) -> tuple[str, list[tuple[str, str]], _Download] | None:
        """Status, headers and body of a ``GET``/``HEAD`` of ``key``, counted in the
        metrics; ``None`` when the blueprint must answer (nothing is counted then)."""
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or (
            "HTTP_TRANSFER_ENCODING" in environ
        ):
            return None  # the blueprint closes the connection
        try:
            reader = self.state.store.open(key)
        except BlobstreamError:
            return None
        info = reader.info
        try:
            plan = plan_response(
                method, EnvironHeaders(environ).get, info.size, info.etag, info.last_modified,
                info.content_type, info.sha256, None,
            )  # fmt: skip
        except BlobstreamError:
            reader.close()
            return None
        except BaseException:
            reader.close()
            raise
        headers = list(plan.headers.items())
        if plan.spans is None:  # 304: as Werkzeug, without the entity's Last-Modified
            headers = [(n, v) for n, v in headers if n != "Last-Modified"]
        if plan.content_type is not None:
            headers.append(("Content-Type", plan.content_type))
        if plan.spans is not None:
            headers.append(("Content-Length", str(plan.length)))
        headers.append(("Cache-Control", "no-cache"))
        headers.append((REQUEST_ID_HEADER, request_id_of(environ.get("HTTP_X_REQUEST_ID"))))
        gauge = self.metrics.in_flight.labels(ROUTE)
        gauge.inc()
        self.metrics.count(ROUTE, method, plan.status, None, plan.length)
        download = _Download(cast(IO[bytes], reader), gauge.dec)
        if plan.spans is not None and method != "HEAD" and plan.length > 0:
            if plan.boundary is not None:
                download.parts = _multipart(
                    download.stream, plan.spans, info.size, info.content_type, plan.boundary
                )
            else:
                download.span = plan.spans[0]
        return _status(plan.status), headers, download

    def _get(
        self, environ: dict[str, Any], start_response: Callable[..., Any], method: str, key: str
    ) -> Any:
        prepared = self.prepare_get(environ, method, key)
        if prepared is None:
            return self.flask(environ, start_response)
        status, headers, download = prepared
        stream, span = download.stream, download.span
        body: Any
        try:
            if download.parts is not None:
                body = _Tracked(_closing_iter(download.parts, stream), download.done)
            elif span is None:
                stream.close()
                body = _Tracked([], download.done)
            elif span.length <= SMALL:
                body = _Tracked([download.small()], download.done)
            elif "wsgi.file_wrapper" in environ and str(
                environ.get("SERVER_SOFTWARE", "")
            ).startswith("gunicorn"):
                # gunicorn's sendfile stops at Content-Length, so a range needs no wrapper.
                stream.seek(span.start)
                body = _tracked_file(environ, stream, download.done)
            else:
                body = _Tracked(_closing_iter(_read_span(stream, span), stream), download.done)
        except BaseException:
            download.close()
            raise
        start_response(status, headers)
        return body

    # -- PUT --------------------------------------------------------------------------

    def _quiet(self, principal: Principal) -> bool:
        """No hook, quota or upload cap needs to see this write."""
        hooks = self.hooks
        if hooks is not None and (
            hooks.quotas is not None
            or hooks.urls
            or hooks.pre_commit
            or hooks.listeners.pre_commit
            or hooks.listeners.by_event
        ):
            return False
        return principal.token_id is None or self.auth.max_uploads_per_token <= 0

    def _put(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        key: str,
        principal: Principal,
    ) -> Any:
        if not self._quiet(principal):
            return self.flask(environ, start_response)
        s = self.state
        req = Request(environ)
        try:
            length = declared_length(req, s.max_size)
            content_type = content_type_of(req)
            expected = expected_of(req)
            try:
                current: BlobInfo | None = s.store.stat(key)
            except BlobstreamError as exc:
                if exc.status != 404:
                    raise
                current = None
            condition = write_condition(req, current)
        except BlobstreamError:
            return self.flask(environ, start_response)  # nothing read yet: Flask answers
        sock = environ.get("gunicorn.socket")
        if sock is not None and self.auth.body_timeout > 0:
            environ["wsgi.input"] = TimedInput(environ["wsgi.input"], sock, self.auth.body_timeout)
            req = Request(environ)
        request_id = request_id_of(environ.get("HTTP_X_REQUEST_ID"))
        gauge = self.metrics.in_flight.labels(ROUTE)
        gauge.inc()
        try:
            info, created = store_stream(
                s.store, key, body_stream(req), length=length, limit=s.max_size,
                content_type=content_type, condition=condition, expected=expected,
            )  # fmt: skip
        except BlobstreamError as err:
            return self._problem(start_response, err, request_id, length)
        except Exception:
            log.exception("unexpected failure answering PUT %s", environ.get("PATH_INFO"))
            failure = BlobstreamError("the server failed; the failure is logged")
            return self._problem(start_response, failure, request_id, length)
        finally:
            gauge.dec()
        body = (json.dumps(info.to_json(), separators=(",", ":")) + "\n").encode()
        status = 201 if created else 200
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("ETag", f'"{info.etag}"'),
        ]
        if created:
            location = environ.get("SCRIPT_NAME", "") + PREFIX + quote(info.key, safe=_KEY_SAFE)
            headers.append(("Location", location))
        headers.append((REQUEST_ID_HEADER, request_id))
        self.metrics.count(ROUTE, "PUT", status, info.size, len(body))
        start_response(_status(status), headers)
        return [body]

    def _problem(
        self,
        start_response: Callable[..., Any],
        err: BlobstreamError,
        request_id: str,
        length: int | None,
    ) -> list[bytes]:
        """The blueprint's problem+json; the unread rest of a body closes the connection."""
        if err.status >= 500:
            log.error("PUT: %s", err.detail)
        body = (json.dumps(problem_from_error(err), separators=(",", ":")) + "\n").encode()
        headers = [
            ("Content-Type", PROBLEM_JSON),
            ("Content-Length", str(len(body))),
            *err.headers.items(),
            (REQUEST_ID_HEADER, request_id),
        ]
        if length != 0:
            headers.append(("Connection", "close"))
        self.metrics.count(ROUTE, "PUT", err.status, None, len(body))
        start_response(_status(err.status), headers)
        return [body]


def install(app: Flask) -> None:
    """Put the lean path in front of ``app`` (the standalone server's app only)."""
    app.wsgi_app = LeanBlobs(app)  # type: ignore[method-assign]
