"""Who is writing: the current request's id and token id, for quotas and events alike."""

from __future__ import annotations


def request_context() -> tuple[str | None, str | None]:
    """The current request's id and token id (None outside a request)."""
    from flask import g, has_request_context

    if not has_request_context():
        return None, None
    principal = g.get("blobstream_principal")
    return g.get("blobstream_request_id"), getattr(principal, "token_id", None)
