"""Answer a GET or HEAD from any seekable stream: validators, conditionals, Range.

:func:`send_stream` is the Flask-facing half of the seed's trick. The HTTP
decisions are made by the pure functions in :mod:`blobstream.http`; this module
only glues them to a Werkzeug response. A real file goes out through the
server's ``wsgi.file_wrapper`` (``sendfile`` under gunicorn), from an offset
for a single range.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask import Request, Response, request
from werkzeug.wsgi import wrap_file

from blobstream.errors import PreconditionFailed
from blobstream.http.conditionals import (
    ConditionalHeaders,
    Outcome,
    Validators,
    evaluate,
    if_range_matches,
)
from blobstream.http.dates import format_http_date
from blobstream.http.digests import format_digest_field
from blobstream.http.disposition import content_disposition
from blobstream.http.etags import quote_etag
from blobstream.http.multipart import byteranges_boundary, closing, multipart_length, part_header
from blobstream.http.ranges import ByteSpan, parse_range

READ_SIZE = 1 << 20


def _stream_size(stream: IO[bytes]) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        here = stream.tell()
        size = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return size


def _read_span(stream: IO[bytes], span: ByteSpan) -> Iterator[bytes]:
    stream.seek(span.start)
    remaining = span.length
    while remaining > 0:
        data = stream.read(min(READ_SIZE, remaining))
        if not data:
            raise OSError(f"the stream ended {remaining} bytes before the range end")
        remaining -= len(data)
        yield data


def _closing_iter(parts: Iterator[bytes], stream: IO[bytes]) -> Iterator[bytes]:
    try:
        yield from parts
    finally:
        stream.close()


def _multipart(
    stream: IO[bytes], spans: list[ByteSpan], size: int, content_type: str, boundary: str
) -> Iterator[bytes]:
    for span in spans:
        yield part_header(boundary, content_type, span, size)
        yield from _read_span(stream, span)
    yield closing(boundary)


def _sendfile_ok(environ: dict[str, Any], stream: IO[bytes], span: ByteSpan, size: int) -> bool:
    """May the server's file wrapper send this span? It must stop at Content-Length."""
    if "wsgi.file_wrapper" not in environ:
        return False
    try:
        stream.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return False
    if span.end == size - 1:
        return True
    # gunicorn's sendfile and write() both stop at the response's Content-Length.
    return str(environ.get("SERVER_SOFTWARE", "")).startswith("gunicorn")


def send_stream(
    stream: IO[bytes],
    *,
    size: int | None = None,
    etag: str | None = None,
    last_modified: float | None = None,
    content_type: str = "application/octet-stream",
    sha256: str | None = None,
    download_name: str | None = None,
    req: Request | None = None,
) -> Response:
    """Build the response to GET/HEAD of ``stream`` (RFC 9110 §13, §14); it closes the stream.

    ``etag`` is the opaque strong entity tag (unquoted); ``sha256`` (hex) adds
    ``Repr-Digest`` (RFC 9530). Raises PreconditionFailed or RangeNotSatisfiable.
    """
    req = req or request
    try:
        return _respond(stream, size, etag, last_modified, content_type, sha256, download_name, req)
    except BaseException:
        stream.close()
        raise


@dataclass(frozen=True)
class Plan:
    """What to answer a GET or HEAD with, decided from the headers alone.

    ``spans`` is None for a body-less ``304``; one span is a single (possibly
    partial) body; several are a ``multipart/byteranges`` body under ``boundary``.
    """

    status: int
    headers: dict[str, str]
    content_type: str | None
    spans: list[ByteSpan] | None
    length: int
    boundary: str | None = None


def plan_response(
    method: str,
    header: Callable[[str], str | None],
    size: int,
    etag: str | None,
    last_modified: float | None,
    content_type: str,
    sha256: str | None,
    download_name: str | None,
) -> Plan:
    """Validators, preconditions and Range for one representation (RFC 9110 §13, §14).

    Raises PreconditionFailed or RangeNotSatisfiable; shared by :func:`send_stream`
    and the server's lean path so both answer alike.
    """
    validators = Validators(etag=etag, last_modified=last_modified)
    cond = ConditionalHeaders.from_headers(header)
    headers: dict[str, str] = {"Accept-Ranges": "bytes"}
    if etag is not None:
        headers["ETag"] = quote_etag(etag)
    if last_modified is not None:
        headers["Last-Modified"] = format_http_date(last_modified)
    if sha256 is not None:
        headers["Repr-Digest"] = format_digest_field({"sha-256": bytes.fromhex(sha256)})

    outcome = evaluate(method, cond, validators)
    if outcome is Outcome.PRECONDITION_FAILED:
        raise PreconditionFailed("a precondition of the request does not hold for the blob")
    if outcome is Outcome.NOT_MODIFIED:
        return Plan(304, headers, None, None, 0)

    if download_name is not None:
        headers["Content-Disposition"] = content_disposition(download_name)
    spans = None
    if method in ("GET", "HEAD") and if_range_matches(cond.if_range, validators):
        spans = parse_range(header("Range"), size)
    if spans and len(spans) > 1 and sum(span.length for span in spans) > size:
        # Overlapping ranges would send the blob many times over (the "Apache
        # killer"); RFC 9110 §14.2 lets a server ignore them: send it once.
        spans = None

    if not spans:
        return Plan(200, headers, content_type, [ByteSpan(0, size - 1)], size)
    if len(spans) == 1:
        headers["Content-Range"] = spans[0].content_range(size)
        return Plan(206, headers, content_type, spans, spans[0].length)
    boundary = byteranges_boundary()
    length = multipart_length(boundary, content_type, spans, size)
    return Plan(206, headers, f"multipart/byteranges; boundary={boundary}", spans, length, boundary)


def _respond(
    stream: IO[bytes],
    size: int | None,
    etag: str | None,
    last_modified: float | None,
    content_type: str,
    sha256: str | None,
    download_name: str | None,
    req: Request,
) -> Response:
    if size is None:
        size = _stream_size(stream)
    plan = plan_response(
        req.method, req.headers.get, size, etag, last_modified, content_type, sha256, download_name
    )
    if plan.spans is None:
        stream.close()
        return Response(status=304, headers=plan.headers)
    if plan.boundary is None:
        return _single(stream, plan.spans[0], size, plan.status, content_type, plan.headers, req)
    body = _closing_iter(_multipart(stream, plan.spans, size, content_type, plan.boundary), stream)
    response = Response(
        body,
        status=206,
        headers=plan.headers,
        mimetype=None,
        content_type=plan.content_type,
        direct_passthrough=True,
    )
    response.content_length = plan.length
    return response


def _single(
    stream: IO[bytes],
    span: ByteSpan,
    size: int,
    status: int,
    content_type: str,
    headers: dict[str, str],
    req: Request,
) -> Response:
    length = max(span.length, 0) if size else 0
    body: Any
    if length == 0:
        stream.close()
        body = []
    elif req.method == "HEAD":
        stream.close()
        body = []
    elif _sendfile_ok(req.environ, stream, span, size):
        stream.seek(span.start)
        body = wrap_file(req.environ, stream, READ_SIZE)
    else:
        body = _closing_iter(_read_span(stream, span), stream)
    response = Response(
        body, status=status, headers=headers, content_type=content_type, direct_passthrough=True
    )
    response.content_length = length
    return response
