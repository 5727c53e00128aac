"""A probe, not a product: a PUT body read with ``recv_into`` on the same gunicorn gthread.

It measures what the design change in docs/BENCHMARKS.md would save. The WSGI app takes
the bytes gunicorn's parser already buffered, then ``socket.recv_into`` reused 1 MiB
buffers straight from ``gunicorn.socket``, hashes (SHA-256) and writes each on a second
thread, fsyncs, and answers the hex digest. Content-Length bodies only; no validation.

    .venv/bin/gunicorn -k gthread --threads 16 --chdir bench recv_into_probe:app
    curl -T body http://127.0.0.1:8000/x
"""

from __future__ import annotations

import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

ROOT = os.environ.get("PROBE_ROOT") or tempfile.mkdtemp(prefix="recv-into-probe-")


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    sock = environ["gunicorn.socket"]
    unreader = environ["wsgi.input"].reader.unreader
    early = unreader.buf.getvalue()[:length]
    unreader.buf.seek(0)
    unreader.buf.truncate()
    sha = hashlib.sha256()
    fd = os.open(os.path.join(ROOT, "body"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    free: queue.Queue[bytearray] = queue.Queue()
    work: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    for _ in range(4):
        free.put(bytearray(1 << 20))

    def consume() -> None:
        while (item := work.get()) is not None:
            view = memoryview(item[0])[: item[1]]
            sha.update(view)
            os.write(fd, view)
            free.put(item[0])

    thread = threading.Thread(target=consume)
    thread.start()
    if early:
        sha.update(early)
        os.write(fd, early)
    left = length - len(early)
    while left > 0:
        buf = free.get()
        n = sock.recv_into(memoryview(buf)[: min(left, len(buf))])
        if not n:
            break
        left -= n
        work.put((buf, n))
    work.put(None)
    thread.join()
    os.fsync(fd)
    os.close(fd)
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [sha.hexdigest().encode()]
