"""The tus routes in ``/openapi.json``."""

from __future__ import annotations

from typing import Any

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _header(
    name: str, description: str, required: bool = False, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


# What the server accepts, stated, so that clients (and schemathesis) send valid values:
# a non-negative decimal of at most 2^63-1, a checksum as "algorithm base64" of the
# algorithm's digest length.
NUMBER = {"type": "string", "pattern": "^[0-9]{1,18}$"}
_CHECKSUM = {
    "type": "string",
    "pattern": "^(sha1 [A-Za-z0-9+/]{27}=|sha256 [A-Za-z0-9+/]{43}=|md5 [A-Za-z0-9+/]{22}==)$",
}
_RESUMABLE = _header(
    "Tus-Resumable", "1.0.0 (412 with Tus-Version otherwise)", True, {"enum": ["1.0.0"]}
)
_ID = {
    "name": "upload_id",
    "in": "path",
    "required": True,
    "description": "the id in the Location of the creation's answer (404 for any other)",
    "schema": {"type": "string", "pattern": "^[0-9a-f]{1,64}$"},
}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def created(description: str, operations: dict[str, str]) -> dict[str, Any]:
    """A 201 naming the new upload, linked to the operations on it (OpenAPI 3.1 §4.8.20)."""
    upload_id = "$response.header.Blobstream-Upload-Id"
    offset = "$response.header.Upload-Offset"
    return {
        "description": description,
        "headers": {
            "Location": {"schema": {"type": "string"}},
            "Blobstream-Upload-Id": {"schema": {"type": "string"}},
            "Upload-Offset": {"schema": {"type": "string"}},
        },
        "links": {
            name: {
                "operationId": op,
                "parameters": {
                    "upload_id": upload_id,
                    **({"header.Upload-Offset": offset} if name == "Append" else {}),
                },
            }
            for name, op in operations.items()
        },
    }


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
                _header(
                    "Upload-Length",
                    "total size in bytes; required unless Upload-Defer-Length: 1 is sent"
                    " instead (exactly one of them), or Upload-Concat: final",
                    True,
                    NUMBER,
                ),
                _header(
                    "Upload-Defer-Length",
                    "1: the size comes with a later PATCH (then without Upload-Length)",
                    schema={"enum": ["1"]},
                ),
                _header("Upload-Metadata", "key (the blob's key), filename, filetype; base64"),
                _header(
                    "Upload-Concat",
                    "partial, or final;<urls of partial uploads>",
                    schema={"type": "string", "pattern": "^(partial|final;.*)$"},
                ),
                _header(
                    "Upload-Checksum",
                    "sha1|sha256|md5 <base64> of a body sent along",
                    schema=_CHECKSUM,
                ),
            ],
            "responses": {
                "201": created(
                    "Created; Location names the upload, Blobstream-Upload-Id its id",
                    {"Head": "tusHead", "Append": "tusPatch", "Terminate": "tusTerminate"},
                ),
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
                _header(
                    "Upload-Offset", "where the bytes go; must be the current offset", True, NUMBER
                ),
                _header(
                    "Upload-Checksum", "sha1|sha256|md5 <base64> of this chunk", False, _CHECKSUM
                ),
                _header("Upload-Length", "the size, once, for a deferred length", False, NUMBER),
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
