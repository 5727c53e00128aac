"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
ListMultipartUploads (state in the store: :mod:`blobstream.s3.mpstate`).

Each part streams into the store as it arrives, in parallel and in any order;
completion checks the part list, then lets the backend concatenate the parts
into the blob in one commit, through the same hooks as a PUT.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from werkzeug.wrappers import Response

from blobstream.auth.tokens import Role
from blobstream.errors import BlobstreamError
from blobstream.events.hub import current_hooks
from blobstream.s3 import checksums, conditions, mpstate, namespace, objectmeta, xml
from blobstream.s3.app import Call, xml_response
from blobstream.s3.body import MD5, Incoming, checksum_headers
from blobstream.s3.buckets import OWNER
from blobstream.s3.errors import S3Error, invalid_argument
from blobstream.storage.protocol import BlobStore, Commit, UploadState
from blobstream.streams import CopyResult, Readable, copy_stream, new_hashers

MIN_PART = 5 << 20  # every part but the last (S3: EntityTooSmall)
MAX_PARTS = 10000
FULL_OBJECT_CRCS = {"crc32": (4,), "crc32c": (4,), "crc64nvme": (8,)}


def _expiry() -> float:
    """How long an unfinished upload lives: the tus uploads' BLOBSTREAM_UPLOAD_EXPIRY."""
    from flask import current_app

    from blobstream.server.state import EXTENSION_KEY

    state = current_app.extensions.get(EXTENSION_KEY)
    raw = state.config.get("upload_expiry") if state is not None else None
    try:
        return float(raw) if raw else mpstate.DEFAULT_EXPIRY
    except (TypeError, ValueError):
        return mpstate.DEFAULT_EXPIRY


def _target(call: Call) -> str:
    namespace.check_key(call.key)
    namespace.require(call.store, call.bucket)
    return namespace.blob_key(call.bucket, call.key)


def create(call: Call) -> Response:
    call.need(Role.WRITE)
    _target(call)
    algorithm = checksums.algorithm_of(call.headers.get("x-amz-checksum-algorithm"))
    kind = call.headers.get("x-amz-checksum-type", "").upper() or None
    if kind not in (None, "COMPOSITE", "FULL_OBJECT"):
        raise invalid_argument("x-amz-checksum-type must be COMPOSITE or FULL_OBJECT")
    if kind == "FULL_OBJECT" and algorithm not in FULL_OBJECT_CRCS:
        raise invalid_argument("The FULL_OBJECT checksum type needs CRC32, CRC32C or CRC64NVME")
    if algorithm is not None and kind is None:
        kind = "FULL_OBJECT" if algorithm == "crc64nvme" else "COMPOSITE"
    meta = {
        "bucket": call.bucket,
        "key": call.key,
        "content-type": call.headers.get("content-type") or "application/octet-stream",
        "meta": json.dumps(objectmeta.from_headers(call.headers)),
        "checksum": algorithm or "",
        "checksum-type": kind or "",
    }
    state = mpstate.uploads_of(call.store).create_upload(mpstate.new_upload(meta, _expiry()))
    inner = xml.elements(
        [("Bucket", call.bucket), ("Key", call.key), ("UploadId", state.upload_id)]
    )
    response = xml_response("InitiateMultipartUploadResult", inner)
    if algorithm:
        response.headers["x-amz-checksum-algorithm"] = algorithm.upper()
        response.headers["x-amz-checksum-type"] = kind or "COMPOSITE"
    return response


def _part_number(call: Call) -> int:
    raw = call.args.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
    return int(raw)


def _store_part(
    call: Call,
    upload: UploadState,
    number: int,
    source: Readable,
    length: int | None,
    hashers: dict[str, Any],
    check: Any,
) -> UploadState:
    """Stream one part into an upload of its own; record it done only once checked."""
    uploads = mpstate.uploads_of(call.store)
    part = UploadState(
        upload_id=mpstate.part_id(upload.upload_id, number),
        offset=0,
        length=length,
        metadata={},
        partial=True,
        expires=upload.expires,
    )
    uploads.create_upload(part)
    hooks = current_hooks()
    if hooks is not None:
        source = hooks.before_write(namespace.blob_key(call.bucket, call.key), source, length)
    try:
        appender = uploads.append_upload(part.upload_id, 0)
        try:
            all_hashers = {**new_hashers(), **hashers}
            result = copy_stream(source, appender, length=length, limit=call.max_size,
                                 hashers=all_hashers)  # fmt: skip
            meta = check(result)
        except BaseException:
            appender.discard()
            raise
        finally:
            appender.close()
        part.offset = part.length = result.size
        part.metadata = {"md5": meta[objectmeta.ETAG], "size": str(result.size), **{
            n: v for n, v in meta.items() if n.startswith(checksums.HEADER)
        }}  # fmt: skip
        uploads.update_upload(part)
    except BaseException:
        try:
            uploads.delete_upload(part.upload_id)
        except BlobstreamError:
            pass
        raise
    return part


