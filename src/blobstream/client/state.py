"""Resume state: which tus upload URL belongs to which local file, which ETag to which ``.part``.

A small JSON file under the user's cache directory (``$XDG_CACHE_HOME/blobstream``),
updated under an exclusive lock and replaced atomically, so two transfers at once
do not lose each other's entries. Entries older than a month are dropped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

MAX_AGE = 30 * 86400.0


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/blobstream``, else ``~/.cache/blobstream``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "blobstream"


def upload_ident(server: str, key: str, path: Path, size: int, mtime_ns: int) -> str:
    """Names one local file's upload: a changed file (size or mtime) is a new upload."""
    return json.dumps([server.rstrip("/"), key, str(path.resolve()), size, mtime_ns])


def download_ident(server: str, key: str, dest: Path) -> str:
    return json.dumps([server.rstrip("/"), key, str(dest.resolve())])


class ResumeState:
    """Sections (``uploads``, ``downloads``) of ident -> small JSON object."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> ResumeState:
        return cls(cache_dir(env) / "resume.json")

    def get(self, section: str, ident: str) -> dict[str, Any] | None:
        with self._locked() as data:
            entry = data.get(section, {}).get(ident)
        return dict(entry) if isinstance(entry, dict) else None

    def put(self, section: str, ident: str, value: Mapping[str, Any]) -> None:
        with self._locked(write=True) as data:
            data.setdefault(section, {})[ident] = {**value, "saved": time.time()}

    def remove(self, section: str, ident: str) -> None:
        with self._locked(write=True) as data:
            data.get(section, {}).pop(ident, None)

    @contextlib.contextmanager
    def _locked(self, write: bool = False) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._load()
            yield data
            if write:
                self._save(data)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        cutoff = time.time() - MAX_AGE
        for section in data.values():
            if isinstance(section, dict):
                for ident in [i for i, e in section.items() if e.get("saved", 0) < cutoff]:
                    del section[ident]
        return data

    def _save(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".resume-")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
