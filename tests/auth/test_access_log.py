"""The launcher's access-log line, written without gunicorn's atoms, reads as gunicorn's does."""

from __future__ import annotations

import datetime
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms

from blobstream.auth.redact import ACCESS_LOG_FORMAT, RedactingLogger, redact


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logger(access_format: str) -> tuple[RedactingLogger, Capture]:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", access_format)
    log = RedactingLogger(cfg)
    capture = Capture()
    log.access_log.handlers = [capture]
    return log, capture


def gunicorns_line(log: RedactingLogger, resp: Any, req: Any, environ: Any, took: Any) -> str:
    return str(ACCESS_LOG_FORMAT % SafeAtoms(log.atoms(resp, req, environ, took)))


@pytest.mark.parametrize(
    ("uri", "status", "sent", "addr"),
    [
        ("/blobs/a", "200 OK", 4096, "127.0.0.1"),
        ("/blobs/with%20space?download=x", "206 Partial Content", 1 << 20, "::1"),
        ('/blobs/quo"te', "404 NOT FOUND", 312, "10.0.0.1"),
        ("/blobs/a", 304, None, "127.0.0.1"),  # nothing sent yet: gunicorn prints None
        ("/blobs/a?X-Blobstream-Signature=abc&X-Blobstream-Expires=9", "200 OK", 1, "1.2.3.4"),
    ],
)
def test_same_line_as_gunicorns_atoms(uri: str, status: Any, sent: int | None, addr: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": uri,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": addr,
        "PATH_INFO": uri.split("?")[0],
        "QUERY_STRING": uri.partition("?")[2],
    }
    resp = SimpleNamespace(status=status, sent=sent, headers=[("Content-Length", "1")])
    req = SimpleNamespace(headers=[("HOST", "x"), ("RANGE", "bytes=0-1")])
    took = datetime.timedelta(seconds=1, microseconds=2345)
    log, capture = logger(ACCESS_LOG_FORMAT)
    log.access(resp, req, environ, took)
    # gunicorn's own atoms, through the same filters: a format one constant atom
    # ("l", always "-") longer is not the launcher's, so it takes gunicorn's path
    reference, reference_capture = logger(ACCESS_LOG_FORMAT + " %(l)s")
    reference.access(resp, req, environ, took)
    assert [line + " -" for line in capture.lines] == reference_capture.lines
    assert capture.lines == [redact(gunicorns_line(log, resp, req, environ, took))]
    assert "abc" not in capture.lines[0]
