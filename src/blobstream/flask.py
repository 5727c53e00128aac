"""The one import for Flask developers: stream big bodies in and out of your own views.

``receive_request(sink, limit=...)`` copies the request body into any writable
stream in ~1 MiB pieces, hashing it and checking the size limit and the
client's ``Content-MD5`` / ``Content-Digest`` (RFC 9530). ``send_stream(stream,
...)`` answers a GET or HEAD from a seekable stream with Range (RFC 9110 §14),
conditionals (§13) and ``Repr-Digest``. ``copy_stream`` is the same loop
without Flask. ``Blobstream(app)`` mounts the whole blob API (it needs the
``[server]`` extra).

Every refusal these helpers raise is a :class:`BlobstreamError`, which is also
a Werkzeug ``HTTPException``: left uncaught, any Flask app answers it with its
4xx ``application/problem+json`` (RFC 9457), extension or not.

What a refused body leaves in your sink: ``receive_request`` never truncates,
closes or deletes the sink. Bytes are written as they arrive, so after a
refusal found mid-stream (:class:`TooLarge`, :class:`IncompleteBody`) the sink
holds the part that came before it, and after a :class:`DigestMismatch` it
holds the whole body that failed the check. Write to a temporary name (or an
uncommitted transaction, or an S3 multipart upload) and make it visible only
once ``receive_request`` returned; discard it when it raises::

    @app.put("/files/<name>")
    def upload(name):
        part = folder / f".{name}.part"
        try:
            with part.open("wb") as sink:
                result = receive_request(sink, limit=50 << 30)
            part.rename(folder / name)
        finally:
            part.unlink(missing_ok=True)
        return {"size": result.size, "sha256": result.sha256}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blobstream.errors import (
    PROBLEM_JSON,
    BadRequest,
    BlobstreamError,
    DigestMismatch,
    IncompleteBody,
    InvalidHeader,
    LengthRequired,
    NotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    RequestTimeout,
    TooLarge,
)
from blobstream.server.receive import receive_request
from blobstream.server.responses import send_stream
from blobstream.streams import CopyResult, copy_stream

if TYPE_CHECKING:
    from blobstream.server.extension import Blobstream

__all__ = [
    "PROBLEM_JSON",
    "BadRequest",
    "Blobstream",
    "BlobstreamError",
    "CopyResult",
    "DigestMismatch",
    "IncompleteBody",
    "InvalidHeader",
    "LengthRequired",
    "NotFound",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "RequestTimeout",
    "TooLarge",
    "copy_stream",
    "receive_request",
    "send_stream",
]


def __getattr__(name: str) -> Any:
    # The extension brings the server's dependencies (the [server] extra): the
    # helpers above work without them.
    if name == "Blobstream":
        from blobstream.server.extension import Blobstream

        return Blobstream
    raise AttributeError(f"module 'blobstream.flask' has no attribute {name!r}")
