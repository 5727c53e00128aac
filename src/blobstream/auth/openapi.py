"""Access control in ``/openapi.json``: the bearer and presigned schemes, and what is open."""

from __future__ import annotations

from typing import Any

from blobstream.auth.presign import EXPIRES_PARAM, METHOD_PARAM, SIGNATURE_PARAM

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from BLOBSTREAM_TOKENS or --tokens-file with the role read "
        "(GET, HEAD, list), write (read + PUT, POST, DELETE, /uploads) or admin (everything, "
        "/metrics when protected). 401 without a known token, 403 without the role.",
    },
    "presignedUrl": {
        "type": "apiKey",
        "in": "query",
        "name": SIGNATURE_PARAM,
        "description": f"With {METHOD_PARAM} and {EXPIRES_PARAM} (Unix seconds): hex "
        "HMAC-SHA256 with BLOBSTREAM_SECRET over method, expiry and key; grants that method "
        "(GET also allows HEAD) on /blobs/{key} until the expiry. `blobstream presign` makes one.",
    },
}
OPEN_PATHS = ("/healthz", "/openapi.json", "/")
_OPERATIONS = frozenset({"get", "head", "put", "post", "patch", "delete", "options"})
_PROBLEM = {"$ref": "#/components/responses/Problem"}


def describe(spec: dict[str, Any]) -> None:
    """Add the schemes to ``spec``: every operation needs one, except the open ones."""
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    spec["security"] = [{"bearerToken": []}, {"presignedUrl": []}]
    for path, item in spec.get("paths", {}).items():
        for name, operation in item.items():
            if name not in _OPERATIONS or not isinstance(operation, dict):
                continue
            if path in OPEN_PATHS:
                operation["security"] = []
            elif path == "/metrics":
                # Open unless BLOBSTREAM_PROTECT_METRICS is set; then admin only.
                operation["security"] = [{}, {"bearerToken": []}]
            else:
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", _PROBLEM)
                responses.setdefault("403", _PROBLEM)
