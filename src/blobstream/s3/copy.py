"""CopyObject: inside the store (no byte through this node where the backend can),
with ``x-amz-copy-source-if-*`` and ``x-amz-metadata-directive`` COPY/REPLACE.

A copy onto itself with ``REPLACE`` publishes the same bytes under new
metadata: on the local store a hard link, never a rewrite of the data.
"""

from __future__ import annotations

from urllib.parse import unquote

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.errors import NotFound
from blobstream.events.hub import current_hooks
from blobstream.http.conditionals import ConditionalHeaders, Outcome, Validators, evaluate
from blobstream.s3 import conditions, namespace, objectmeta, xml
from blobstream.s3.app import Call, xml_response
from blobstream.s3.errors import S3Error, invalid_argument, no_such_key, precondition_failed
from blobstream.s3.listing import s3_etag
from blobstream.storage.copy import copy_blob
from blobstream.storage.protocol import BlobInfo, WriteCondition


def copy_source(call: Call) -> tuple[str, str]:
    """``x-amz-copy-source: /bucket/key`` (URL-encoded, optional leading '/')."""
    raw = call.headers["x-amz-copy-source"]
    path, _, query = raw.partition("?")
    if query and not query.startswith("versionId=null"):
        raise S3Error("NotImplemented", "copying a version is not implemented", 501)
    bucket, sep, key = unquote(path).lstrip("/").partition("/")
    if not sep or not bucket or not key:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )
    return bucket, key


def source_info(call: Call, bucket: str, key: str) -> BlobInfo:
    namespace.check_key(key)
    try:
        info = call.store.stat(namespace.blob_key(bucket, key))
    except NotFound:
        namespace.require(call.store, bucket)
        raise no_such_key(key) from None
    h = call.headers
    cond = ConditionalHeaders.from_headers(lambda name: h.get("x-amz-copy-source-" + name.lower()))
    outcome = evaluate("GET", cond, Validators(s3_etag(info), info.last_modified))
    if outcome is not Outcome.PROCEED:
        raise precondition_failed()
    return info


def copy_object(call: Call) -> Response:
    call.need(Role.WRITE)
    namespace.check_key(call.key)
    namespace.require(call.store, call.bucket)
    src_bucket, src_key = copy_source(call)
    info = source_info(call, src_bucket, src_key)
    directive = call.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.")
    dst = namespace.blob_key(call.bucket, call.key)
    if dst == info.key and directive == "COPY":
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes.",
            400,
        )
    meta = dict(info.meta)
    content_type = None
    if directive == "REPLACE":
        meta = {n: v for n, v in meta.items() if n not in objectmeta.descriptive(meta)}
        meta.update(objectmeta.from_headers(call.headers))
        content_type = call.headers.get("content-type") or "application/octet-stream"
    meta.setdefault(objectmeta.ETAG, s3_etag(info))
    condition: WriteCondition = conditions.write_condition(
        call.store, dst, call.request.headers.get
    )
    new, _ = copy_blob(
        call.store, info.key, dst, source_etag=info.etag, condition=condition,
        meta=meta, content_type=content_type,
    )  # fmt: skip
    hooks = current_hooks()
    if hooks is not None:
        hooks.committed(new)
    inner = xml.elements(
        [("LastModified", xml.timestamp(new.last_modified)), ("ETag", f'"{s3_etag(new)}"')]
    )
    return xml_response("CopyObjectResult", inner)
