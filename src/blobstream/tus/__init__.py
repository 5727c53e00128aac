"""tus 1.0 resumable uploads at ``/uploads`` on any store with the upload capability.

``install`` is called by the extension: it mounts the endpoints only when the
store is an :class:`~blobstream.storage.protocol.UploadStore` (capabilities are
discovered, not configured) and starts this worker's expiry sweeper.
Configuration: ``BLOBSTREAM_UPLOAD_EXPIRY`` (seconds an upload lives after its
last PATCH, default one day) and ``BLOBSTREAM_UPLOAD_SWEEP_INTERVAL`` (seconds,
default 60), from the app config or the environment.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from blobstream.storage.protocol import UploadStore
from blobstream.tus.service import DEFAULT_EXPIRY, TusService

__all__ = ["TusService", "install"]


def _setting(config: dict[str, Any], name: str, default: float) -> float:
    value = config.get(name.lower())
    if value in (None, ""):
        value = os.environ.get(f"BLOBSTREAM_{name}") or default
    return float(value)


def install(
    app: Flask, store: object, max_size: int | None, config: dict[str, Any], url_prefix: str | None
) -> None:
    """Mount tus on ``app`` when ``store`` can keep uploads."""
    if not isinstance(store, UploadStore):
        return
    from blobstream.server import openapi
    from blobstream.tus import openapi as tus_openapi
    from blobstream.tus.blueprint import EXTENSION_KEY, bp
    from blobstream.tus.expiry import Sweeper

    service = TusService(
        store, max_size=max_size, expiry=_setting(config, "UPLOAD_EXPIRY", DEFAULT_EXPIRY)
    )
    app.extensions[EXTENSION_KEY] = service
    app.register_blueprint(bp, url_prefix=url_prefix)
    openapi.add_paths(tus_openapi.PATHS)
    interval = _setting(config, "UPLOAD_SWEEP_INTERVAL", 60.0)
    app.extensions[EXTENSION_KEY + "_sweeper"] = Sweeper(service, interval).start()
