"""Mount the whole blobstream API inside an existing app that has its own auth.

    pip install 'blobstream[server]'
    BLOBSTREAM_STORAGE=file:///srv/blobs API_KEYS=alice:s3cret flask --app mount_api.py run
    curl -H 'X-Api-Key: s3cret' -T big.iso http://127.0.0.1:5000/api/blobs/big.iso
    curl -H 'X-Api-Key: s3cret' -r 0-99 http://127.0.0.1:5000/api/blobs/big.iso

The app's own hook decides who may call ``/api/`` (blobstream's REST, tus and
WebDAV routes under it) and its own routes; blobstream answers its own errors
as problem+json and leaves the app's 404 page, error handlers and exceptions
alone. ``BLOBSTREAM_*`` settings come from the environment or ``app.config``.
"""

from __future__ import annotations

import os

from flask import Flask, g, request

from blobstream.flask import Blobstream

app = Flask(__name__)
app.config.update(
    BLOBSTREAM_STORAGE=os.environ.get("BLOBSTREAM_STORAGE", "file://./blobs"),
    BLOBSTREAM_URL_PREFIX="/api",
    BLOBSTREAM_MAX_SIZE=int(os.environ.get("MAX_UPLOAD_BYTES", 50 << 30)),
)
# The app's users: "name:key,name:key". blobstream itself then runs without tokens.
USERS = {
    key: name
    for name, _, key in (pair.partition(":") for pair in os.environ["API_KEYS"].split(","))
}
Blobstream(app)


@app.before_request
def authenticate() -> tuple[dict[str, str], int] | None:
    if request.path == "/":
        return None
    user = USERS.get(request.headers.get("X-Api-Key", ""))
    if user is None:
        return {"error": "send your key in X-Api-Key"}, 401
    g.user = user
    return None


@app.get("/")
def home() -> str:
    return "An existing app; its blob API lives under /api/blobs/.\n"


@app.get("/whoami")
def whoami() -> dict[str, str]:
    return {"user": g.user}
