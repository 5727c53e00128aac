"""Which role each endpoint needs: read to look, write to change, admin for the rest.

One table, decided from the matched endpoint and the method, so a new route is
covered by the general rule (safe methods need ``read``, others ``write``)
before anyone thinks about it.
"""

from __future__ import annotations

from blobstream.auth.tokens import Role

# Open to anyone: liveness, the API description, and the web page with its
# static files (the page then asks for a token for its API calls).
OPEN_ENDPOINTS = frozenset({"health.healthz", "openapi.openapi"})
OPEN_BLUEPRINTS_SAFE = frozenset({"web"})
METRICS_ENDPOINT = "metrics.metrics"
# Resumable uploads change the store whatever the method (HEAD tells an offset).
UPLOAD_BLUEPRINTS = frozenset({"tus", "uploads", "resumable"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Methods whose body is stored: they count against the uploads cap.
UPLOAD_METHODS = frozenset({"PUT", "POST", "PATCH"})
# WebDAV (RFC 4918): PROPFIND only looks; LOCK, PROPPATCH, MKCOL, COPY, MOVE change.
DAV_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND"})


def required_role(
    endpoint: str | None, rule: str | None, method: str, *, protect_metrics: bool = False
) -> Role | None:
    """The least role a request needs, or None when the endpoint is open to anyone."""
    method = method.upper()
    if endpoint is None:
        return None  # no route matched: the 404 or 405 tells nothing worth guarding
    blueprint = endpoint.rpartition(".")[0]
    if endpoint in OPEN_ENDPOINTS:
        return None
    if endpoint == METRICS_ENDPOINT:
        return Role.ADMIN if protect_metrics else None
    if blueprint in OPEN_BLUEPRINTS_SAFE or endpoint == "static":
        return None if method in SAFE_METHODS else Role.WRITE
    if blueprint == "dav":
        return Role.READ if method in DAV_READ_METHODS else Role.WRITE
    if blueprint in UPLOAD_BLUEPRINTS or (rule is not None and "/uploads" in rule):
        return Role.WRITE
    return Role.READ if method in SAFE_METHODS else Role.WRITE


def is_upload(method: str) -> bool:
    return method.upper() in UPLOAD_METHODS
