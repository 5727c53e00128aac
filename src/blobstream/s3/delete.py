"""DeleteObject and DeleteObjects (a POST of up to 1000 keys)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.errors import BlobstreamError, NotFound, PreconditionFailed
from blobstream.events.hub import current_hooks
from blobstream.s3 import conditions, namespace, xml
from blobstream.s3.app import Call, xml_response
from blobstream.s3.errors import S3Error, from_store, precondition_failed
from blobstream.storage.protocol import WriteCondition

MAX_KEYS = 1000


def _delete(call: Call, key: str, header: conditions.Header | None = None) -> None:
    """Remove the object; an absent one is no error (S3 answers 204 either way)."""
    blob = namespace.blob_key(call.bucket, key)
    condition = WriteCondition()
    if header is not None:
        info = conditions.delete_condition(call.store, blob, header)
        if info is None:
            return
        condition = WriteCondition(if_match=(info.etag,))
    try:
        removed = call.store.delete(blob, condition)
    except NotFound:
        return
    except PreconditionFailed:
        raise precondition_failed() from None
    hooks = current_hooks()
    if hooks is not None:
        hooks.deleted(removed)


def delete_object(call: Call) -> Response:
    call.need(Role.WRITE)
    namespace.check_key(call.key)
    namespace.require(call.store, call.bucket)
    _delete(call, call.key, call.request.headers.get)
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
        wanted = {
            "If-Match": xml.text_of(obj, "ETag"),
            "x-amz-if-match-last-modified-time": xml.text_of(obj, "LastModifiedTime"),
            "x-amz-if-match-size": xml.text_of(obj, "Size"),
        }
        try:
            namespace.check_key(key)
            _delete(call, key, _object_conditions(wanted))
        except (S3Error, BlobstreamError) as exc:
            err = exc if isinstance(exc, S3Error) else from_store(exc)
            fields = [("Key", key), ("Code", err.s3_code), ("Message", err.message)]
            out.append(f"<Error>{xml.elements(fields)}</Error>")
            continue
        if not quiet:
            out.append(f"<Deleted>{xml.element('Key', key)}</Deleted>")
    return xml_response("DeleteResult", "".join(out))


def _object_conditions(wanted: dict[str, str | None]) -> conditions.Header | None:
    """The conditions of one DeleteObjects entry, as headers (None when it has none)."""
    if all(v is None for v in wanted.values()):
        return None
    when = wanted["x-amz-if-match-last-modified-time"]
    if when is not None:  # ISO 8601 in the document, an HTTP date as a header
        from datetime import datetime

        from blobstream.http.dates import format_http_date

        try:
            stamp = datetime.fromisoformat(when.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise S3Error("InvalidArgument", "LastModifiedTime is not a date", 400) from None
        wanted["x-amz-if-match-last-modified-time"] = format_http_date(stamp)
    return wanted.get
