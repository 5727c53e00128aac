"""Resumable uploads (tus 1.0) on S3: a multipart upload plus an "incomplete part" object.

Like tusd's s3store, each upload has, under ``<prefix>/uploads/<id>/``:
``state.json`` (the UploadState, the multipart upload id, the number of full
parts and the size of the tail), ``data`` (the multipart upload's target),
``tail`` (the bytes after the last full part: S3 refuses parts under 5 MiB, so
a small PATCH is kept here and prepended to the next one) and ``lock`` (created
with ``If-None-Match: *``; a second append gets Locked; a lock not refreshed
for :data:`STALE_LOCK` seconds is taken over). Full parts always have the
upload's part size, so the offset is ``parts × part size + tail``. A discarded
append leaves the state untouched: its parts are overwritten by the next one.
When the last byte arrives the multipart upload is completed into ``data``.
Completion and concatenation copy the ``data`` objects onto the blob's key
inside the store (:mod:`blobstream.storage.s3_assemble`: CopyObject, or
UploadPartCopy parts); only partial uploads shorter than 5 MiB pass through
the node, a part at a time. Bytes of an unfinished upload beyond its tail
cannot be read back (S3 cannot read parts of an open multipart upload).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import botocore.exceptions

from blobstream.errors import Conflict, Forbidden, Locked, NotFound, PreconditionFailed
from blobstream.storage.protocol import BlobInfo, Buffer, Commit, UploadState
from blobstream.storage.s3_assemble import Source, assemble

if TYPE_CHECKING:
    from blobstream.storage.s3 import S3Store

STALE_LOCK = 120.0
READ_CHUNK = 1 << 20
Errors = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


class S3Appender:
    """Appends to one upload: full parts to the multipart upload, the rest to ``tail``."""

    def __init__(self, store: S3Store, upload_id: str, offset: int) -> None:
        self.store = store
        self.upload_id = upload_id
        store.lock_upload(upload_id)
        try:
            self.doc = store.load_upload(upload_id)
            state = self.doc["state"]
            if self.doc.get("final") or state["parts"] or state["completed_key"]:
                raise Forbidden("the upload takes no more bytes (final or completed)")
            if state["offset"] != offset:
                raise Conflict(f"the upload's offset is {state['offset']}, not {offset}")
            self.part_size = int(self.doc["part_size"])
            self.nparts = int(self.doc["nparts"])
            self.buffer = bytearray()
            if self.doc["tail"]:
                self.buffer += store.get_bytes(store.upload_object(upload_id, "tail"))
            self.start = self.offset = offset
            self.discarded = False
            self.closed = False
        except BaseException:
            store.unlock_upload(upload_id)
            raise

    def write(self, data: Buffer) -> None:
        if self.closed or self.discarded:
            raise ValueError("write after close or discard")
        self.buffer += data
        self.offset += len(data)
        while len(self.buffer) >= self.part_size:
            self._part(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]

    def _part(self, body: bytes) -> None:
        s = self.store
        with s.errors():
            if not self.doc.get("mpu"):
                self.doc["mpu"] = s.client.create_multipart_upload(
                    Bucket=s.bucket, Key=s.upload_object(self.upload_id, "data")
                )["UploadId"]
                s.save_upload(self.doc)
            s.client.upload_part(
                Bucket=s.bucket,
                Key=s.upload_object(self.upload_id, "data"),
                UploadId=self.doc["mpu"],
                PartNumber=self.nparts + 1,
                Body=body,
            )
            self.nparts += 1
            s.refresh_lock(self.upload_id)

    def discard(self) -> None:
        self.discarded = True
        self.buffer = bytearray()
        self.offset = self.start

    def close(self) -> int:
        if self.closed:
            return self.offset
        self.closed = True
        s = self.store
        try:
            if not self.discarded:
                with s.errors():
                    tail = s.upload_object(self.upload_id, "tail")
                    if self.buffer:
                        s.client.put_object(Bucket=s.bucket, Key=tail, Body=bytes(self.buffer))
                    elif self.doc["tail"]:
                        s.client.delete_object(Bucket=s.bucket, Key=tail)
                    self.doc.update(nparts=self.nparts, tail=len(self.buffer))
                    self.doc["state"]["offset"] = self.offset
                    length = self.doc["state"]["length"]
                    if length is not None and self.offset >= length:
                        s.finalize(self.doc)
                    else:
                        s.save_upload(self.doc)
        finally:
            self.buffer = bytearray()
            s.unlock_upload(self.upload_id)
        return self.offset


class S3Uploads:
    """The :class:`UploadStore` half of :class:`S3Store`."""

    def _s3(self) -> S3Store:
        return self  # type: ignore[return-value]

    def upload_object(self, upload_id: str, name: str) -> str:
        if "/" in upload_id or upload_id in ("", ".", ".."):
            raise NotFound(f"no upload has the id {upload_id!r}")
        return f"{self._s3().base}uploads/{upload_id}/{name}"

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        from blobstream.storage.s3 import storage_error

        try:
            yield
        except Errors as exc:
            raise storage_error(exc) from exc

    def get_bytes(self, obj: str, start: int = 0) -> bytes:
        s = self._s3()
        with self.errors():
            return bytes(
                s.client.get_object(Bucket=s.bucket, Key=obj, Range=f"bytes={start}-")[
                    "Body"
                ].read()
            )

    # -- state and lock -------------------------------------------------------------

    def load_upload(self, upload_id: str) -> dict[str, Any]:
        try:
            doc: dict[str, Any] = json.loads(
                self.get_bytes(self.upload_object(upload_id, "state.json"))
            )
        except NotFound:
            raise NotFound(f"no upload has the id {upload_id!r}") from None
        return doc

    def save_upload(self, doc: dict[str, Any], create: bool = False) -> None:
        s = self._s3()
        upload_id = doc["state"]["upload_id"]
        extra = {"IfNoneMatch": "*"} if create else {}
        with self.errors():
            s.client.put_object(
                Bucket=s.bucket,
                Key=self.upload_object(upload_id, "state.json"),
                Body=json.dumps(doc).encode(),
                ContentType="application/json",
                **extra,
            )

    def lock_upload(self, upload_id: str) -> None:
        s = self._s3()
        key = self.upload_object(upload_id, "lock")
        try:
            with self.errors():
                s.client.put_object(Bucket=s.bucket, Key=key, Body=b"", IfNoneMatch="*")
            return
        except PreconditionFailed:
            pass
        with self.errors():
            head = s.client.head_object(Bucket=s.bucket, Key=key)
        if time.time() - head["LastModified"].timestamp() < STALE_LOCK:
            raise Locked(f"another request is appending to the upload {upload_id}")
        self.refresh_lock(upload_id)  # its holder died: take it over

    def refresh_lock(self, upload_id: str) -> None:
        s = self._s3()
        with self.errors():
            s.client.put_object(
                Bucket=s.bucket, Key=self.upload_object(upload_id, "lock"), Body=b""
            )

    def unlock_upload(self, upload_id: str) -> None:
        s = self._s3()
        with contextlib.suppress(*Errors):
            s.client.delete_object(Bucket=s.bucket, Key=self.upload_object(upload_id, "lock"))

    def finalize(self, doc: dict[str, Any]) -> None:
        """Turn the parts and the tail into the ``data`` object, then record it."""
        s = self._s3()
        upload_id = doc["state"]["upload_id"]
        data = self.upload_object(upload_id, "data")
        tail_key = self.upload_object(upload_id, "tail")
        with self.errors():
            tail = self.get_bytes(tail_key) if doc["tail"] else b""
            if not doc.get("mpu"):
                s.client.put_object(Bucket=s.bucket, Key=data, Body=tail)
            else:
                number = doc["nparts"]
                if tail:
                    number += 1
                    s.client.upload_part(
                        Bucket=s.bucket, Key=data, UploadId=doc["mpu"], PartNumber=number, Body=tail
                    )
                parts = []
                pager = s.client.get_paginator("list_parts")
                for page in pager.paginate(Bucket=s.bucket, Key=data, UploadId=doc["mpu"]):
                    parts += [
                        {"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                        for p in page.get("Parts", [])
                        if p["PartNumber"] <= number
                    ]
                s.client.complete_multipart_upload(
                    Bucket=s.bucket, Key=data, UploadId=doc["mpu"], MultipartUpload={"Parts": parts}
                )
            doc.update(mpu=None, tail=0, done=True)
            self.save_upload(doc)
            if tail:
                s.client.delete_object(Bucket=s.bucket, Key=tail_key)

    # -- UploadStore ----------------------------------------------------------------

    def create_upload(self, state: UploadState) -> UploadState:
        if not state.created:
            state.created = time.time()
        doc = {
            "state": asdict(state),
            "part_size": self._s3().part_size,
            "nparts": 0,
            "tail": 0,
            "mpu": None,
            "done": False,
        }
        try:
            self.save_upload(doc, create=True)
        except PreconditionFailed:
            raise Conflict(f"an upload with the id {state.upload_id!r} exists") from None
        return state

    def get_upload(self, upload_id: str) -> UploadState:
        raw = self.load_upload(upload_id)["state"]
        raw["parts"] = tuple(raw["parts"])
        return UploadState(**raw)

    def update_upload(self, state: UploadState) -> None:
        doc = self.load_upload(state.upload_id)
        doc["state"].update(
            length=state.length,
            metadata=dict(state.metadata),
            expires=state.expires,
            completed_key=state.completed_key,
        )
        self.save_upload(doc)

    def append_upload(self, upload_id: str, offset: int) -> S3Appender:
        return S3Appender(self._s3(), upload_id, offset)

    def read_upload(self, upload_id: str, start: int = 0) -> Iterator[bytes]:
        doc = self.load_upload(upload_id)
        if doc["state"]["parts"]:
            return self._read_parts(list(doc["state"]["parts"]), start)
        return self._read_one(upload_id, doc, start)

    def _read_parts(self, parts: list[str], start: int) -> Iterator[bytes]:
        """A final upload's bytes: its partial uploads' one after the other."""
        base = 0
        for part in parts:
            doc = self.load_upload(part)
            size = int(doc["state"]["offset"])
            if base + size > start:
                yield from self._read_one(part, doc, max(start - base, 0))
            base += size

    def _read_one(self, upload_id: str, doc: dict[str, Any], start: int) -> Iterator[bytes]:
        s = self._s3()
        if doc["done"]:
            obj = self.upload_object(upload_id, "data")
        elif doc["nparts"] == 0 and not doc.get("mpu"):
            obj = self.upload_object(upload_id, "tail")
            if not doc["tail"]:
                return
        else:
            raise Conflict(
                "the bytes of an unfinished upload on S3 are readable once it is complete"
            )
        end = doc["state"]["offset"]
        if start >= end:
            return
        with self.errors():
            body = s.client.get_object(Bucket=s.bucket, Key=obj, Range=f"bytes={start}-{end - 1}")[
                "Body"
            ]
        try:
            while True:
                with self.errors():
                    piece = body.read(READ_CHUNK)
                if not piece:
                    return
                yield bytes(piece)
        finally:
            body.close()

    def complete_upload(self, upload_id: str, key: str, commit: Commit) -> tuple[BlobInfo, bool]:
        s = self._s3()
        self.lock_upload(upload_id)
        try:
            doc = self.load_upload(upload_id)
            state = doc["state"]
            if state["completed_key"] is not None:
                raise Conflict(f"the upload {upload_id} already became {state['completed_key']!r}")
            sources = list(state["parts"]) or [upload_id]
            for source in sources:
                part = doc if source == upload_id else self.load_upload(source)
                if not part["done"]:
                    if (
                        part["state"]["length"] is None
                        or part["state"]["offset"] < part["state"]["length"]
                    ):
                        raise Conflict(f"the upload {source!r} is not complete")
                    self.finalize(part)
            spans = []
            for source in sources:
                part = doc if source == upload_id else self.load_upload(source)
                spans.append(Source(self.upload_object(source, "data"), part["state"]["offset"]))
            result = assemble(s, s.new_info(key, commit), commit.condition, spans)
            state.update(completed_key=key, offset=commit.size)
            self.save_upload(doc)
            if not state["parts"]:
                with self.errors():
                    s.client.delete_object(
                        Bucket=s.bucket, Key=self.upload_object(upload_id, "data")
                    )
            return result
        finally:
            self.unlock_upload(upload_id)

    def delete_upload(self, upload_id: str) -> None:
        s = self._s3()
        doc = self.load_upload(upload_id)
        with self.errors():
            if doc.get("mpu"):
                with contextlib.suppress(*Errors):
                    s.client.abort_multipart_upload(
                        Bucket=s.bucket,
                        Key=self.upload_object(upload_id, "data"),
                        UploadId=doc["mpu"],
                    )
            for name in ("data", "tail", "lock", "state.json"):
                s.client.delete_object(Bucket=s.bucket, Key=self.upload_object(upload_id, name))

    def list_uploads(self, prefix: str, after: str = "", limit: int = 1000) -> list[UploadState]:
        """One listing of the upload folders (``<id>/``) after ``after``, then each state."""
        s = self._s3()
        root = f"{s.base}uploads/"
        args: dict[str, Any] = {
            "Bucket": s.bucket, "Prefix": root + prefix, "Delimiter": "/", "MaxKeys": limit,
        }  # fmt: skip
        if after:
            args["StartAfter"] = f"{root}{after}/\U0010ffff"
        with self.errors():
            listed = s.client.list_objects_v2(**args)
        states = []
        for common in listed.get("CommonPrefixes", []):
            upload_id = str(common["Prefix"])[len(root) :].rstrip("/")
            with contextlib.suppress(NotFound):
                states.append(self.get_upload(upload_id))
        return states

    def expired_uploads(self, now: float) -> Iterator[str]:
        s = self._s3()
        root = f"{s.base}uploads/"
        pager = s.client.get_paginator("list_objects_v2")
        with self.errors():
            pages = iter(pager.paginate(Bucket=s.bucket, Prefix=root))
        while True:
            with self.errors():
                page = next(pages, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(root) :]
                upload_id, _, leaf = name.partition("/")
                if leaf != "state.json":
                    continue
                with contextlib.suppress(NotFound):
                    expires = self.load_upload(upload_id)["state"]["expires"]
                    if expires is not None and expires < now:
                        yield upload_id
