"""The standalone server's app factory: a Flask app with the extension mounted."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from blobstream.server import lean
from blobstream.server.extension import Blobstream

OFF = ("0", "False", "false", "no", "off")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the blobstream app; ``config`` keys are Flask config names (``BLOBSTREAM_*``)."""
    app = Flask("blobstream")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(config or {})
    Blobstream(app, standalone=True)
    if str(app.config.get("BLOBSTREAM_LEAN", os.environ.get("BLOBSTREAM_LEAN", "1"))) not in OFF:
        lean.install(app)
    return app
