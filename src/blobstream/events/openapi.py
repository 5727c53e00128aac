"""Webhooks, the pre-commit hook and quota answers in ``/openapi.json`` (3.1 ``webhooks``)."""

from __future__ import annotations

from typing import Any

from blobstream.events.model import EVENTS, SIGNATURE_HEADER, TIMESTAMP_HEADER

_NULLABLE_STRING = {"type": ["string", "null"]}

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "id", "time", "key", "node"],
    "properties": {
        "event": {"type": "string", "enum": list(EVENTS)},
        "id": {"type": "string", "description": "unique: deliveries are at-least-once"},
        "time": {"type": "string", "format": "date-time"},
        "key": {"type": "string"},
        "size": {"type": ["integer", "null"]},
        "sha256": _NULLABLE_STRING,
        "etag": _NULLABLE_STRING,
        "content_type": _NULLABLE_STRING,
        "node": {"type": "string", "description": "hostname:pid of the worker"},
        "request_id": _NULLABLE_STRING,
        "upload_id": {"type": "string", "description": "upload.* events"},
        "offset": {"type": "integer", "description": "upload.* events"},
    },
}

_SIGNED = [
    {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "description": "sha256=<hex>: HMAC-SHA256 of '<timestamp>.<body>' with BLOBSTREAM_SECRET",
        "schema": {"type": "string"},
    },
    {
        "name": TIMESTAMP_HEADER,
        "in": "header",
        "required": True,
        "description": "Unix seconds when the request was signed",
        "schema": {"type": "string"},
    },
]

WEBHOOKS: dict[str, Any] = {
    "blobEvent": {
        "post": {
            "summary": "An event, POSTed to each BLOBSTREAM_HOOK_URLS URL from the outbox",
            "parameters": _SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
            },
            "responses": {"2XX": {"description": "Delivered; anything else is retried"}},
        }
    },
    "preCommit": {
        "post": {
            "summary": "Asked before each commit (BLOBSTREAM_PRE_COMMIT_URL)",
            "parameters": _SIGNED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
            },
            "responses": {
                "2XX": {"description": "The commit goes ahead"},
                "4XX": {"description": "Vetoed: the client gets this status and message"},
            },
        }
    },
}


def describe(spec: dict[str, Any]) -> None:
    """Add the webhooks, the event schema and the quota answers of the write operations."""
    spec["webhooks"] = WEBHOOKS
    spec.setdefault("components", {}).setdefault("schemas", {})["Event"] = EVENT_SCHEMA
    problem = {"$ref": "#/components/responses/Problem"}
    for path, item in spec.get("paths", {}).items():
        if not path.startswith(("/blobs", "/uploads")):
            continue
        for method in ("put", "post", "patch"):
            operation = item.get(method)
            if isinstance(operation, dict):
                operation.setdefault("responses", {}).setdefault("507", problem)
