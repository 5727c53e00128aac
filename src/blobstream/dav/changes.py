"""What WebDAV changes in the store, through the same write path and hooks as REST.

PUT streams the body with :func:`blobstream.ingest.store_stream` (quotas, the
pre-commit veto, events, digests, size limit, ``If-Match``); COPY and MOVE use
the store's own copy and rename (:mod:`blobstream.storage.copy`), one key at a
time over a collection's prefix, a page of keys in memory at once. A refusal
from the store becomes the WebDAV status it maps to, and the view answers it
with the problem document (:func:`refuse`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask import g, request
from wsgidav import util
from wsgidav.dav_error import (
    HTTP_BAD_REQUEST,
    HTTP_CONFLICT,
    HTTP_METHOD_NOT_ALLOWED,
    HTTP_NOT_IMPLEMENTED,
    DAVError,
)

from blobstream.dav.records import DIR, MTIME, scan_all
from blobstream.errors import BlobstreamError, NotFound, PreconditionFailed
from blobstream.events.hub import current_hooks
from blobstream.http.keys import validate_key
from blobstream.ingest import store_stream
from blobstream.server.receive import content_type_of, declared_length, expected_of, write_condition
from blobstream.server.state import state
from blobstream.server.wsgi_input import body_stream
from blobstream.storage import copy as store_copy
from blobstream.storage.protocol import BlobInfo, WriteCondition

if TYPE_CHECKING:
    from blobstream.dav.provider import BlobProvider, BlobResource, PrefixCollection

CREATED_KEY = "blobstream.dav.created"
PAGE = 1000


@contextmanager
def refuse() -> Iterator[None]:
    """Turn a store refusal into a DAVError of its status, kept for the view's answer."""
    try:
        yield
    except BlobstreamError as err:
        g.blobstream_dav_error = err
        raise DAVError(err.status, context_info=err.detail) from err


# -- PUT (RFC 4918 §9.7) ------------------------------------------------------------------


def put(
    provider: BlobProvider, server: Any, environ: dict[str, Any], start_response: Any
) -> list[bytes]:
    """WsgiDAV's do_PUT checks (collection, parent, If, locks), then the REST write path."""
    from blobstream.dav.provider import BlobResource

    path = environ["PATH_INFO"]
    environ["wsgidav.some_input_read"] = 1  # never let WsgiDAV read a body to discard it
    if "HTTP_CONTENT_ENCODING" in environ:
        raise DAVError(HTTP_NOT_IMPLEMENTED, "Content-Encoding is not supported")
    if "HTTP_CONTENT_RANGE" in environ:
        raise DAVError(HTTP_BAD_REQUEST, "Content-Range is not allowed on PUT")
    mtime = environ.get("HTTP_X_OC_MTIME")
    if mtime is not None and not mtime.strip().isdigit():
        raise DAVError(HTTP_BAD_REQUEST, "X-OC-Mtime must be whole seconds since 1970")
    res = provider.get_resource_inst(path, environ)
    if res is not None and res.is_collection:
        raise DAVError(HTTP_METHOD_NOT_ALLOWED, "cannot PUT to a collection")
    parent = provider.collection_at(util.get_uri_parent(path), environ)
    if parent is None:
        raise DAVError(HTTP_CONFLICT, "the parent collection does not exist")
    server._evaluate_if_headers(res, environ)
    if res is None:
        server._check_write_permission(parent, "0", environ)
        res = BlobResource(path, environ, provider, None)
    else:
        server._check_write_permission(res, "0", environ)
    with server._write_transaction(res, environ):
        info, created = store_body(res.key, res.info)
    environ["wsgidav.all_input_read"] = 1
    headers = [("ETag", f'"{info.etag}"')]
    if mtime is not None:
        record = {"etag": info.etag, "mtime": int(mtime)}
        provider.records.put(MTIME, info.key, json.dumps(record).encode())
        headers.append(("X-OC-Mtime", "accepted"))
    if not created:
        start_response("204 No Content", [*headers, ("Content-Length", "0")])
        return []
    body = json.dumps(info.to_json()).encode()  # what PUT /blobs answers
    headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response("201 Created", headers)
    return [body]


def store_body(key: str, current: BlobInfo | None) -> tuple[BlobInfo, bool]:
    """The request body as the new version of ``key``, exactly as ``PUT /blobs`` stores it."""
    s = state()
    return store_stream(
        s.store,
        key,
        body_stream(request),
        length=declared_length(request, s.max_size),
        limit=s.max_size,
        content_type=content_type_of(request),
        condition=write_condition(request, current),
        expected=expected_of(request),
    )


def store_empty(key: str) -> BlobInfo:
    """The empty blob a LOCK of an unmapped URL makes (RFC 4918 §7.3)."""
    with refuse():
        info, _ = store_stream(
            state().store,
            key,
            io.BytesIO(),
            length=0,
            condition=WriteCondition(if_none_match=("*",)),
        )
    return info


# -- DELETE (RFC 4918 §9.6) -----------------------------------------------------------------


