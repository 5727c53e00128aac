"""Make an S3 object out of other objects' bytes inside the store, metadata included.

A blob's final object is always created in one step that carries its metadata:
CopyObject (one source of at most 5 GiB) or a multipart upload created with the
metadata whose parts are server-side copies (UploadPartCopy, at most 5 GiB each)
and which is completed pinned to the version the write condition was checked
against. Only sources shorter than S3's 5 MiB part minimum are read through the
node, joined with their neighbours into one part (memory ≤ 5 MiB).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blobstream.storage.protocol import BlobInfo, WriteCondition

if TYPE_CHECKING:
    from blobstream.storage.s3 import S3Store

MIN_PART = 5 << 20  # S3's minimum size of every part but the last
MAX_COPY = 5 << 30  # the most CopyObject or one UploadPartCopy copies


@dataclass(frozen=True)
class Source:
    """The first ``size`` bytes of the object ``obj`` in the store's bucket."""

    obj: str
    size: int


def copy_ranges(size: int, max_copy: int = MAX_COPY) -> list[tuple[int, int]]:
    """``[start, end)`` spans of equal size splitting ``size`` bytes into copies ≤ ``max_copy``."""
    count = max(1, -(-size // max_copy))
    step = -(-size // count)
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def assemble(
    store: S3Store, info: BlobInfo, condition: WriteCondition, sources: list[Source]
) -> tuple[BlobInfo, bool]:
    """Publish the concatenation of ``sources`` as the blob ``info`` (module docstring)."""
    sources = [s for s in sources if s.size > 0]
    total = sum(s.size for s in sources)
    obj = store.blob_object(info.key)
    if total < MIN_PART:
        body = b"".join(store.read_range(s.obj, 0, s.size) for s in sources)
        return store.publish(info, condition, lambda pin: store.put_blob(info, body, pin))
    if len(sources) == 1 and total <= store.max_copy:
        source = sources[0].obj
        return store.publish(info, condition, lambda pin: store.copy_object_onto(info, source, pin))
    with store.errors():
        upload_id = store.client.create_multipart_upload(
            Bucket=store.bucket,
            Key=obj,
            ContentType=info.content_type,
            Metadata=store.metadata(info),
        )["UploadId"]
    try:
        with store.errors():
            parts = PartList(store, obj, upload_id).build(sources)
    except BaseException:
        with contextlib.suppress(Exception):
            store.client.abort_multipart_upload(Bucket=store.bucket, Key=obj, UploadId=upload_id)
        raise
    return store.publish_multipart(info, condition, obj, upload_id, parts)


class PartList:
    """The parts of one multipart upload: copies of long spans, joined short ones."""

    def __init__(self, store: S3Store, obj: str, upload_id: str) -> None:
        self.store = store
        self.obj = obj
        self.upload_id = upload_id
        self.parts: list[dict[str, Any]] = []
        self.pending = bytearray()

    def build(self, sources: list[Source]) -> list[dict[str, Any]]:
        for i, source in enumerate(sources):
            pos = 0
            if self.pending:  # a short span waits: fill it up to a part from this source
                pos = min(MIN_PART - len(self.pending), source.size)
                self.pending += self.store.read_range(source.obj, 0, pos)
                if len(self.pending) >= MIN_PART:
                    self._send_pending()
            rest = source.size - pos
            if rest == 0:
                continue
            if rest >= MIN_PART or i == len(sources) - 1:
                for start, end in copy_ranges(rest, self.store.max_copy):
                    self._copy(source.obj, pos + start, pos + end)
            else:
                self.pending += self.store.read_range(source.obj, pos, source.size)
        if self.pending:
            self._send_pending()
        return self.parts

    def _send_pending(self) -> None:
        s = self.store
        number = len(self.parts) + 1
        body, self.pending = bytes(self.pending), bytearray()
        done = s.client.upload_part(
            Bucket=s.bucket, Key=self.obj, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": done["ETag"]})

    def _copy(self, source: str, start: int, end: int) -> None:
        s = self.store
        number = len(self.parts) + 1
        done = s.client.upload_part_copy(
            Bucket=s.bucket,
            Key=self.obj,
            UploadId=self.upload_id,
            PartNumber=number,
            CopySource={"Bucket": s.bucket, "Key": source},
            CopySourceRange=f"bytes={start}-{end - 1}",
        )
        self.parts.append({"PartNumber": number, "ETag": done["CopyPartResult"]["ETag"]})