def upload_part(call: Call) -> Response:
    call.need(Role.WRITE)
    _target(call)
    number = _part_number(call)
    upload = mpstate.load(call.store, call.args["uploadId"], call.bucket, call.key)
    incoming = Incoming(call)
    part = _store_part(
        call, upload, number, incoming.source, incoming.length, incoming.hashers, incoming.check
    )
    headers = {"ETag": f'"{part.metadata["md5"]}"', **checksum_headers(part.metadata)}
    return Response(status=200, headers=headers)


def upload_part_copy(call: Call) -> Response:
    """The source's bytes (or a range of them) as a part, streamed in bounded pieces."""
    from blobstream.s3.copy import copy_source, source_info

    call.need(Role.WRITE)
    _target(call)
    number = _part_number(call)
    upload = mpstate.load(call.store, call.args["uploadId"], call.bucket, call.key)
    info = source_info(call, *copy_source(call))
    start, end = 0, info.size - 1
    raw = call.headers.get("x-amz-copy-source-range")
    if raw is not None:
        unit, _, span = raw.strip().partition("=")
        first, _, last = span.partition("-")
        if unit != "bytes" or not first.isdigit() or not last.isdigit():
            raise invalid_argument(
                "The x-amz-copy-source-range value must be of the form bytes=first-last"
            )
        start, end = int(first), int(last)
        if start > end or end >= info.size:
            raise S3Error("InvalidRange", "The requested range is not satisfiable", 416)
    reader = call.store.open(info.key)
    try:
        if reader.info.etag != info.etag:
            raise S3Error("PreconditionFailed", "the copy source changed", 412)
        reader.seek(start)
        md5 = hashlib.md5(usedforsecurity=False)

        def check(result: CopyResult) -> dict[str, str]:
            return {objectmeta.ETAG: result.digest(MD5).hex()}

        part = _store_part(call, upload, number, reader, end - start + 1, {MD5: md5}, check)
    finally:
        reader.close()
    inner = xml.elements([("LastModified", xml.timestamp(info.last_modified)),
                          ("ETag", f'"{part.metadata["md5"]}"')])  # fmt: skip
    return xml_response("CopyPartResult", inner)


def _requested_parts(call: Call) -> list[tuple[int, str, dict[str, str]]]:
    length = call.request.content_length
    if length is None or length > xml.MAX_REQUEST_XML:
        raise xml.malformed()
    root = xml.parse(call.request.get_data(cache=False))
    if xml.local(root.tag) != "CompleteMultipartUpload":
        raise xml.malformed()
    out = []
    for part in xml.children(root, "Part"):
        number = (xml.text_of(part, "PartNumber") or "").strip()
        etag = (xml.text_of(part, "ETag") or "").strip().strip('"')
        if not number.isdigit():
            raise xml.malformed()
        sums = {}
        for name in checksums.ALGORITHMS:
            value = xml.text_of(part, "Checksum" + name.upper())
            if value:
                sums[name] = value.strip()
        out.append((int(number), etag, sums))
    if not out:
        raise S3Error("MalformedXML", "You must specify at least one part", 400)
    if len(out) > MAX_PARTS:
        raise xml.malformed()
    for (a, _, _), (b, _, _) in zip(out, out[1:], strict=False):
        if b <= a:
            raise S3Error(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. "
                "Parts must be ordered by part number.",
                400,
            )
    return out


def _invalid_part() -> S3Error:
    return S3Error(
        "InvalidPart",
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        400,
    )


