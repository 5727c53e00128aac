"""Event hooks, the pre-commit veto and quotas (see ``hub.py``), installed per app.

Settings (app config ``BLOBSTREAM_*`` or the environment): ``HOOK_URLS``
(comma-separated webhook URLs, or a list), ``PRE_COMMIT_URL``, ``SECRET``
(signs both), ``QUOTAS`` (see :mod:`blobstream.quotas`), ``HOOK_POLL``
(seconds between outbox polls, default 1). Python callables come from
``Blobstream(app, on_event=fn)``, ``ext.on(event, fn)`` and ``ext.pre_commit(fn)``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, g, request

from blobstream.events.hub import (
    HOOKS_KEY,
    REQUEST_ID_HEADER,
    Hooks,
    Listeners,
    current_hooks,
    request_id_of,
)
from blobstream.events.model import EVENTS, Event, verify_signature
from blobstream.events.outbox import EventOutbox, OutboxEntry
from blobstream.events.precommit import PendingBlob

__all__ = [
    "EVENTS",
    "Event",
    "EventOutbox",
    "Hooks",
    "Listeners",
    "OutboxEntry",
    "PendingBlob",
    "current_hooks",
    "hook_urls",
    "install",
    "verify_signature",
]


def _setting(config: dict[str, Any], name: str) -> Any:
    value = config.get(name.lower())
    if value in (None, ""):
        value = os.environ.get(f"BLOBSTREAM_{name}") or None
    return value


def hook_urls(value: Any) -> list[str]:
    """Webhook URLs from a list or a comma-separated string; ValueError unless http(s)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    urls = [str(item).strip() for item in items if str(item).strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the hook URL {url[:80]!r} is not an http or https URL")
    return urls


def _secret(value: Any) -> bytes | None:
    if not value:
        return None
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _before() -> None:
    g.blobstream_request_id = request_id_of(request.headers.get(REQUEST_ID_HEADER))


def _after(response: Response) -> Response:
    request_id = g.get("blobstream_request_id")
    if request_id:
        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
    return response


def install(app: Flask, store: object, config: dict[str, Any], listeners: Listeners) -> None:
    """Set up the app's hooks (ValueError for a bad setting) and attach them to tus."""
    from blobstream.quotas import open_quotas, parse_quotas

    on_event = config.get("on_event")
    if callable(on_event):
        listeners.on("*", on_event)
    quotas = None
    rules_text = _setting(config, "QUOTAS")
    if rules_text:
        rules = parse_quotas(str(rules_text))
        quotas = open_quotas(rules, store) if rules else None
    pre_commit_url = _setting(config, "PRE_COMMIT_URL")
    if pre_commit_url:
        hook_urls(pre_commit_url)
    hooks = Hooks(
        store,
        listeners,
        urls=hook_urls(_setting(config, "HOOK_URLS")),
        pre_commit_url=pre_commit_url,
        secret=_secret(_setting(config, "SECRET")),
        quotas=quotas,
        poll=float(_setting(config, "HOOK_POLL") or 1.0),
    )
    app.extensions[HOOKS_KEY] = hooks
    from blobstream.events.openapi import describe
    from blobstream.server.openapi import SPEC

    describe(SPEC)
    app.before_request(_before)
    app.after_request(_after)
    from blobstream.tus.blueprint import EXTENSION_KEY as TUS_KEY

    service = app.extensions.get(TUS_KEY)
    if service is not None:
        service.hooks = hooks
