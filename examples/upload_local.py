"""Upload big files to a local folder and download them with Range, in bounded memory.

    pip install blobstream
    UPLOAD_DIR=./uploads flask --app upload_local.py run
    curl -T big.iso http://127.0.0.1:5000/files/big.iso      # {"size": …, "sha256": …}
    curl -r 0-99 http://127.0.0.1:5000/files/big.iso         # 206, the first 100 bytes

Under gunicorn: ``gunicorn --threads 8 upload_local:app``. A body is written to a
hidden temporary name and renamed into place only once it arrived whole and
matched its ``Content-Digest`` / ``Content-MD5``: a refused or cut body never
shows under the file's name, and the temporary file is removed.
"""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
from pathlib import Path

from flask import Flask, Response

from blobstream.flask import BadRequest, NotFound, receive_request, send_stream

FOLDER = Path(os.environ.get("UPLOAD_DIR", "uploads"))
LIMIT = int(os.environ.get("MAX_UPLOAD_BYTES", 50 << 30))
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")

app = Flask(__name__)
FOLDER.mkdir(parents=True, exist_ok=True)


def path_of(name: str) -> Path:
    if not NAME.fullmatch(name):
        raise BadRequest(f"{name[:80]!r} is not a file name this app accepts")
    return FOLDER / name


@app.put("/files/<name>")
def upload(name: str) -> tuple[dict[str, object], int]:
    final = path_of(name)
    part = FOLDER / f".{name}.{secrets.token_hex(8)}.part"
    try:
        with part.open("xb") as sink:
            result = receive_request(sink, limit=LIMIT)  # 400, 411, 413 as problem+json
            os.fsync(sink.fileno())
        part.rename(final)  # atomic: readers see the old file or the new one
    finally:
        part.unlink(missing_ok=True)
    return {"name": name, "size": result.size, "sha256": result.sha256}, 201


@app.get("/files/<name>")
def download(name: str) -> Response:
    try:
        stream = path_of(name).open("rb")
    except FileNotFoundError:
        raise NotFound(f"no file is named {name!r}") from None
    st = os.fstat(stream.fileno())
    # Range (206, multipart/byteranges, 416), If-None-Match (304), If-Match (412), HEAD.
    return send_stream(
        stream,
        size=st.st_size,
        etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
        last_modified=st.st_mtime,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
    )