def complete(call: Call) -> Response:
    call.need(Role.WRITE)
    key = _target(call)
    upload = mpstate.load(call.store, call.args["uploadId"], call.bucket, call.key)
    requested = _requested_parts(call)
    algorithm = upload.metadata.get("checksum") or None
    kind: str | None = upload.metadata.get("checksum-type") or None
    stored = mpstate.parts(call.store, upload.upload_id)
    chosen: list[UploadState] = []
    current = next(stored, None)
    for index, (number, etag, sums) in enumerate(requested):
        while current is not None and mpstate.number_of(current) < number:
            current = next(stored, None)
        if current is None or mpstate.number_of(current) != number:
            raise _invalid_part()
        if current.metadata["md5"] != etag:
            raise _invalid_part()
        for name, value in sums.items():
            if current.metadata.get(checksums.HEADER + name) not in (None, value):
                raise _invalid_part()
        if index < len(requested) - 1 and int(current.metadata["size"]) < MIN_PART:
            err = S3Error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                400,
            )
            err.extra.update(PartNumber=str(number), ProposedSize=current.metadata["size"])
            raise err
        chosen.append(current)
    sizes = [int(p.metadata["size"]) for p in chosen]
    etag = checksums.multipart_etag([bytes.fromhex(p.metadata["md5"]) for p in chosen])
    meta = {**mpstate.descriptive(upload), objectmeta.ETAG: etag}
    meta[objectmeta.PARTS] = objectmeta.encode_parts(sizes)
    if algorithm:
        whole = _final_checksum(algorithm, kind, chosen, sizes)
        if whole is not None:
            meta[checksums.HEADER + algorithm] = whole
            meta[objectmeta.CHECKSUM_TYPE] = kind or "COMPOSITE"
    condition = conditions.write_condition(call.store, key, call.request.headers.get)
    info = _assemble(call, upload, key, chosen, sum(sizes), meta, condition)
    mpstate.remove(call.store, upload.upload_id)
    inner = xml.elements(
        [("Location", f"/{call.bucket}/{call.key}"), ("Bucket", call.bucket), ("Key", call.key),
         ("ETag", f'"{etag}"')]
        + [(f"Checksum{n[len(checksums.HEADER):].upper()}", v) for n, v in meta.items()
           if n.startswith(checksums.HEADER) and n != objectmeta.CHECKSUM_TYPE]
    )  # fmt: skip
    del info
    return xml_response("CompleteMultipartUploadResult", inner)


def _final_checksum(
    algorithm: str, kind: str | None, chosen: list[UploadState], sizes: list[int]
) -> str | None:
    values = [p.metadata.get(checksums.HEADER + algorithm) for p in chosen]
    if any(v is None for v in values):
        return None
    digests = [base64.b64decode(v or "") for v in values]
    if kind == "FULL_OBJECT" and algorithm in FULL_OBJECT_CRCS:
        from awscrt import checksums as crt

        combine = {"crc32": crt.combine_crc32, "crc32c": crt.combine_crc32c,
                   "crc64nvme": crt.combine_crc64nvme}[algorithm]  # fmt: skip
        crc = int.from_bytes(digests[0], "big")
        for digest, size in zip(digests[1:], sizes[1:], strict=True):
            crc = combine(crc, int.from_bytes(digest, "big"), size)
        return checksums.encode(crc.to_bytes(len(digests[0]), "big"))
    return checksums.composite(algorithm, digests)


def _assemble(
    call: Call,
    upload: UploadState,
    key: str,
    chosen: list[UploadState],
    size: int,
    meta: dict[str, str],
    condition: Any,
) -> Any:
    """Concatenate the parts into the blob in one commit (the backend's tus concatenation)."""
    uploads = mpstate.uploads_of(call.store)
    final = UploadState(
        upload_id=mpstate.FINAL + upload.upload_id[len(mpstate.UPLOAD) :],
        offset=size,
        length=size,
        metadata={"key": key},
        expires=upload.expires,
        parts=tuple(p.upload_id for p in chosen),
    )
    try:
        uploads.delete_upload(final.upload_id)  # a completion that failed before
    except BlobstreamError:
        pass
    uploads.create_upload(final)
    try:
        sha256 = hashlib.sha256()
        for piece in uploads.read_upload(final.upload_id):
            sha256.update(piece)
        content_type = upload.metadata.get("content-type") or "application/octet-stream"
        hooks = current_hooks()
        if hooks is not None:
            hooks.before_commit(key, size, sha256.hexdigest(), content_type)
        info, _created = uploads.complete_upload(
            final.upload_id, key, Commit(size, sha256.hexdigest(), content_type, condition, meta)
        )
        if hooks is not None:
            hooks.committed(info)
        return info
    finally:
        try:
            uploads.delete_upload(final.upload_id)
        except BlobstreamError:
            pass


def abort(call: Call) -> Response:
    call.need(Role.WRITE)
    _target(call)
    upload = mpstate.load(call.store, call.args["uploadId"], call.bucket, call.key)
    mpstate.remove(call.store, upload.upload_id)
    return Response(status=204)


