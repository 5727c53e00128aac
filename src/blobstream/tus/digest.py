"""The whole upload's SHA-256, sent by the client and checked before the upload becomes a blob.

A tus upload created with the metadata pair ``repr-digest sha-256`` (this
module's :data:`MARKER`) completes only on a request that carries
``Repr-Digest: sha-256=:…:`` — the digest of the whole representation being
uploaded (RFC 9530 §3), not of this request's bytes — in its header section or,
for a chunked body, in its trailer section (RFC 9530 §2, announced by
``Trailer: Repr-Digest``, RFC 9110 §6.6.2). Until then the upload waits with
all its bytes: a HEAD does not complete it, so bytes that do not match the
client's file are never committed. A mismatch discards the upload.

``blobstream put`` sends the file in one chunked PATCH with the digest in its
trailer (one read of the file, hashed while it is sent), or, when trailers
cannot pass, a PATCH of the bytes and then an empty one with the header.
"""

from __future__ import annotations

from collections.abc import Mapping

from blobstream.errors import BadRequest, InvalidHeader
from blobstream.http.digests import parse_digest_field

MARKER = ("repr-digest", "sha-256")
FIELD = "repr-digest"


def required(metadata: Mapping[str, str]) -> bool:
    """Whether the upload waits for a matching ``Repr-Digest`` before it completes."""
    return metadata.get(MARKER[0], "").strip().lower() == MARKER[1]


def parse_sha256(value: str | None) -> bytes | None:
    """The SHA-256 in a ``Repr-Digest`` value (None when absent or naming other algorithms)."""
    digest = parse_digest_field(value).get("sha-256")
    if digest is not None and len(digest) != 32:
        raise InvalidHeader("Repr-Digest sha-256 must be 32 bytes")
    return digest


def sent_sha256(header: str | None, body: object) -> bytes | None:
    """The whole upload's SHA-256 from the header, else from the body's trailer section.

    ``body`` is the request's stream, read to its end (``wsgi_input.body_stream``):
    it has ``trailers`` and ``announced`` when it was chunked. A ``Repr-Digest``
    announced in ``Trailer`` but absent, or one this server cannot see, is a 400.
    """
    found = parse_sha256(header)
    if found is not None:
        return found
    announced = FIELD in getattr(body, "announced", ())
    trailers = getattr(body, "trailers", None)
    if trailers is None:
        if announced:
            raise BadRequest(
                "this server cannot read trailer fields: send Repr-Digest in the header "
                "section of an empty PATCH at the end of the upload"
            )
        return None
    values = [value for name, value in trailers if name == FIELD]
    if not values:
        if announced:
            raise BadRequest("the trailer section lacks the announced Repr-Digest")
        return None
    return parse_sha256(", ".join(values))
