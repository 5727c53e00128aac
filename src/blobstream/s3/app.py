"""The S3 API as a WSGI app over the storage protocol (SPEC "One store, four dialects").

Path-style only: ``/{bucket}/{key}``. Each request is authenticated
(:mod:`blobstream.s3.auth`), routed by method, path and sub-resource to one
operation module (buckets, listing, get, put, copy, delete, multipart), and
any failure is answered as S3's XML ``<Error>``. The app runs every request
inside the blobstream Flask app's context, so writes go through the same
``ingest.store_stream`` and commit hooks (quotas, pre-commit veto, events) as
the REST API.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from flask import Flask, Request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.errors import BlobstreamError
from blobstream.s3 import xml
from blobstream.s3.auth import Caller, Payload, authenticate
from blobstream.s3.credentials import Credentials
from blobstream.s3.errors import S3Error, from_store, not_implemented
from blobstream.server.state import EXTENSION_KEY, State
from blobstream.storage.protocol import BlobStore

log = logging.getLogger("blobstream.s3")

DEFAULT_REGION = "us-east-1"
# Sub-resources of features this server does not serve: 501 NotImplemented.
UNSUPPORTED = frozenset(
    {
        "acl", "policy", "policyStatus", "lifecycle", "tagging", "encryption", "website",
        "cors", "logging", "notification", "replication", "requestPayment", "object-lock",
        "legal-hold", "retention", "select", "torrent", "restore", "accelerate", "analytics",
        "inventory", "metrics", "intelligent-tiering", "ownershipControls",
        "publicAccessBlock", "attributes", "versionId",
    }
)  # fmt: skip


@dataclass
class Call:
    """One S3 request, parsed: what every operation module receives."""

    request: Request
    store: BlobStore
    max_size: int | None
    region: str
    bucket: str
    key: str
    args: MultiDict[str, str]
    headers: dict[str, str]  # lower-case names
    caller: Caller
    payload: Payload
    request_id: str
    extra_headers: dict[str, str] = field(default_factory=dict)

    def need(self, role: Role) -> None:
        if self.caller.role < role:
            raise S3Error("AccessDenied", "Access Denied", 403)


Operation = Callable[[Call], Response]


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            headers[name[5:].replace("_", "-").lower()] = value
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in environ:
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def _route(call: Call) -> Operation:
    from blobstream.s3 import buckets, copy, delete, get, listing, multipart, put

    method = call.request.method
    args = call.args
    for name in args:
        if name in UNSUPPORTED:
            if name == "versionId" and args.get(name) in ("null", ""):
                continue
            raise not_implemented(f"the {name!r} sub-resource")
    if not call.bucket:
        if method == "GET":
            return buckets.list_buckets
        raise S3Error(
            "MethodNotAllowed", "The specified method is not allowed against this resource.", 405
        )
    if not call.key:
        if method == "GET":
            if "location" in args:
                return buckets.location
            if "versioning" in args:
                return buckets.versioning
            if "uploads" in args:
                return multipart.list_uploads
            if "versions" in args:
                return listing.list_versions
            return listing.list_objects
        table: dict[str, Operation] = {
            "PUT": buckets.create,
            "HEAD": buckets.head,
            "DELETE": buckets.delete,
        }
        if method == "POST" and "delete" in args:
            return delete.delete_objects
        if method == "PUT" and "versioning" in args:
            raise not_implemented("bucket versioning")
        if method in table:
            return table[method]
    else:
        if "uploadId" in args:
            if method == "PUT":
                return (
                    multipart.upload_part_copy
                    if "x-amz-copy-source" in call.headers
                    else multipart.upload_part
                )
            if method == "GET":
                return multipart.list_parts
            if method == "POST":
                return multipart.complete
            if method == "DELETE":
                return multipart.abort
        if method == "POST" and "uploads" in args:
            return multipart.create
        if method == "PUT":
            return copy.copy_object if "x-amz-copy-source" in call.headers else put.put_object
        if method in ("GET", "HEAD"):
            return get.get_object
        if method == "DELETE":
            return delete.delete_object
    raise S3Error(
        "MethodNotAllowed", "The specified method is not allowed against this resource.", 405
    )


class S3App:
    """The WSGI app of the S3 listener (module docstring)."""

    def __init__(self, flask_app: Flask, credentials: Credentials, region: str = DEFAULT_REGION):
        self.flask_app = flask_app
        self.state: State = flask_app.extensions[EXTENSION_KEY]
        self.credentials = credentials
        self.region = region or DEFAULT_REGION

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request_id = uuid.uuid4().hex[:16].upper()
        request = Request(environ)
        with self.flask_app.app_context():
            try:
                response = self._handle(request, environ, request_id)
            except S3Error as err:
                response = self._error(request, err, request_id)
            except BlobstreamError as err:
                if err.status >= 500:
                    log.error("%s %s: %s", request.method, request.path, err.detail)
                response = self._error(request, from_store(err), request_id)
            except Exception:
                log.exception("unexpected failure answering %s %s", request.method, request.path)
                response = self._error(request, from_store(BlobstreamError()), request_id)
        response.headers["x-amz-request-id"] = request_id
        response.headers.setdefault("Server", "blobstream")
        return response(environ, start_response)

    def _handle(self, request: Request, environ: dict[str, Any], request_id: str) -> Response:
        raw_path = environ.get("PATH_INFO", "").encode("latin-1")
        try:
            path = raw_path.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise S3Error("InvalidURI", "Couldn't parse the specified URI.", 400) from exc
        bucket, _, key = path.lstrip("/").partition("/") if path.startswith("/") else ("", "", "")
        headers = _headers(environ)
        query_string = environ.get("QUERY_STRING", "")
        args: MultiDict[str, str] = MultiDict()
        for item in query_string.split("&"):
            if item:
                name, _, value = item.partition("=")
                args.add(unquote(name), unquote(value))
        caller, payload = authenticate(
            request.method, raw_path, query_string, headers, args, self.credentials
        )
        call = Call(
            request=request,
            store=self.state.store,
            max_size=self.state.max_size,
            region=self.region,
            bucket=bucket,
            key=key,
            args=args,
            headers=headers,
            caller=caller,
            payload=payload,
            request_id=request_id,
        )
        return _route(call)(call)

    def _error(self, request: Request, err: S3Error, request_id: str) -> Response:
        body = (
            b"" if request.method == "HEAD" else xml.error_document(err, request.path, request_id)
        )
        response = Response(body, status=err.status, content_type="application/xml")
        if request.method == "HEAD":
            response.headers["Content-Length"] = "0"
        for name, value in err.headers.items():
            response.headers[name] = value
        if request.method in ("PUT", "POST") and request.content_length != 0:
            response.headers["Connection"] = (
                "close"  # the unread body cannot be told from a request
            )
        return response


def xml_response(root: str, inner: str, status: int = 200) -> Response:
    return Response(xml.document(root, inner), status=status, content_type="application/xml")