def _max(call: Call, name: str) -> int:
    raw = call.args.get(name, "1000")
    if not raw.lstrip("-").isdigit() or int(raw) < 0:
        raise invalid_argument(f"Provided {name} not an integer or within integer range")
    return min(int(raw), 1000)


def list_parts(call: Call) -> Response:
    call.need(Role.READ)
    _target(call)
    upload = mpstate.load(call.store, call.args["uploadId"], call.bucket, call.key)
    limit = _max(call, "max-parts")
    marker_raw = call.args.get("part-number-marker", "0") or "0"
    if not marker_raw.isdigit():
        raise invalid_argument("Provided part-number-marker not an integer or within integer range")
    marker = int(marker_raw)
    entries: list[str] = []
    truncated = False
    last = marker
    for part in mpstate.parts(call.store, upload.upload_id, marker):
        if len(entries) == limit:
            truncated = True
            break
        last = mpstate.number_of(part)
        sums = [(f"Checksum{n[len(checksums.HEADER):].upper()}", v)
                for n, v in part.metadata.items() if n.startswith(checksums.HEADER)]  # fmt: skip
        entries.append(
            "<Part>"
            + xml.elements(
                [
                    ("PartNumber", last),
                    ("LastModified", xml.timestamp(part.created)),
                    ("ETag", f'"{part.metadata["md5"]}"'),
                    ("Size", part.metadata["size"]),
                    *sums,
                ]
            )  # fmt: skip
            + "</Part>"
        )
    algorithm = upload.metadata.get("checksum") or None
    head = xml.elements(
        [("Bucket", call.bucket), ("Key", call.key), ("UploadId", upload.upload_id),
         ("PartNumberMarker", marker), ("NextPartNumberMarker", last), ("MaxParts", limit),
         ("IsTruncated", "true" if truncated else "false"), ("StorageClass", "STANDARD"),
         ("ChecksumAlgorithm", algorithm.upper() if algorithm else None)]
    )  # fmt: skip
    initiator = "<Initiator><ID>blobstream</ID><DisplayName>blobstream</DisplayName></Initiator>"
    return xml_response("ListPartsResult", head + initiator + OWNER + "".join(entries))


def list_uploads(call: Call) -> Response:
    """ListMultipartUploads: in upload-id order, filtered by bucket and prefix, paged."""
    call.need(Role.READ)
    namespace.require(call.store, call.bucket)
    limit = _max(call, "max-uploads")
    prefix = call.args.get("prefix", "")
    key_marker = call.args.get("key-marker", "")
    id_marker = call.args.get("upload-id-marker", "")
    entries: list[str] = []
    truncated = False
    last: UploadState | None = None
    for upload in mpstate.containers(call.store, id_marker if key_marker else ""):
        meta = upload.metadata
        if meta.get("bucket") != call.bucket or not meta.get("key", "").startswith(prefix):
            continue
        if key_marker and not id_marker and meta.get("key", "") <= key_marker:
            continue
        if len(entries) == limit:
            truncated = True
            break
        last = upload
        entries.append(
            "<Upload>"
            + xml.elements([("Key", meta["key"]), ("UploadId", upload.upload_id)])
            + "<Initiator><ID>blobstream</ID><DisplayName>blobstream</DisplayName></Initiator>"
            + OWNER
            + xml.elements(
                [("StorageClass", "STANDARD"), ("Initiated", xml.timestamp(upload.created))]
            )
            + "</Upload>"
        )
    fields: list[tuple[str, object]] = [
        ("Bucket", call.bucket), ("KeyMarker", key_marker), ("UploadIdMarker", id_marker),
        ("Prefix", prefix), ("MaxUploads", limit),
        ("IsTruncated", "true" if truncated else "false"),
    ]  # fmt: skip
    if truncated and last is not None:
        fields += [("NextKeyMarker", last.metadata["key"]), ("NextUploadIdMarker", last.upload_id)]
    return xml_response("ListMultipartUploadsResult", xml.elements(fields) + "".join(entries))


def abort_all(store: BlobStore, bucket: str) -> None:
    """Abort every multipart upload of ``bucket`` (its deletion)."""
    try:
        found = [
            u.upload_id for u in mpstate.containers(store) if u.metadata.get("bucket") == bucket
        ]
    except S3Error:
        return
    for upload_id in found:
        mpstate.remove(store, upload_id)


__all__ = ["abort", "complete", "create", "list_parts", "list_uploads", "upload_part",
           "upload_part_copy"]  # fmt: skip
