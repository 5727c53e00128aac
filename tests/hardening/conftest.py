"""Tools the hardening tests share: a server's worker processes, the index of a local store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psutil

from tests.support import Server


def workers(server: Server) -> set[int]:
    """The pids of the server's gunicorn workers (children of the master)."""
    assert server.proc is not None
    return {child.pid for child in psutil.Process(server.proc.pid).children()}


def indexed_files(root: Path) -> dict[str, str]:
    """Key -> data file id, read from a local store's SQLite index (read-only)."""
    with sqlite3.connect(f"{(root / 'index.sqlite3').as_uri()}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT key, file FROM blobs").fetchall()
    db.close()
    return {bytes(key).decode(): file for key, file in rows}


def server_rss(server: Server) -> int:
    """Resident memory of the master and all workers, in bytes."""
    assert server.proc is not None
    master = psutil.Process(server.proc.pid)
    return sum(p.memory_info().rss for p in [master, *master.children(recursive=True)])
