"""blobstream: stream very large blobs over HTTP with Flask, in bounded memory."""

from __future__ import annotations

from blobstream.streams import CopyResult, copy_stream

__all__ = ["CopyResult", "copy_stream"]
__version__ = "0.1.0"
