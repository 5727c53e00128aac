"""LOCK and UNLOCK state in the store (RFC 4918 §6, §9.10), so every worker and node honours it.

WsgiDAV's :class:`~wsgidav.lock_man.lock_manager.LockManager` decides; this is
its storage. A lock is the record ``"<root> <token>"`` (a root is a quoted URL
path, which has no space, so a root's locks and its members' locks are each one
prefix listing), with ``token -> root`` beside it for lookups by token. A new
lock's conflict check and its recording run in the store-wide critical section
(:meth:`~blobstream.dav.records.DavRecords.exclusive`), so two LOCKs on two
nodes cannot both win.
"""

from __future__ import annotations

import json
import time
from typing import Any

from wsgidav.lock_man.lock_manager import (
    LockManager,
    generate_lock_token,
    normalize_lock_root,
    validate_lock,
)

from blobstream.dav.records import LOCK, DavRecords, scan_all

TOKEN = "locktoken"
TIMEOUT_DEFAULT = 604800  # a week, as WsgiDAV's own storage
TIMEOUT_MAX = 4 * 604800


def _dump(lock: dict[str, Any]) -> bytes:
    return json.dumps({**lock, "owner": lock["owner"].decode("utf-8", "surrogateescape")}).encode()


def _load(data: bytes) -> dict[str, Any]:
    lock: dict[str, Any] = json.loads(data)
    lock["owner"] = lock["owner"].encode("utf-8", "surrogateescape")
    return lock


def _expired(lock: dict[str, Any]) -> bool:
    expire = float(lock["expire"])
    return 0 <= expire < time.time()


class StoreLockStorage:
    """The lock storage interface WsgiDAV's LockManager calls, over DAV records."""

    def __init__(self, records: DavRecords) -> None:
        self.records = records

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.records!r})"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def cleanup(self) -> None:
        pass

    def clear(self) -> None:
        for name, _ in list(scan_all(self.records, LOCK, "")):
            self.records.delete(LOCK, name)
        for name, _ in list(scan_all(self.records, TOKEN, "")):
            self.records.delete(TOKEN, name)

    def get(self, token: str) -> dict[str, Any] | None:
        """The lock of ``token``; None (and purged) when missing or expired."""
        root = self.records.get(TOKEN, token)
        if root is None:
            return None
        data = self.records.get(LOCK, f"{root.decode()} {token}")
        if data is None:
            self.records.delete(TOKEN, token)
            return None
        lock = _load(data)
        if _expired(lock):
            self.delete(token)
            return None
        return lock

    def create(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        root = normalize_lock_root(path)
        timeout = float(lock.get("timeout") or TIMEOUT_DEFAULT)
        if timeout < 0 or timeout > TIMEOUT_MAX:
            timeout = TIMEOUT_MAX
        lock.update(root=root, timeout=timeout, expire=time.time() + timeout)
        validate_lock(lock)
        lock["token"] = token = generate_lock_token()
        self.records.put(TOKEN, token, root.encode())
        self.records.put(LOCK, f"{root} {token}", _dump(lock))
        return lock

    def refresh(self, token: str, *, timeout: float) -> dict[str, Any]:
        lock = self.get(token)
        if lock is None:
            raise ValueError("the lock does not exist")
        if timeout < 0 or timeout > TIMEOUT_MAX:
            timeout = TIMEOUT_MAX
        lock.update(timeout=timeout, expire=time.time() + timeout)
        self.records.put(LOCK, f"{lock['root']} {token}", _dump(lock))
        return lock

    def delete(self, token: str) -> bool:
        root = self.records.get(TOKEN, token)
        if root is None:
            return False
        self.records.delete(LOCK, f"{root.decode()} {token}")
        self.records.delete(TOKEN, token)
        return True

    def get_lock_list(
        self, path: str, *, include_root: bool, include_children: bool, token_only: bool
    ) -> list[Any]:
        """The unexpired locks rooted at ``path`` and/or below it (expired ones are purged)."""
        path = normalize_lock_root(path)
        prefixes = []
        if include_root:
            prefixes.append(path + " ")
        if include_children:
            prefixes.append(path.rstrip("/") + "/")
        found: list[Any] = []
        # All locks in one listing (read once per request): a write checks the
        # locks of its path and of every ancestor.
        for name, data in list(scan_all(self.records, LOCK, "")):
            if not name.startswith(tuple(prefixes)):
                continue
            lock = _load(data)
            if _expired(lock):
                self.delete(name.rpartition(" ")[2])
                continue
            found.append(lock["token"] if token_only else lock)
        return found


class StoreLockManager(LockManager):  # type: ignore[misc]
    """WsgiDAV's lock manager with each new lock decided in the store-wide critical section."""

    def __init__(self, storage: StoreLockStorage) -> None:
        super().__init__(storage)
        self.records = storage.records

    def acquire(self, **kwargs: Any) -> Any:
        with self.records.exclusive():
            return super().acquire(**kwargs)
