"""``GET /openapi.json``: an OpenAPI 3.1 description of the HTTP API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__)

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "1-1024 bytes of UTF-8, '/'-separated segments; no empty, '.' or '..' segment",
    "schema": {"type": "string", "minLength": 1, "maxLength": 1024},
}


_COPY_CONDITIONS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


_WRITE_HEADERS = [
    _header("If-Match", "replace only this version (RFC 9110 §13.1.1)"),
    _header("If-None-Match", "'*': create only (RFC 9110 §13.1.2)"),
    _header("Content-MD5", "base64 MD5 of the body, checked before commit"),
    _header("Content-Digest", "RFC 9530: sha-256 or md5, checked before commit"),
]
_READ_HEADERS = [
    _header("Range", "bytes=… (RFC 9110 §14.2); several ranges give multipart/byteranges"),
    _header("If-Range", "an ETag or date guarding Range"),
    _header("If-None-Match", "304 when the ETag matches"),
    _header("If-Modified-Since", "304 when not modified since"),
    _header("If-Match", "412 unless the ETag matches"),
    _header("If-Unmodified-Since", "412 when modified since"),
]


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def _stored(description: str, key: str) -> dict[str, Any]:
    """A Blob answer with links to read and delete what was stored (for stateful clients)."""
    return {
        **_json("Blob", description),
        "links": {
            name: {"operationId": op, "parameters": {"key": key}}
            for name, op in (("GetStored", "getBlob"), ("DeleteStored", "deleteBlob"))
        },
    }


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "blobstream",
        "version": "0.1.0",
        "description": "Stream very large blobs over HTTP in bounded memory.",
    },
    "paths": {
        "/blobs": {
            "get": {
                "operationId": "listBlobs",
                "summary": "List blobs in key order",
                "parameters": [
                    {"name": "prefix", "in": "query", "schema": {"type": "string"}},
                    {"name": "after", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 10000,
                            "default": 1000,
                        },
                    },
                ],
                "responses": {"200": _json("BlobList", "One page of blobs"), **_errors(400)},
            },
            "post": {
                "operationId": "postBlob",
                "summary": "Store a body under a server-chosen key, or the files of a form",
                "requestBody": {
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        },
                        "multipart/form-data": {"schema": {"type": "object"}},
                    }
                },
                "responses": {
                    "201": {
                        "description": "Stored: one blob, or the files of a form as a list",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Blob"},
                                        {"$ref": "#/components/schemas/StoredBlobs"},
                                    ]
                                }
                            }
                        },
                    },
                    **_errors(400, 413, 507),
                },
            },
        },
        "/blobs/{key}": {
            "parameters": [_KEY],
            "put": {
                "operationId": "putBlob",
                "summary": "Store the raw body under key, atomically, or copy/move a blob there",
                "parameters": [
                    *_WRITE_HEADERS,
                    _header(
                        "Blobstream-Copy-Source",
                        "/blobs/{src} (key percent-encoded): copy that blob inside the store;"
                        " no body; 404 if it is missing, 400 onto itself",
                    ),
                    _header("Blobstream-Copy-Mode", "copy (default) or move (removes the source)"),
                    *(
                        _header(f"Blobstream-Copy-Source-{name}", f"{name} on the source (412)")
                        for name in _COPY_CONDITIONS
                    ),
                ],
                "requestBody": {
                    "required": False,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "200": _stored("Replaced", "$request.path.key"),
                    "201": _stored("Created", "$request.path.key"),
                    **_errors(400, 411, 412, 413, 414, 507),
                },
            },
            "get": {
                "operationId": "getBlob",
                "summary": "Stream the blob, whole or in ranges",
                "parameters": [
                    *_READ_HEADERS,
                    {"name": "download", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "follow",
                        "in": "query",
                        "description": "1 or an upload id: stream an unfinished upload of key"
                        " as its bytes arrive (also the Blobstream-Follow header)",
                        "schema": {"type": "string"},
                    },
                    _header("Blobstream-Follow", "as the follow query argument"),
                ],
                "responses": {
                    "200": {
                        "description": "The blob's bytes, with the content type it was stored"
                        " with (no schema: they are never parsed)",
                        "content": {"*/*": {}},
                    },
                    "206": {"description": "Partial content"},
                    "304": {"description": "Not modified"},
                    **_errors(400, 404, 412, 414, 416),
                },
            },
            "head": {
                "operationId": "headBlob",
                "summary": "The headers GET would send",
                "parameters": _READ_HEADERS,
                "responses": {
                    "200": {"description": "The blob exists"},
                    "206": {"description": "The range would be sent"},
                    "304": {"description": "Not modified"},
                    "400": {"description": "Invalid key"},
                    "404": {"description": "No such blob"},
                    "412": {"description": "A precondition does not hold"},
                    "414": {"description": "The key is too long for the request line"},
                    "416": {"description": "No range is satisfiable"},
                },
            },
            "delete": {
                "operationId": "deleteBlob",
                "summary": "Delete the blob",
                "parameters": [_header("If-Match", "delete only this version")],
                "responses": {
                    "204": {"description": "Deleted"},
                    **_errors(400, 404, 412, 414),
                },
            },
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Whether storage answers",
                "responses": {
                    "200": {"description": "Healthy"},
                    "503": {"description": "Storage unavailable"},
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {}}},
                    }
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Blob": {
                "type": "object",
                "required": ["key", "size", "etag", "sha256", "content_type", "last_modified"],
                "properties": {
                    "key": {"type": "string"},
                    "size": {"type": "integer", "minimum": 0},
                    "etag": {"type": "string"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "content_type": {"type": "string"},
                    "last_modified": {"type": "string", "format": "date-time"},
                },
            },
            "BlobList": {
                "type": "object",
                "required": ["blobs", "next"],
                "properties": {
                    "blobs": {"type": "array", "items": {"$ref": "#/components/schemas/Blob"}},
                    "next": {"type": ["string", "null"]},
                },
            },
            "StoredBlobs": {
                "type": "object",
                "required": ["blobs"],
                "properties": {
                    "blobs": {"type": "array", "items": {"$ref": "#/components/schemas/Blob"}}
                },
            },
            "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            },
        },
        "responses": {
            "Problem": {
                "description": "RFC 9457 problem details",
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            },
        },
    },
}


def add_paths(paths: dict[str, Any]) -> None:
    """Let other parts of blobstream (tus, auth) describe their routes here too."""
    SPEC["paths"].update(paths)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)
