"""Access control: bearer tokens with roles, presigned URLs, CORS and abuse limits.

See :mod:`blobstream.auth.policy` for which role each endpoint needs,
:mod:`blobstream.auth.presign` for the URL format and :mod:`blobstream.auth.hook`
for how a request is checked. Importing this package stays light (no Flask), so
the command line can presign without loading the server.
"""

from __future__ import annotations

from blobstream.auth.presign import presign_url, verify_presigned
from blobstream.auth.tokens import Principal, Role, TokenTable, hash_token

__all__ = [
    "Principal",
    "Role",
    "TokenTable",
    "hash_token",
    "presign_url",
    "presigned_url_for",
    "verify_presigned",
]


def presigned_url_for(key: str, method: str = "GET", expires_in: int = 3600) -> str:
    """A presigned URL for ``key`` on the current Flask app (needs ``BLOBSTREAM_SECRET``)."""
    from blobstream.auth.hook import presigned_url_for as for_app

    return for_app(key, method, expires_in)
