"""Per-app state of the extension, kept in ``app.extensions`` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from blobstream.storage.protocol import BlobStore

EXTENSION_KEY = "blobstream"


@dataclass
class State:
    store: BlobStore
    max_size: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    blueprints: list[str] = field(default_factory=list)  # the names of blobstream's own


def state() -> State:
    """The state of the Blobstream extension on the current app."""
    ext: State = current_app.extensions[EXTENSION_KEY]
    return ext
