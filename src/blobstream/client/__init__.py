"""The Python client of blobstream: ``Client(url, token).put/get/open/stat/list/delete``."""

from __future__ import annotations

from blobstream.extras import needs

with needs("client", "blobstream's client"):  # requests
    from blobstream.client.core import Client
    from blobstream.client.errors import (
        BlobChangedError,
        ClientError,
        ConflictError,
        ConnectionFailed,
        InvalidKeyError,
        NotFoundError,
        RefusedError,
        ServerError,
        VerificationError,
    )
    from blobstream.client.models import BlobStat
    from blobstream.client.state import ResumeState

__all__ = [
    "BlobChangedError",
    "BlobStat",
    "Client",
    "ClientError",
    "ConflictError",
    "ConnectionFailed",
    "InvalidKeyError",
    "NotFoundError",
    "RefusedError",
    "ResumeState",
    "ServerError",
    "VerificationError",
]