def _forget(provider: BlobProvider, ref_url: str, key: str, tree: bool) -> None:
    """Drop the dead properties and locks of a removed resource (and its members)."""
    if provider.prop_manager is not None:
        provider.prop_manager.remove_properties(ref_url, tree=tree)
    if provider.lock_manager is not None:
        provider.lock_manager.remove_all_locks_from_url(ref_url, recursive=tree)
    provider.records.delete(MTIME, key)


def _delete_key(key: str) -> None:
    with refuse():
        try:
            removed = state().store.delete(key)
        except NotFound:
            return
    hooks = current_hooks()
    if hooks is not None:
        hooks.deleted(removed)


def check_unlocked(res: Any) -> None:
    """423 unless ``res`` and its members are unlocked or their tokens were submitted."""
    lock_man = res.provider.lock_manager
    if lock_man is not None:
        lock_man.check_write_permission(
            url=res.get_ref_url(),
            depth="infinity",
            token_list=res.environ.get("wsgidav.ifLockTokenList", []),
            principal=res.environ.get("wsgidav.user_name"),
        )


def delete_blob(res: BlobResource) -> None:
    check_unlocked(res)
    _delete_key(res.key)
    _forget(res.provider, res.get_ref_url(), res.key, tree=False)


def delete_prefix(res: PrefixCollection) -> None:
    """Remove every key under the prefix, a page at a time, then its markers."""
    provider = res.provider
    check_unlocked(res)
    after = ""
    while page := provider.store.list(res.prefix, after, PAGE):
        for info in page:
            _delete_key(info.key)
            provider.records.delete(MTIME, info.key)
        after = page[-1].key
    for name, _ in list(scan_all(provider.records, DIR, res.prefix)):
        provider.records.delete(DIR, name)
    provider.records.delete(DIR, res.key)
    _forget(provider, res.get_ref_url(), res.key, tree=True)


# -- COPY and MOVE (RFC 4918 §9.8, §9.9) --------------------------------------------------


def _one(src: BlobInfo, dst_key: str, move: bool) -> None:
    """Copy or move one blob inside the store, asking the hooks as a REST copy does."""
    hooks = current_hooks()
    with refuse():
        if hooks is not None:
            hooks.room(dst_key, src.size)
            hooks.before_commit(dst_key, src.size, src.sha256, src.content_type)
        action = store_copy.move_blob if move else store_copy.copy_blob
        try:
            info, _ = action(state().store, src.key, dst_key, source_etag=src.etag)
        except (NotFound, PreconditionFailed):
            return  # changed or removed meanwhile: the newer state is someone else's
    if hooks is not None:
        hooks.committed(info)
        if move:
            hooks.deleted(src)


def copy_or_move(res: Any, dest_path: str, *, move: bool, depth_infinity: bool) -> None:
    """COPY or MOVE ``res`` onto ``dest_path`` (WsgiDAV checked locks and Overwrite)."""
    from blobstream.dav.provider import key_of

    provider: BlobProvider = res.provider
    environ = res.environ
    with refuse():
        dst = validate_key(key_of(dest_path))
    existing = provider.get_resource_inst(dest_path, environ)
    environ[CREATED_KEY] = existing is None
    if existing is not None:
        existing.handle_delete()
    props = provider.prop_manager
    src_ref = res.get_ref_url()
    if not res.is_collection:
        _one(res.info, dst, move)
        dst_ref = provider.get_resource_inst("/" + dst, environ)
        if props is not None and dst_ref is not None:
            props.copy_properties(src_ref, dst_ref.get_ref_url())
        if move:
            _forget(provider, src_ref, res.key, tree=False)
        return
    provider.records.put(DIR, dst, b"")
    dst_prefix = dst + "/"
    dst_ref = util.quote(provider.share_path + "/" + dst_prefix)
    if props is not None:
        props.copy_tree(src_ref, dst_ref, tree=depth_infinity)
    if not depth_infinity:
        return
    after = ""
    while page := provider.store.list(res.prefix, after, PAGE):
        for info in page:
            _one(info, dst_prefix + info.key[len(res.prefix) :], move)
        after = page[-1].key
    for name, data in list(scan_all(provider.records, DIR, res.prefix)):
        provider.records.put(DIR, dst_prefix + name[len(res.prefix) :], data)
    if move:
        delete_prefix(res)


# -- quotas as properties (RFC 4331) ------------------------------------------------------


def quota_of(prefix: str) -> tuple[int | None, int | None]:
    """Bytes used and left under the closest prefix quota that covers ``prefix``."""
    hooks = current_hooks()
    quotas = hooks.quotas if hooks is not None else None
    if quotas is None:
        return None, None
    rules = [
        r
        for r in quotas.rules
        if r.prefix is not None and r.max_bytes is not None and prefix.startswith(r.prefix)
    ]
    if not rules:
        return None, None
    rule = max(rules, key=lambda r: len(r.prefix or ""))
    used = quotas.usage(rule.scope)[0]
    assert rule.max_bytes is not None
    return used, max(0, rule.max_bytes - used)
