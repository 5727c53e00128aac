"""The WebDAV resource tree over the store (RFC 4918 §5): keys are paths, prefixes collections.

``/dav/a/b.bin`` is the blob ``a/b.bin``; ``/dav/a/`` is a collection while some
key starts with ``a/`` or while MKCOL's marker for it is kept
(:data:`~blobstream.dav.records.DIR`). A name that is both a blob and a prefix
shows as the blob. WsgiDAV (the protocol engine) asks this provider for
resources; what changes the store is in :mod:`blobstream.dav.changes`.
"""

from __future__ import annotations

import json
from typing import Any

from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider

from blobstream.dav import changes
from blobstream.dav.records import DIR, MTIME, PROP, RequestCache, scan_all
from blobstream.errors import BlobstreamError, NotFound
from blobstream.http.keys import validate_key
from blobstream.storage.protocol import BlobInfo, BlobReader, BlobStore

PAGE = 1000
# Sorts after every key that starts with "<name>/" (keys are at most 1024 bytes).
_PAST = "\U0010ffff" * 256


def key_of(path: str) -> str:
    """The key (or collection prefix without its last ``/``) of a WsgiDAV path."""
    return path.strip("/")


class BlobProvider(DAVProvider):  # type: ignore[misc]
    """One share over the whole store; resources are made per request from ``stat``."""

    def __init__(self, store: BlobStore, records: RequestCache) -> None:
        super().__init__()
        self.store = store
        self.records = records
        self.verbose = 1

    def get_resource_inst(self, path: str, environ: dict[str, Any]) -> Any:
        key = key_of(path)
        if not key:
            return PrefixCollection("/", environ, self)
        try:
            key = validate_key(key)
        except BlobstreamError:
            return None
        try:
            return BlobResource("/" + key, environ, self, self.store.stat(key))
        except NotFound:
            pass
        if self.is_prefix(key):
            return PrefixCollection("/" + key, environ, self)
        return None

    def collection_at(self, path: str, environ: dict[str, Any]) -> PrefixCollection | None:
        """The collection at ``path``, or None (nothing, or a blob): no ``stat`` needed."""
        key = key_of(path)
        if not key:
            return PrefixCollection("/", environ, self)
        try:
            key = validate_key(key)
        except BlobstreamError:
            return None
        return PrefixCollection("/" + key, environ, self) if self.is_prefix(key) else None

    def is_prefix(self, key: str) -> bool:
        """Whether ``key/`` is a collection: marked by MKCOL or holding a key."""
        if self.records.get(DIR, key) is not None:
            return True
        return bool(self.store.list(key + "/", "", 1))

    def custom_request_handler(
        self, environ: dict[str, Any], start_response: Any, default: Any
    ) -> Any:
        # A Depth: infinity listing would be built whole in memory: 403 propfind-finite-depth
        # (RFC 4918 §9.1); of a blob it is the blob alone, of nothing a 404.
        default.__self__.allow_propfind_infinite = False
        method = environ["REQUEST_METHOD"]
        if method == "PROPFIND" and environ.get("HTTP_DEPTH", "infinity") == "infinity":
            res = self.get_resource_inst(environ["PATH_INFO"], environ)
            if res is None or not res.is_collection:
                environ["HTTP_DEPTH"] = "0"
        if method == "PUT":
            return changes.put(self, default.__self__, environ, start_response)
        return default(environ, start_response)


