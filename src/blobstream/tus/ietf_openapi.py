"""The IETF resumable-upload routes in ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from blobstream.tus.openapi import NUMBER, _errors, _header, created

_VERSION = _header(
    "Upload-Draft-Interop-Version",
    "3, 4, 5 or 6 (400 otherwise)",
    True,
    {"enum": ["3", "4", "5", "6"]},
)
_COMPLETE = _header(
    "Upload-Complete", "?1 when this body ends the upload, else ?0", True, {"enum": ["?1", "?0"]}
)
_STATE = {
    "Upload-Offset": {"schema": {"type": "integer"}},
    "Upload-Complete": {"schema": {"type": "string"}},
    "Upload-Length": {"schema": {"type": "integer"}},
}
_CREATED = created(
    "Created; Location is the upload resource",
    {"Offset": "ietfOffset", "Append": "ietfAppend", "Cancel": "ietfCancel"},
)
_CREATED["headers"].update(_STATE)
_CREATE: dict[str, Any] = {
    "summary": "Create an IETF resumable upload (draft-ietf-httpbis-resumable-upload),"
    " possibly with its first or all bytes; no 104 (gunicorn cannot send 1xx)",
    "parameters": [
        _VERSION,
        _COMPLETE,
        _header("Upload-Length", "total size, when known", False, NUMBER),
        _header("Upload-Metadata", "tus-style; its key names the blob on /uploads/ietf"),
    ],
    "requestBody": {
        "required": False,
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    },
    "responses": {
        "201": _CREATED,
        **_errors(400, 409, 413, 507),
    },
}

PATHS: dict[str, Any] = {
    "/uploads/ietf": {"post": {**_CREATE, "operationId": "ietfCreate"}},
    "/uploads/ietf/{key}": {
        "parameters": [
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "post": {**_CREATE, "operationId": "ietfCreateKey"},
    },
    "/uploads/{upload_id}/ietf": {
        "parameters": [
            {
                "name": "upload_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9a-f]{1,64}$"},
            }
        ],
        "head": {
            "operationId": "ietfOffset",
            "summary": "Offset retrieval",
            "parameters": [_VERSION],
            "responses": {
                "204": {"description": "State", "headers": _STATE},
                **_errors(400, 404, 410),
            },
        },
        "patch": {
            "operationId": "ietfAppend",
            "summary": "Append at Upload-Offset (application/partial-upload for version 6)",
            "parameters": [
                _VERSION,
                _COMPLETE,
                _header("Upload-Offset", "where the body goes", True, NUMBER),
            ],
            "requestBody": {
                "required": True,
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "responses": {
                "204": {"description": "Appended", "headers": _STATE},
                **_errors(400, 404, 409, 410, 413, 415, 423),
            },
        },
        "delete": {
            "operationId": "ietfCancel",
            "summary": "Upload cancellation",
            "parameters": [_VERSION],
            "responses": {"204": {"description": "Cancelled"}, **_errors(400, 404, 410)},
        },
    },
}
