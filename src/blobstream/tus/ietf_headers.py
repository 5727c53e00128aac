"""The IETF resumable-upload draft's request headers as pure functions.

draft-ietf-httpbis-resumable-upload, the interop versions tus-js-client's
``protocol: 'ietf-draft-03'`` (``Upload-Draft-Interop-Version: 5``) and
``'ietf-draft-05'`` (``6``) and Apple's URLSession send: ``Upload-Complete``
(a Structured Field boolean, RFC 8941 §3.3.6), or the older inverse
``Upload-Incomplete`` (interop versions 3 and 4).
"""

from __future__ import annotations

from blobstream.errors import InvalidHeader

INTEROP_VERSIONS = ("3", "4", "5", "6")
PARTIAL_UPLOAD = "application/partial-upload"


def parse_interop_version(value: str | None) -> str:
    """``Upload-Draft-Interop-Version``: required, one of the versions we speak."""
    if value is None:
        raise InvalidHeader("the request has no Upload-Draft-Interop-Version")
    text = value.strip(" \t")
    if text not in INTEROP_VERSIONS:
        raise InvalidHeader(
            f"Upload-Draft-Interop-Version {value[:20]!r} is not one of "
            + ", ".join(INTEROP_VERSIONS)
        )
    return text


def parse_sf_boolean(value: str | None, name: str) -> bool | None:
    """An RFC 8941 boolean item, ``?1`` or ``?0`` (parameters are ignored, §3.1.2)."""
    if value is None:
        return None
    item = value.strip(" \t").split(";", 1)[0].strip(" \t")
    if item == "?1":
        return True
    if item == "?0":
        return False
    raise InvalidHeader(f"{name} must be ?1 or ?0, not {value[:20]!r}")


def parse_complete(complete: str | None, incomplete: str | None) -> bool | None:
    """Whether this request's body ends the upload (None when neither field is sent)."""
    done = parse_sf_boolean(complete, "Upload-Complete")
    not_done = parse_sf_boolean(incomplete, "Upload-Incomplete")
    if done is not None and not_done is not None and done == not_done:
        raise InvalidHeader("Upload-Complete and Upload-Incomplete contradict each other")
    if done is not None:
        return done
    return None if not_done is None else not not_done


def format_sf_boolean(value: bool) -> str:
    return "?1" if value else "?0"
