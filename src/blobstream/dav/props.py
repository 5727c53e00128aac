"""Dead properties (PROPPATCH, RFC 4918 §9.2) kept in the store, one record per resource.

The record of a resource is named by its quoted path (a collection's ends with
``/``, so a collection's members are one prefix listing) and holds a JSON
object of property name (Clark notation) to XML string. Read-modify-write of a
record runs in the store-wide critical section, so two PROPPATCHes on two
nodes do not lose each other's properties.
"""

from __future__ import annotations

import json
from typing import Any

from blobstream.dav.records import PROP, DavRecords, scan_all


class StorePropertyManager:
    """The property manager interface WsgiDAV calls, over DAV records."""

    def __init__(self, records: DavRecords) -> None:
        self.records = records

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.records!r})"

    def _read(self, url: str) -> dict[str, str]:
        data = self.records.get(PROP, url)
        props: dict[str, str] = json.loads(data) if data else {}
        return props

    def _write(self, url: str, props: dict[str, str]) -> None:
        if props:
            self.records.put(PROP, url, json.dumps(props, sort_keys=True).encode())
        else:
            self.records.delete(PROP, url)

    def get_properties(self, norm_url: str, environ: Any = None) -> list[str]:
        return list(self._read(norm_url))

    def get_property(self, norm_url: str, name: str, environ: Any = None) -> Any:
        value = self._read(norm_url).get(name)
        return None if value is None else value.encode("utf-8", "surrogateescape")

    def write_property(
        self,
        norm_url: str,
        name: str,
        property_value: Any,
        dry_run: bool = False,
        environ: Any = None,
    ) -> None:
        if dry_run:
            return
        if isinstance(property_value, bytes):
            property_value = property_value.decode("utf-8", "surrogateescape")
        with self.records.exclusive():
            props = self._read(norm_url)
            props[name] = property_value
            self._write(norm_url, props)

    def remove_property(
        self, norm_url: str, name: str, dry_run: bool = False, environ: Any = None
    ) -> None:
        if dry_run:
            return
        with self.records.exclusive():
            props = self._read(norm_url)
            if props.pop(name, None) is not None:
                self._write(norm_url, props)

    def remove_properties(self, norm_url: str, environ: Any = None, *, tree: bool = False) -> None:
        self.records.delete(PROP, norm_url)
        if tree and norm_url.endswith("/"):
            for name, _ in list(scan_all(self.records, PROP, norm_url)):
                self.records.delete(PROP, name)

    def copy_properties(self, src_url: str, dest_url: str, environ: Any = None) -> None:
        data = self.records.get(PROP, src_url)
        if data is None:
            self.records.delete(PROP, dest_url)
        else:
            self.records.put(PROP, dest_url, data)

    def copy_tree(self, src_url: str, dest_url: str, *, tree: bool) -> None:
        """Copy a collection's properties (and with ``tree`` its members') to ``dest_url``."""
        self.copy_properties(src_url, dest_url)
        if tree and src_url.endswith("/"):
            for name, data in scan_all(self.records, PROP, src_url):
                self.records.put(PROP, dest_url + name[len(src_url) :], data)

    def move_properties(
        self, src_url: str, dest_url: str, with_children: bool, environ: Any = None
    ) -> None:
        self.copy_tree(src_url, dest_url, tree=with_children)
        self.remove_properties(src_url, tree=with_children)
