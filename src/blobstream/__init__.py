"""blobstream: stream very large blobs over HTTP with Flask, in bounded memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blobstream.streams import CopyResult, copy_stream

if TYPE_CHECKING:
    from blobstream.client import Client

__all__ = ["Client", "CopyResult", "copy_stream"]


def __getattr__(name: str) -> Any:
    # The client pulls in requests; import it only when asked for.
    if name == "Client":
        from blobstream.client import Client

        return Client
    raise AttributeError(f"module 'blobstream' has no attribute {name!r}")


__version__ = "0.1.0"
