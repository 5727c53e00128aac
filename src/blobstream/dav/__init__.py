"""WebDAV at ``/dav/`` (RFC 4918 class 1 and 2) with WsgiDAV as the protocol engine.

:func:`install` mounts it on an app that has the blobstream extension:
:mod:`~blobstream.dav.provider` maps the store to resources,
:mod:`~blobstream.dav.changes` writes through the REST write path and hooks,
:mod:`~blobstream.dav.locks` and :mod:`~blobstream.dav.props` keep locks and
dead properties in the store (:mod:`~blobstream.dav.records`), and
:mod:`~blobstream.dav.mount` is the Flask view. ``BLOBSTREAM_DAV=0`` leaves it off.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from blobstream.storage.protocol import BlobStore

log = logging.getLogger("blobstream")
OFF = ("0", "false", "no", "off")


def wanted(config: dict[str, Any]) -> bool:
    """Whether WebDAV is on: ``dav`` in the extension's config, else ``BLOBSTREAM_DAV``.

    On by default when WsgiDAV is installed (the ``server`` extra); asked for
    explicitly without it, it is a configuration error (ValueError)."""
    import importlib.util
    import os

    value = config.get("dav", os.environ.get("BLOBSTREAM_DAV"))
    if value is not None and str(value).strip().lower() in OFF:
        return False
    if importlib.util.find_spec("wsgidav") is None:
        if value is not None:
            raise ValueError("WebDAV at /dav/ needs: pip install 'blobstream[server]'")
        log.info("WebDAV is off: WsgiDAV is not installed (pip install 'blobstream[server]')")
        return False
    return True


def install(app: Flask, store: BlobStore, prefix: str | None) -> None:
    """Mount ``/dav/`` on ``app`` (under the API's ``prefix``)."""
    from wsgidav.request_resolver import RequestResolver
    from wsgidav.wsgidav_app import WsgiDAVApp

    from blobstream.dav.locks import StoreLockManager, StoreLockStorage
    from blobstream.dav.mount import DAV_KEY, Mount, bp
    from blobstream.dav.props import StorePropertyManager
    from blobstream.dav.provider import BlobProvider
    from blobstream.dav.records import records_for

    records = records_for(store)
    provider = BlobProvider(store, records)
    path = (prefix or "").rstrip("/") + "/dav"
    engine = WsgiDAVApp(
        {
            "provider_mapping": {"/": provider},
            "mount_path": path,
            "lock_storage": StoreLockStorage(records),
            "property_manager": StorePropertyManager(records),
            "middleware_stack": [RequestResolver],
            "http_authenticator": {"domain_controller": None},
            "simple_dc": {"user_mapping": {"*": True}},
            "verbose": 1,
            "logging": {"enable": False},
            "block_size": 1 << 20,
            "add_header_MS_Author_Via": True,
            "suppress_version_info": True,
            "dir_browser": {"enable": False},
        }
    )
    manager = StoreLockManager(engine.lock_manager.storage)
    engine.lock_manager = manager
    provider.set_lock_manager(manager)
    app.extensions[DAV_KEY] = Mount(engine, path)
    app.register_blueprint(bp, url_prefix=prefix)
