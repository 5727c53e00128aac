"""The S3-compatible API on its own listener (SPEC "One store, four dialects").

:class:`~blobstream.s3.app.S3App` is a WSGI app over the storage protocol: an
object ``k`` in bucket ``b`` is the blob ``b/k``, written through the same
``ingest.store_stream`` and commit hooks as the REST API.
"""

from __future__ import annotations

from blobstream.s3.app import S3App

__all__ = ["S3App"]
