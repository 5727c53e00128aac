"""The web page at ``GET /``: browse, upload (tus), download and delete from a browser.

The page and its scripts are static files; tus-js-client is bundled into
``static/vendor/tus.js`` by ``make`` (``web/`` at the repository root).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, send_from_directory

from blobstream.server import openapi

STATIC = Path(__file__).parent / "static"
VENDOR_BUNDLE = STATIC / "vendor" / "tus.js"

# Only same-origin scripts, styles, images and requests: a key rendered by
# mistake as HTML still could not run anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

log = logging.getLogger("blobstream")

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/web")

OPENAPI_PATHS: dict[str, Any] = {
    "/": {
        "get": {
            "summary": "The web page: browse, upload (tus), download and delete blobs",
            "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
        }
    }
}
openapi.add_paths(OPENAPI_PATHS)


@bp.record_once
def _warn_without_bundle(_state: object) -> None:
    if not VENDOR_BUNDLE.is_file():
        log.warning("web page: %s is missing (run make); uploads will not work", VENDOR_BUNDLE)


@bp.get("/token-sw.js")
def token_service_worker() -> Response:
    """Served beside the page so that its scope covers ``blobs/`` downloads."""
    response = send_from_directory(STATIC, "token-sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index() -> Response:
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
