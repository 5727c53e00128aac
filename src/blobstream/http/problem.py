"""Problem details bodies for HTTP APIs (RFC 9457)."""

from __future__ import annotations

from blobstream.errors import PROBLEM_JSON, BlobstreamError

__all__ = ["PROBLEM_JSON", "problem", "problem_from_error"]

_MEMBERS = frozenset({"type", "title", "status", "detail"})


def problem(
    status: int, title: str, detail: str, type_uri: str = "about:blank", **extra: object
) -> dict[str, object]:
    """A problem details object (RFC 9457 §3.1); ``extra`` adds members such as ``instance``."""
    clash = _MEMBERS.intersection(extra)
    if clash:
        raise ValueError(f"extension members may not redefine {sorted(clash)}")
    return {"type": type_uri, "title": title, "status": status, "detail": detail, **extra}


def problem_from_error(err: BlobstreamError) -> dict[str, object]:
    """The problem details object for a blobstream error (RFC 9457 §3.1)."""
    return err.as_problem()
