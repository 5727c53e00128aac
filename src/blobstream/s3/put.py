"""PutObject: stream the body into a new version, verified before the commit."""

from __future__ import annotations

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.ingest import DEFAULT_CONTENT_TYPE, store_stream
from blobstream.s3 import conditions, namespace, objectmeta
from blobstream.s3.app import Call
from blobstream.s3.body import Incoming, checksum_headers
from blobstream.streams import CopyResult


def put_object(call: Call) -> Response:
    call.need(Role.WRITE)
    namespace.check_key(call.key)
    namespace.require(call.store, call.bucket)
    key = namespace.blob_key(call.bucket, call.key)
    incoming = Incoming(call)
    descriptive = objectmeta.from_headers(call.headers)
    condition = conditions.write_condition(call.store, key, call.request.headers.get)

    def finish(result: CopyResult) -> dict[str, str]:
        return {**descriptive, **incoming.check(result)}

    info, _created = store_stream(
        call.store,
        key,
        incoming.source,
        length=incoming.length,
        limit=call.max_size,
        content_type=call.headers.get("content-type") or DEFAULT_CONTENT_TYPE,
        condition=condition,
        extra_hashers=incoming.hashers,
        finish=finish,
    )
    headers = {"ETag": f'"{info.meta[objectmeta.ETAG]}"', **checksum_headers(info.meta)}
    return Response(status=200, headers=headers)
