"""GetObject and HeadObject: Range, partNumber, conditionals, response-* overrides."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from blobstream.auth.tokens import Role
from blobstream.errors import NotFound
from blobstream.http.ranges import ByteSpan
from blobstream.s3 import namespace, objectmeta
from blobstream.s3.app import Call
from blobstream.s3.errors import S3Error, invalid_argument, no_such_key
from blobstream.s3.listing import s3_etag
from blobstream.server.responses import READ_SIZE, _read_span, plan_response

OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def _part_span(call: Call, meta: dict[str, str] | Any, size: int) -> ByteSpan | None:
    raw = call.args.get("partNumber")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
    number = int(raw)
    found = objectmeta.part_range(meta.get(objectmeta.PARTS) or f"{size}", number)
    if found is None:
        raise S3Error("InvalidPartNumber", "The requested partnumber is not satisfiable", 416)
    return ByteSpan(found[0], found[0] + found[1] - 1)


def get_object(call: Call) -> Response:
    call.need(Role.READ)
    namespace.check_key(call.key)
    key = namespace.blob_key(call.bucket, call.key)
    try:
        reader = call.store.open(key)
    except NotFound:
        namespace.require(call.store, call.bucket)
        raise no_such_key(call.key) from None
    try:
        return _respond(call, reader)
    except BaseException:
        reader.close()
        raise


def _respond(call: Call, reader: Any) -> Response:
    info = reader.info
    method = call.request.method
    part = _part_span(call, info.meta, info.size)
    if part is not None and "range" in call.headers:
        raise invalid_argument("Cannot specify both Range header and partNumber query parameter")
    get = call.request.headers.get

    def header(name: str) -> str | None:
        return None if part is not None and name == "Range" else get(name)

    plan = plan_response(
        method, header, info.size, s3_etag(info), info.last_modified, info.content_type, None, None
    )
    headers = dict(plan.headers)
    wants_checksum = call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    whole = part is None and plan.status == 200  # a checksum is of the whole object
    headers.update(objectmeta.response_headers(info.meta, wants_checksum and whole))
    if plan.spans is None:
        reader.close()
        return Response(status=304, headers=headers)
    spans = plan.spans
    status = plan.status
    content_type = plan.content_type or info.content_type
    if part is not None:
        spans = [part] if info.size else [ByteSpan(0, -1)]
        status = 206
        if info.size:
            headers["Content-Range"] = part.content_range(info.size)
    for arg, name in OVERRIDES.items():
        value = call.args.get(arg)
        if value is not None:
            if name == "Content-Type":
                content_type = value
            else:
                headers[name] = value
    if len(spans) > 1:  # S3 serves one range: several are answered with the whole object
        spans, status = [ByteSpan(0, info.size - 1)], 200
        headers.pop("Content-Range", None)
    span = spans[0]
    length = max(span.length, 0) if info.size else 0
    body: Any
    if length == 0 or method == "HEAD":
        reader.close()
        body = []
    elif _has_fileno(reader) and (
        span.end == info.size - 1
        or str(call.request.environ.get("SERVER_SOFTWARE", "")).startswith("gunicorn")
    ):  # gunicorn's sendfile stops at Content-Length
        reader.seek(span.start)
        body = wrap_file(call.request.environ, reader, READ_SIZE)
    else:
        body = _closing(_read_span(reader, span), reader)
    response = Response(
        body, status=status, headers=headers, content_type=content_type, direct_passthrough=True
    )
    response.content_length = length
    return response


def _has_fileno(reader: Any) -> bool:
    try:
        reader.fileno()
    except (OSError, AttributeError, ValueError):
        return False
    return True


def _closing(parts: Any, reader: Any) -> Any:
    try:
        yield from parts
    finally:
        reader.close()
