"""The tus routes in ``/openapi.json``."""

from __future__ import annotations

from typing import Any

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _header(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


_RESUMABLE = _header("Tus-Resumable", "1.0.0 (412 with Tus-Version otherwise)", True)
_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


PATHS: dict[str, Any] = {
    "/uploads": {
        "options": {
            "operationId": "tusOptions",
            "summary": "tus 1.0 capabilities (Tus-Version, Tus-Extension, Tus-Max-Size, …)",
            "responses": {"204": {"description": "Capabilities in headers"}},
        },
        "post": {
            "operationId": "tusCreate",
            "summary": "Create a resumable upload (creation, -with-upload, -defer-length, concat)",
            "parameters": [
                _RESUMABLE,
                _header("Upload-Length", "total size in bytes"),
                _header("Upload-Defer-Length", "1: the size comes with a later PATCH"),
                _header("Upload-Metadata", "key (the blob's key), filename, filetype; base64"),
                _header("Upload-Concat", "partial, or final;<urls of partial uploads>"),
                _header("Upload-Checksum", "sha1|sha256|md5 <base64> of a body sent along"),
            ],
            "responses": {
                "201": {"description": "Created; Location names the upload"},
                **_errors(400, 412, 413, 415, 460, 507),
            },
        },
    },
    "/uploads/{upload_id}": {
        "parameters": [_ID],
        "head": {
            "operationId": "tusHead",
            "summary": "Upload-Offset, Upload-Length, Upload-Metadata of an upload",
            "parameters": [_RESUMABLE],
            "responses": {
                "200": {"description": "The upload's state in headers"},
                "404": {"description": "No such upload"},
                "410": {"description": "The upload expired"},
                "412": {"description": "Tus-Resumable missing or not 1.0.0"},
            },
        },
        "patch": {
            "operationId": "tusPatch",
            "summary": "Append application/offset+octet-stream bytes at Upload-Offset",
            "parameters": [
                _RESUMABLE,
                _header("Upload-Offset", "where the bytes go; must be the current offset", True),
                _header("Upload-Checksum", "sha1|sha256|md5 <base64> of this chunk"),
                _header("Upload-Length", "the size, once, for a deferred length"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/offset+octet-stream": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
            },
            "responses": {
                "204": {"description": "Appended; Upload-Offset is the new offset"},
                **_errors(400, 403, 404, 409, 410, 412, 413, 415, 423, 460, 507),
            },
        },
        "delete": {
            "operationId": "tusTerminate",
            "summary": "termination: delete the upload",
            "parameters": [_RESUMABLE],
            "responses": {"204": {"description": "Deleted"}, **_errors(404, 410, 412, 423)},
        },
    },
}
