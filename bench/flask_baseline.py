"""The honest Python baseline: plain Flask, PUT copies ``request.stream``, GET is send_file.

It runs on the same gunicorn gthread settings as ``blobstream serve``. It does what
a developer would write in ten lines: no index, no fsync, no hashing, no conditionals.
With ``BASELINE_FSYNC=1`` a PUT is durable before it answers, as blobstream's is
(fsync of the file, then of its directory after the rename): the same ten lines
plus the two fsyncs a developer who cares about the data adds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from flask import Flask, Response, abort, request, send_file

ROOT = Path(os.environ.get("BASELINE_ROOT", "baseline-data")).resolve()
FSYNC = os.environ.get("BASELINE_FSYNC") == "1"
app = Flask(__name__)


def _path(key: str) -> Path:
    path = (ROOT / key).resolve()
    if ROOT not in path.parents:
        abort(400)
    return path


@app.put("/f/<path:key>")
def put(key: str) -> Response:
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{uuid.uuid4().hex}")
    with open(tmp, "wb") as out:
        shutil.copyfileobj(request.stream, out, 1 << 20)
        if FSYNC:
            os.fsync(out.fileno())
    os.replace(tmp, path)
    if FSYNC:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return Response(status=201)


@app.get("/f/<path:key>")
def get(key: str) -> Response:
    path = _path(key)
    if not path.is_file():
        abort(404)
    return send_file(path, conditional=True)


@app.delete("/f/<path:key>")
def delete(key: str) -> Response:
    _path(key).unlink(missing_ok=True)
    return Response(status=204)
