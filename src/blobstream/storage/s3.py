"""``s3://bucket/prefix?endpoint=…&region=…&part_size=8MiB&concurrency=4``: S3-compatible storage.

Blobs live at ``<prefix>/blobs/<key>`` with their SHA-256, our own version
ETag and modification time in object metadata (S3's own ETag depends on how
the body was split, so it is only used to pin versions). A body smaller than
the part size goes in one PutObject; a larger one is streamed as a multipart
upload, ``concurrency`` parts in flight on a small thread pool (memory = part
size × (concurrency + 1)), and aborted on any failure. It becomes visible only
once complete, with its metadata (below).

Conditions: the current version is read with HeadObject and checked, then the
write is pinned to what was seen with S3 conditional writes (``If-None-Match:
*`` when absent, ``If-Match: <S3 ETag>`` when present), so a concurrent change
makes S3 answer 412 and the check is repeated. Servers that ignore these
headers (moto ignores If-Match on CompleteMultipartUpload) leave a race window
between the HeadObject and the commit. Unconditional writes are last-writer-wins.

Readers stream one GET from their position and pin later ranged GETs (after a
seek) to the S3 ETag with ``If-Match``: on a replaced object S3 answers 412 and
the reader raises StorageUnavailable instead of returning bytes of another
version. Without bucket versioning the old bytes are gone, so unlike the other
backends a reader cannot outlive a replace across a seek.

Metadata is atomic with the bytes: a body smaller than the part size goes in
one PutObject carrying its metadata. A larger one is streamed as a multipart
upload to a staging object, ``<prefix>/.staging/<uuid>`` (its SHA-256 is known
only at the end, after S3 fixed the upload's metadata at its creation), which
is then copied inside the store onto the blob's key with its metadata
(CopyObject with ``MetadataDirective=REPLACE``; above 5 GiB a multipart upload
of UploadPartCopy parts, see :mod:`blobstream.storage.s3_assemble`), pinned
like any write, and deleted. The trade-off: the store writes a large body
twice (the copy costs the store time and, until the staging object is deleted,
space, but no node bandwidth or memory), in exchange for readers never seeing
a version without its SHA-256. A node killed between the copy and the delete
leaves a staging object, and one killed mid-write an open multipart upload:
give the bucket a lifecycle rule that expires ``<prefix>/.staging/`` objects
and aborts incomplete multipart uploads after a day. moto ignores the
conditional headers on CopyObject, so there conditional replaces of large
bodies keep the race window described above.

Commit hooks (``tx_hooks``: quota counters, the event outbox) run for every
write and delete after its condition was checked and before the write, with an
:class:`~blobstream.storage.s3_change.S3Change` on which they register what
undoes them if the write fails and what follows once it is visible. With
``pin_always`` (quotas) even unconditional writes and deletes are pinned to the
version the hooks saw, so two of them racing on one key are counted once each.
Everything blobstream keeps beside the blobs lives under ``<prefix>/.blobstream/``
(counters, outbox) and ``<prefix>/uploads/``; a blob key cannot reach there,
since every blob object name starts with ``<prefix>/blobs/``.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

from blobstream.errors import BlobstreamError, NotFound, PreconditionFailed, StorageUnavailable
from blobstream.storage.protocol import ALWAYS, BlobInfo, Buffer, Commit, WriteCondition
from blobstream.storage.s3_change import S3Change
from blobstream.storage.s3_uploads import S3Uploads

MIN_PART = 5 << 20
READ_CHUNK = 1 << 20
PIN_ATTEMPTS = 5
LIST_HEADS = 16
ClientError = botocore.exceptions.ClientError
TxHook = Callable[[S3Change, str, BlobInfo | None, BlobInfo | None], None]


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def storage_error(exc: BaseException) -> BaseException:
    """Map a boto failure to the named error a client should see."""
    if isinstance(exc, BlobstreamError):
        return exc
    code = error_code(exc)
    if code in ("NoSuchKey", "404", "NotFound"):
        return NotFound("no such object")
    if code in ("PreconditionFailed", "412"):
        return PreconditionFailed("the object changed meanwhile")
    if code in ("EntityTooLarge",):
        from blobstream.errors import TooLarge

        return TooLarge("the object store refuses a body this large")
    return StorageUnavailable(f"the object store failed: {code or type(exc).__name__}")


@contextlib.contextmanager
def mapped_errors() -> Any:
    try:
        yield
    except (botocore.exceptions.BotoCoreError, ClientError) as exc:
        raise storage_error(exc) from exc


class S3Writer:
    """A new version: one PutObject, or a multipart upload streamed part by part."""

    def __init__(self, store: S3Store, key: str, part_size: int | None = None) -> None:
        self.store = store
        self.key = key
        self.object = store.staging_object()
        self.part_size = part_size or store.part_size
        self.buffer = bytearray()
        self.size = 0
        self.upload_id: str | None = None
        self.parts: list[Future[dict[str, Any]]] = []
        self.done = False

    def write(self, data: Buffer) -> None:
        assert not self.done, "write after commit or abort"
        self.buffer += data
        self.size += len(data)
        while len(self.buffer) >= self.part_size:
            self._send(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]

    def _send(self, body: bytes) -> None:
        with mapped_errors():
            if self.upload_id is None:
                self.upload_id = self.store.client.create_multipart_upload(
                    Bucket=self.store.bucket, Key=self.object
                )["UploadId"]
            in_flight = [f for f in self.parts if not f.done()]
            if len(in_flight) >= self.store.concurrency:
                in_flight[0].result()
            for f in self.parts:
                if f.done():
                    f.result()  # raise a failed part now
            number = len(self.parts) + 1
            self.parts.append(self.store.pool.submit(self._upload_part, number, body))

    def _upload_part(self, number: int, body: bytes) -> dict[str, Any]:
        response = self.store.client.upload_part(
            Bucket=self.store.bucket,
            Key=self.object,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def commit(self, commit: Commit) -> tuple[BlobInfo, bool]:
        assert not self.done, "commit after commit or abort"
        info = self.store.new_info(self.key, commit)
        if self.upload_id is None:
            body = bytes(self.buffer)
            self.buffer = bytearray()
            result = self.store.publish(
                info, commit.condition, lambda pin: self.store.put_blob(info, body, pin)
            )
            self.done = True
            return result
        if self.buffer:
            self._send(bytes(self.buffer))
            self.buffer = bytearray()
        from blobstream.storage.s3_assemble import Source, assemble

        with mapped_errors():
            parts = [f.result() for f in self.parts]
            self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket,
                Key=self.object,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        self.upload_id = None  # the staging object exists: abort and commit delete it
        try:
            result = assemble(self.store, info, commit.condition, [Source(self.object, self.size)])
        finally:
            self.store.delete_quietly(self.object)
        self.done = True
        return result

    def abort(self) -> None:
        self.done = True
        self.buffer = bytearray()
        for f in self.parts:
            with contextlib.suppress(Exception):
                f.result()
        if self.upload_id is not None:
            with contextlib.suppress(botocore.exceptions.BotoCoreError, ClientError):
                self.store.client.abort_multipart_upload(
                    Bucket=self.store.bucket, Key=self.object, UploadId=self.upload_id
                )
            self.upload_id = None
        self.store.delete_quietly(self.object)


class S3Reader:
    """One version of a blob, read with GETs pinned to its S3 ETag (module docstring)."""

    def __init__(self, store: S3Store, key: str) -> None:
        self.store = store
        self.info, self.s3etag = store.head(key)
        self.object = store.blob_object(key)
        self.pos = 0
        self.body: Any = None

    def read(self, size: int = -1, /) -> bytes:
        remaining = self.info.size - self.pos
        want = remaining if size is None or size < 0 else min(size, remaining)
        if want <= 0:
            return b""
        if self.body is None:
            try:
                with mapped_errors():
                    self.body = self.store.client.get_object(
                        Bucket=self.store.bucket,
                        Key=self.object,
                        Range=f"bytes={self.pos}-",
                        IfMatch=self.s3etag,
                    )["Body"]
            except (PreconditionFailed, NotFound) as exc:
                raise StorageUnavailable("the blob was replaced while it was being read") from exc
        out = bytearray()
        with mapped_errors():
            while len(out) < want:
                piece = self.body.read(want - len(out))
                if not piece:
                    raise StorageUnavailable("the object store ended the blob early")
                out += piece
        self.pos += len(out)
        return bytes(out)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.info.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError("negative seek position")
        if target != self.pos:
            self._drop_body()
            self.pos = target
        return target

    def tell(self) -> int:
        return self.pos

    def _drop_body(self) -> None:
        body, self.body = self.body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def close(self) -> None:
        self._drop_body()


class S3Store(S3Uploads):
    """``s3://bucket/prefix``: see the module docstring."""

    def __init__(self, url: str) -> None:
        from blobstream.cli.sizes import parse_size
        from blobstream.storage import InvalidStorageURL
        from blobstream.storage.s3_assemble import MAX_COPY

        self.url = url
        self.tx_hooks: list[TxHook] = []
        self.pin_always = False
        # The token scope a new version records as its owner (set by the quotas).
        self.owner_of_write: Callable[[], str | None] | None = None
        self.max_copy = MAX_COPY  # the most one server-side copy request may copy
        parts = urlsplit(url)
        self.bucket = parts.netloc
        if not self.bucket:
            raise InvalidStorageURL(f"{url!r} names no bucket: use s3://bucket/prefix")
        prefix = parts.path.strip("/")
        self.base = f"{prefix}/" if prefix else ""
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            self.part_size = parse_size(query.get("part_size", "8MiB"))
            self.concurrency = int(query.get("concurrency", "4"))
        except ValueError as exc:
            raise InvalidStorageURL(f"bad part_size or concurrency in {url!r}: {exc}") from exc
        if self.part_size < MIN_PART or self.concurrency < 1:
            raise InvalidStorageURL("part_size must be at least 5MiB and concurrency at least 1")

        def client(attempts: int, read_timeout: int) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=query.get("endpoint"),
                region_name=query.get("region"),
                config=Config(
                    connect_timeout=3,
                    read_timeout=read_timeout,
                    retries={"max_attempts": attempts, "mode": "standard"},
                    max_pool_connections=self.concurrency * 4 + LIST_HEADS,
                    s3={"addressing_style": "path"},
                ),
            )

        self.client: Any = client(5, 60)
        self.ping_client: Any = client(1, 3)  # /healthz answers fast, retries nothing
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="blobstream-s3")
        # A listed key's metadata needs a HeadObject: a page of 1000 takes 1000 round trips.
        self.head_pool = ThreadPoolExecutor(LIST_HEADS, thread_name_prefix="blobstream-s3-head")
        try:
            self.ping_client.head_bucket(Bucket=self.bucket)
        except (botocore.exceptions.BotoCoreError, ClientError) as exc:
            self.pool.shutdown()
            self.head_pool.shutdown()
            detail = error_code(exc) or str(exc).splitlines()[0]
            raise StorageUnavailable(f"cannot use the S3 bucket {self.bucket!r}: {detail}") from exc

    # -- naming and metadata ------------------------------------------------------

    def blob_object(self, key: str) -> str:
        return f"{self.base}blobs/{key}"

    def staging_object(self) -> str:
        return f"{self.base}.staging/{uuid.uuid4().hex}"

    def delete_quietly(self, obj: str) -> None:
        """Remove a temporary object; a failure leaves it to the bucket's lifecycle rule."""
        with contextlib.suppress(botocore.exceptions.BotoCoreError, ClientError):
            self.client.delete_object(Bucket=self.bucket, Key=obj)

    def read_range(self, obj: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of an object (short spans only: they are held in memory)."""
        if end <= start:
            return b""
        with mapped_errors():
            body = self.client.get_object(
                Bucket=self.bucket, Key=obj, Range=f"bytes={start}-{end - 1}"
            )["Body"]
            try:
                data = bytes(body.read())
            finally:
                body.close()
        if len(data) != end - start:
            raise StorageUnavailable(f"the object store returned a short span of {obj}")
        return data

    def put_blob(self, info: BlobInfo, body: bytes, pin: dict[str, str]) -> None:
        """One PutObject carrying the blob's bytes and metadata."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.blob_object(info.key),
            Body=body,
            ContentType=info.content_type,
            Metadata=self.metadata(info),
            **pin,
        )

    def copy_object_onto(self, info: BlobInfo, source: str, pin: dict[str, str]) -> None:
        """CopyObject of ``source`` (≤ 5 GiB) onto the blob's key, with its metadata."""
        self.client.copy_object(
            Bucket=self.bucket,
            Key=self.blob_object(info.key),
            CopySource={"Bucket": self.bucket, "Key": source},
            MetadataDirective="REPLACE",
            ContentType=info.content_type,
            Metadata=self.metadata(info),
            **pin,
        )

    def new_info(self, key: str, commit: Commit) -> BlobInfo:
        return BlobInfo(
            key, commit.size, uuid.uuid4().hex, commit.sha256, commit.content_type, time.time(),
            dict(commit.meta),
        )  # fmt: skip

    def metadata(self, info: BlobInfo) -> dict[str, str]:
        meta = {"etag": info.etag, "sha256": info.sha256, "mtime": repr(info.last_modified)}
        if info.meta:  # a dialect's own metadata, as ASCII JSON (header-safe)
            meta["meta"] = json.dumps(dict(info.meta), separators=(",", ":"), sort_keys=True)
        owner = self.owner_of_write() if self.owner_of_write is not None else None
        if owner:
            meta["owner"] = owner
        return meta

    def _info(self, key: str, head: dict[str, Any]) -> BlobInfo:
        meta = head.get("Metadata", {})
        return BlobInfo(
            key=key,
            size=int(head["ContentLength"]),
            etag=meta.get("etag") or str(head["ETag"]).strip('"'),
            sha256=meta.get("sha256", ""),
            content_type=head.get("ContentType") or "application/octet-stream",
            last_modified=float(meta.get("mtime") or head["LastModified"].timestamp()),
            meta=json.loads(meta["meta"]) if meta.get("meta") else {},
        )

    def head_object(self, key: str) -> dict[str, Any]:
        """The HeadObject answer of the blob ``key``; raises NotFound."""
        try:
            with mapped_errors():
                head: dict[str, Any] = self.client.head_object(
                    Bucket=self.bucket, Key=self.blob_object(key)
                )
        except NotFound:
            raise NotFound(f"no blob has the key {key!r}") from None
        return head

    def head(self, key: str) -> tuple[BlobInfo, str]:
        """The current version and its S3 ETag; raises NotFound."""
        head = self.head_object(key)
        return self._info(key, head), str(head["ETag"])

    def _current(self, key: str) -> tuple[BlobInfo | None, dict[str, str], S3Change]:
        """The current version (or None), the S3 condition that pins it, and the
        change the commit hooks see."""
        try:
            head = self.head_object(key)
        except NotFound:
            return None, {"IfNoneMatch": "*"}, S3Change()
        owner = head.get("Metadata", {}).get("owner")
        return self._info(key, head), {"IfMatch": str(head["ETag"])}, S3Change(owner)

    def _hooked(
        self,
        change: S3Change,
        key: str,
        old: BlobInfo | None,
        new: BlobInfo | None,
        act: Callable[[], None],
    ) -> None:
        """Run the commit hooks, then ``act``; undo the hooks if it fails."""
        try:
            for hook in self.tx_hooks:
                hook(change, key, old, new)
            with mapped_errors():
                act()
        except BaseException:
            change.abort()
            raise
        change.done()

    # -- commits ------------------------------------------------------------------

    def publish(
        self, info: BlobInfo, condition: WriteCondition, write: Callable[[dict[str, str]], None]
    ) -> tuple[BlobInfo, bool]:
        """Check ``condition`` against the current version and write pinned to it."""
        for _ in range(PIN_ATTEMPTS):
            current, pin, change = self._current(info.key)
            condition.check(current)
            if condition == ALWAYS and not self.pin_always:
                pin = {}
            try:
                self._hooked(change, info.key, current, info, lambda: write(pin))  # noqa: B023
            except PreconditionFailed:
                continue  # changed between the check and the write: check again
            return info, current is None
        raise PreconditionFailed("the blob keeps changing; its condition could not be checked")

    def publish_multipart(
        self,
        info: BlobInfo,
        condition: WriteCondition,
        obj: str,
        upload_id: str,
        parts: list[dict[str, Any]],
    ) -> tuple[BlobInfo, bool]:
        """Complete a multipart upload whose parts hold the new version, or abort it."""
        try:
            return self.publish(
                info,
                condition,
                lambda pin: self._complete(obj, upload_id, parts, pin),
            )
        except BaseException:
            with contextlib.suppress(botocore.exceptions.BotoCoreError, ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=obj, UploadId=upload_id)
            raise

    def _complete(
        self,
        obj: str,
        upload_id: str,
        parts: list[dict[str, Any]],
        pin: dict[str, str],
    ) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=obj,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            **pin,
        )

    # -- BlobStore ----------------------------------------------------------------

    def begin_write(self, key: str) -> S3Writer:
        return S3Writer(self, key)

    def open(self, key: str) -> S3Reader:
        return S3Reader(self, key)

    def stat(self, key: str) -> BlobInfo:
        return self.head(key)[0]

    def delete(self, key: str, condition: WriteCondition = ALWAYS) -> BlobInfo:
        for _ in range(PIN_ATTEMPTS):
            current, pin, change = self._current(key)
            if current is None:
                raise NotFound(f"no blob has the key {key!r}")
            condition.check(current)
            if condition == ALWAYS and not self.pin_always:
                pin = {}

            def act() -> None:
                self.client.delete_object(
                    Bucket=self.bucket,
                    Key=self.blob_object(key),
                    **pin,  # noqa: B023
                )

            try:
                self._hooked(change, key, current, None, act)
            except PreconditionFailed:
                continue  # changed between the check and the delete: check again
            return current
        raise PreconditionFailed("the blob keeps changing; its condition could not be checked")

    def list(self, prefix: str = "", after: str = "", limit: int = 1000) -> list[BlobInfo]:
        root = f"{self.base}blobs/"
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": root + prefix, "MaxKeys": limit}
        if after:
            args["StartAfter"] = root + after
        with mapped_errors():
            listed = self.client.list_objects_v2(**args).get("Contents", [])
        keys = [str(item["Key"])[len(root) :] for item in listed]

        def stat(key: str) -> BlobInfo | None:
            try:
                return self.head(key)[0]
            except NotFound:
                return None  # deleted since it was listed

        return [info for info in self.head_pool.map(stat, keys) if info is not None]

    def ping(self) -> None:
        try:
            self.ping_client.head_bucket(Bucket=self.bucket)
        except (botocore.exceptions.BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"the S3 bucket {self.bucket!r} does not answer") from exc

    def close(self) -> None:
        self.pool.shutdown()
        self.head_pool.shutdown()

    # -- CopyStore: CopyObject, or UploadPartCopy parts above 5 GiB ----------------

    def copy_blob(
        self,
        src_key: str,
        dst_key: str,
        *,
        source_etag: str | None,
        condition: WriteCondition,
        meta: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> tuple[BlobInfo, bool]:
        """Copy inside the bucket with the new version's metadata, every request pinned
        to the source version seen (``CopySourceIfMatch``) and to the destination
        version the condition was checked against, like any write."""
        from blobstream.storage.s3_assemble import copy_ranges

        src, s3etag = self.head(src_key)
        if source_etag is not None and src.etag != source_etag:
            raise PreconditionFailed("the copy source has another version")
        info = self.new_info(
            dst_key,
            Commit(
                src.size, src.sha256, content_type or src.content_type, condition,
                src.meta if meta is None else meta,
            ),
        )  # fmt: skip
        obj = self.blob_object(dst_key)
        source = {"Bucket": self.bucket, "Key": self.blob_object(src_key)}
        if src.size <= self.max_copy:

            def write(pin: dict[str, str]) -> None:
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=obj,
                    CopySource=source,
                    CopySourceIfMatch=s3etag,
                    MetadataDirective="REPLACE",
                    ContentType=info.content_type,
                    Metadata=self.metadata(info),
                    **pin,
                )

            return self.publish(info, condition, write)
        with mapped_errors():
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=obj, ContentType=info.content_type,
                Metadata=self.metadata(info),
            )["UploadId"]  # fmt: skip
        parts: list[dict[str, Any]] = []
        try:
            with mapped_errors():
                for number, (start, end) in enumerate(copy_ranges(src.size, self.max_copy), 1):
                    done = self.client.upload_part_copy(
                        Bucket=self.bucket, Key=obj, UploadId=upload_id, PartNumber=number,
                        CopySource=source, CopySourceIfMatch=s3etag,
                        CopySourceRange=f"bytes={start}-{end - 1}",
                    )  # fmt: skip
                    parts.append({"PartNumber": number, "ETag": done["CopyPartResult"]["ETag"]})
        except BaseException:
            with contextlib.suppress(botocore.exceptions.BotoCoreError, ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=obj, UploadId=upload_id)
            raise
        return self.publish_multipart(info, condition, obj, upload_id, parts)
