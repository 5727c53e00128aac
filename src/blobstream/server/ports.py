"""One server, two dialects: the request's listening port chooses the app.

gunicorn binds the REST port and the S3 port together; every request names
the address it arrived on in ``SERVER_PORT`` (PEP 3333; gunicorn takes it from
the listening socket, not from the Host header), so a small WSGI dispatcher
sends the S3 port's requests to the S3 app and all others to the REST app.
No server internals are involved, and any WSGI server that binds both ports
can serve it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ByPort:
    """``s3`` for requests that arrived on ``s3_port``, ``rest`` for every other."""

    def __init__(self, rest: Any, s3: WSGIApp, s3_port: int) -> None:
        self.rest = rest
        self.s3 = s3
        self.s3_port = s3_port
        self._port = str(s3_port)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("SERVER_PORT") == self._port:
            return self.s3(environ, start_response)
        return self.rest(environ, start_response)