class BlobResource(DAVNonCollection):  # type: ignore[misc]
    """A blob, or (``info`` None) one about to be written by PUT or LOCK."""

    def __init__(
        self, path: str, environ: dict[str, Any], provider: BlobProvider, info: BlobInfo | None
    ) -> None:
        super().__init__(path, environ)
        self.provider: BlobProvider = provider
        self.key = key_of(path)
        self.info = info

    def _info(self) -> BlobInfo:
        if self.info is None:
            self.info = self.provider.store.stat(self.key)
        return self.info

    def get_content_length(self) -> int:
        return self._info().size

    def get_content_type(self) -> str:
        return self._info().content_type

    def get_creation_date(self) -> float:
        return self._info().last_modified

    def get_display_name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def get_etag(self) -> str:
        return self._info().etag

    def get_last_modified(self) -> float:
        """The X-OC-Mtime a client gave this version, else when it was committed."""
        info = self._info()
        raw = self.provider.records.get(MTIME, self.key)
        if raw is not None:
            kept = json.loads(raw)
            if kept.get("etag") == info.etag:
                return float(kept["mtime"])
        return info.last_modified

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> BlobReader:
        return self.provider.store.open(self.key)

    def begin_write(self, *, content_type: str | None = None) -> Any:
        raise DAVError(HTTP_FORBIDDEN)  # PUT is answered by changes.put

    def delete(self) -> None:
        changes.delete_blob(self)

    def handle_delete(self) -> bool:
        changes.delete_blob(self)
        return True

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        changes.copy_or_move(self, dest_path, move=False, depth_infinity=True)
        return True

    def handle_move(self, dest_path: str) -> bool:
        changes.copy_or_move(self, dest_path, move=True, depth_infinity=True)
        return True


class PrefixCollection(DAVCollection):  # type: ignore[misc]
    """The keys under one prefix; the root (path ``/``) is the empty prefix."""

    def __init__(self, path: str, environ: dict[str, Any], provider: BlobProvider) -> None:
        super().__init__(path, environ)
        self.provider: BlobProvider = provider
        self.key = key_of(path)
        self.prefix = self.key + "/" if self.key else ""

    def get_display_name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def get_used_bytes(self) -> int | None:
        return changes.quota_of(self.prefix)[0]

    def get_available_bytes(self) -> int | None:
        return changes.quota_of(self.prefix)[1]

    def children(self) -> dict[str, BlobInfo | None]:
        """Direct members by name: a blob's info, or None for a collection.

        Keys of a sub-collection are skipped over with one listing each, so a
        collection of a few names over millions of keys costs a few requests.
        """
        store = self.provider.store
        found: dict[str, BlobInfo | None] = {}
        after = ""
        while True:
            page = store.list(self.prefix, after, PAGE)
            for info in page:
                name, slash, _ = info.key[len(self.prefix) :].partition("/")
                if not slash:
                    found[name] = info
                    continue
                found.setdefault(name, None)
                after = max(self.prefix + name + "/" + _PAST, info.key)
                break
            else:
                if len(page) < PAGE:
                    break
                after = page[-1].key
        for marker, _data in scan_all(self.provider.records, DIR, self.prefix):
            found.setdefault(marker[len(self.prefix) :].partition("/")[0], None)
        found.pop("", None)
        return dict(sorted(found.items()))

    def get_member_names(self) -> list[str]:
        return list(self.children())

    def get_member_list(self) -> list[Any]:
        base = "/" + self.prefix
        provider = self.provider
        # Each member's X-OC-Mtime and dead properties: one listing, not one read each.
        provider.records.prefetch(MTIME, self.prefix)
        provider.records.prefetch(PROP, util.quote(provider.share_path + base))
        return [
            PrefixCollection(base + name, self.environ, provider)
            if info is None
            else BlobResource(base + name, self.environ, provider, info)
            for name, info in self.children().items()
        ]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst("/" + self.prefix + name, self.environ)

    def create_empty_resource(self, name: str) -> BlobResource:
        """PUT writes the blob itself; a LOCK of an unmapped URL makes it empty (§9.10.4)."""
        res = BlobResource("/" + self.prefix + name, self.environ, self.provider, None)
        if self.environ["REQUEST_METHOD"] == "LOCK":
            res.info = changes.store_empty(res.key)
        return res

    def create_collection(self, name: str) -> None:
        self.provider.records.put(DIR, self.prefix + name, b"")

    def delete(self) -> None:
        changes.delete_prefix(self)

    def handle_delete(self) -> bool:
        changes.delete_prefix(self)
        return True

    def support_recursive_delete(self) -> bool:
        return True

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        changes.copy_or_move(self, dest_path, move=False, depth_infinity=depth_infinity)
        return True

    def handle_move(self, dest_path: str) -> bool:
        changes.copy_or_move(self, dest_path, move=True, depth_infinity=True)
        return True
