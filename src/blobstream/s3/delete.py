"""DeleteObject and DeleteObjects (a POST of up to 1000 keys)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.errors import BlobstreamError, NotFound
from blobstream.events.hub import current_hooks
from blobstream.s3 import namespace, xml
from blobstream.s3.app import Call, xml_response
from blobstream.s3.errors import S3Error, from_store

MAX_KEYS = 1000


def _delete(call: Call, key: str) -> None:
    """Remove the object; an absent one is no error (S3 answers 204 either way)."""
    try:
        removed = call.store.delete(namespace.blob_key(call.bucket, key))
    except NotFound:
        return
    hooks = current_hooks()
    if hooks is not None:
        hooks.deleted(removed)


def delete_object(call: Call) -> Response:
    call.need(Role.WRITE)
    namespace.check_key(call.key)
    namespace.require(call.store, call.bucket)
    _delete(call, call.key)
    return Response(status=204)


def delete_objects(call: Call) -> Response:
    call.need(Role.WRITE)
    namespace.require(call.store, call.bucket)
    length = call.request.content_length
    if length is None or length > xml.MAX_REQUEST_XML:
        raise S3Error(
            "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
        )
    root = xml.parse(call.request.get_data(cache=False))
    if xml.local(root.tag) != "Delete":
        raise xml.malformed()
    objects = xml.children(root, "Object")
    if len(objects) > MAX_KEYS:
        raise xml.malformed()
    quiet = (xml.text_of(root, "Quiet") or "").strip().lower() == "true"
    out = []
    for obj in objects:
        key = xml.text_of(obj, "Key")
        if key is None:
            raise xml.malformed()
        try:
            namespace.check_key(key)
            _delete(call, key)
        except (S3Error, BlobstreamError) as exc:
            err = exc if isinstance(exc, S3Error) else from_store(exc)
            fields = [("Key", key), ("Code", err.s3_code), ("Message", err.message)]
            out.append(f"<Error>{xml.elements(fields)}</Error>")
            continue
        if not quiet:
            out.append(f"<Deleted>{xml.element('Key', key)}</Deleted>")
    return xml_response("DeleteResult", "".join(out))
