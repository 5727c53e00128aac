"""Run the app on gunicorn's gthread worker (sendfile downloads, heartbeat timeouts).

Werkzeug's development server has no sendfile and sends duplicate ``Date``
headers; the sync worker's timeout would kill a long transfer. With gthread the
timeout is a heartbeat of the worker, not a limit on a request. The worker is
gthread with guards against idle and slow clients (:mod:`blobstream.server.worker`).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any

from gunicorn.app.base import BaseApplication

from blobstream.auth.redact import ACCESS_LOG_FORMAT

log = logging.getLogger("blobstream")


@dataclass
class ServeOptions:
    storage: str
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 16
    max_size: int | None = None
    timeout: int = 120
    # Request line and header limits (gunicorn answers 400 beyond them): a key of
    # 1024 bytes percent-encoded plus a presigned query fits the line.
    limit_request_line: int = 8190
    limit_request_fields: int = 100
    limit_request_field_size: int = 8190
    # The S3 API's own listener on the same host (off when None), its access keys
    # and region (blobstream.s3).
    s3_port: int | None = None
    s3_credentials: list[Any] = field(default_factory=list, repr=False)
    s3_region: str = "us-east-1"
    extra_config: dict[str, Any] = field(default_factory=dict)


def write_problem(sock: Any, status: int, reason: str, detail: str) -> None:
    """gunicorn's answer to a request it cannot parse, as problem+json (RFC 9457).

    Replaces ``gunicorn.util.write_error``, whose HTML page would be the only
    error of the API that is not a problem document.
    """
    from gunicorn import util

    from blobstream.http.problem import PROBLEM_JSON, problem

    if status == 501:
        # gunicorn's 501 is for a transfer coding or method it cannot parse: the
        # request is at fault, and bad input is never answered with a 5xx here.
        status, reason = 400, "Bad Request"
    body = json.dumps(problem(status, reason, detail or reason)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


_handling = threading.local()


def _remember_request(worker: Any, req: Any) -> None:
    _handling.req = req  # gthread runs the app on the thread that parsed the request


class CloseWhenAsked:
    """Honour the app's ``Connection: close``: gunicorn drops that hop-by-hop header
    and keeps the connection, then parses a body the app did not read as the next
    request (and may answer it: two responses to one request)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if any(n.lower() == "connection" and v.lower() == "close" for n, v in headers):
                req = getattr(_handling, "req", None)
                if req is not None:
                    req.must_close = True
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


METRICS_PREFIX = "blobstream-metrics-"


def _remove_dead_metrics_dirs() -> None:
    """Remove the metrics directories of servers that were killed (``kill -9`` skips the
    clean-up at exit); their names carry the master's pid."""
    from blobstream.storage.local import pid_alive

    base = tempfile.gettempdir()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(METRICS_PREFIX):
            continue
        pid, _, rest = entry.name.removeprefix(METRICS_PREFIX).partition("-")
        if not pid.isdigit() or not rest:
            continue
        try:
            made = entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if entry.is_dir(follow_symlinks=False) and not pid_alive(int(pid), made):
            shutil.rmtree(entry.path, ignore_errors=True)


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


# glibc's mallopt(M_MMAP_THRESHOLD): pieces of 256 KiB and more are mapped and
# returned to the system when freed, so 1 MiB body pieces never pile up in the
# per-thread arenas and a worker's RSS stays flat however much it streams.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 << 10


def _post_fork(server: Any, worker: Any) -> None:
    # Until the worker installs its own handlers it has the master's, which only
    # queue a signal for the master's loop: a SIGTERM then would be lost and the
    # shutdown would wait the whole graceful timeout. A worker that has not
    # booted serves nothing, so the default action (exit) is right.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator has its own policy


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        o = self.options
        ports = [o.port] if o.s3_port is None else [o.port, o.s3_port]
        settings: dict[str, Any] = {
            "bind": [f"[{o.host}]:{p}" if ":" in o.host else f"{o.host}:{p}" for p in ports],
            "worker_class": "blobstream.server.worker.GuardedThreadWorker",
            "workers": o.workers,
            "threads": o.threads,
            "timeout": o.timeout,
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": "-",
            "errorlog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "child_exit": _child_exit,
            "post_fork": _post_fork,
            "pre_request": _remember_request,
            "proc_name": "blobstream",
            "control_socket_disable": True,
            "limit_request_line": o.limit_request_line,
            "limit_request_fields": o.limit_request_fields,
            "limit_request_field_size": o.limit_request_field_size,
            # Presigned signatures and bearer tokens never reach the logs.
            "logger_class": "blobstream.auth.redact.RedactingLogger",
        }
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from blobstream.server.app import create_app

        config = {
            "BLOBSTREAM_STORAGE": self.options.storage,
            "BLOBSTREAM_MAX_SIZE": self.options.max_size,
            # serve() made the storage; a worker that finds it gone waits for it
            # (503) instead of making an empty one in its place.
            "BLOBSTREAM_CREATE_STORAGE": False,
            **self.options.extra_config,
        }
        app: Any = create_app(config)
        if self.options.s3_port is not None:
            from blobstream.extras import needs

            with needs("server", "the S3 API (--s3-port)"):
                from blobstream.s3 import S3App
            from blobstream.s3.credentials import Credentials
            from blobstream.server.ports import ByPort

            s3 = S3App(app, Credentials(self.options.s3_credentials), self.options.s3_region)
            app = ByPort(app, s3, self.options.s3_port)
        return CloseWhenAsked(app)


def serve(options: ServeOptions) -> None:
    """Check the storage opens, then serve until SIGTERM/SIGINT (graceful)."""
    from gunicorn import util

    from blobstream.storage import open_store

    open_store(options.storage).close()
    util.write_error = write_problem  # workers are forked from here and inherit it
    master = os.getpid()
    _remove_dead_metrics_dirs()
    metrics_dir = tempfile.mkdtemp(prefix=f"{METRICS_PREFIX}{master}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _Gunicorn(options).run()
    finally:
        # A worker that fails to boot unwinds this same stack in its own process:
        # only the master may remove what every worker writes to.
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
