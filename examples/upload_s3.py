"""Upload big files to S3 as a multipart upload fed as the body arrives; download with Range.

    pip install 'blobstream[s3]'
    S3_BUCKET=my-files flask --app upload_s3.py run         # AWS_* credentials as usual
    curl -T big.iso http://127.0.0.1:5000/files/big.iso
    curl -r 0-99 http://127.0.0.1:5000/files/big.iso

Memory is one part (``PART_SIZE``, 8 MiB) per upload, whatever the file's size:
each part is sent as soon as it is full. An object appears only when the
multipart upload completes, after ``receive_request`` returned; a refused or
cut body aborts it, and the parts sent so far are deleted. ``S3_ENDPOINT_URL``
points it at MinIO, Ceph or another S3-compatible store.
"""

from __future__ import annotations

import io
import os
from typing import Any

import boto3
from flask import Flask, Response

from blobstream.flask import NotFound, receive_request, send_stream

BUCKET = os.environ.get("S3_BUCKET", "files")
LIMIT = int(os.environ.get("MAX_UPLOAD_BYTES", 50 << 30))
PART_SIZE = 8 << 20  # S3 wants at least 5 MiB in every part but the last

app = Flask(__name__)
s3 = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None)


class MultipartSink:
    """A writable sink that sends every full part of a multipart upload at once."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        self.pending = bytearray()
        self.parts: list[Any] = []  # {"PartNumber": n, "ETag": …} of each part sent

    def write(self, data: bytes) -> int:
        self.pending += data
        while len(self.pending) >= PART_SIZE:
            self._send(bytes(self.pending[:PART_SIZE]))
            del self.pending[:PART_SIZE]
        return len(data)

    def _send(self, body: bytes) -> None:
        number = len(self.parts) + 1
        sent = s3.upload_part(
            Bucket=BUCKET, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> None:
        if self.pending or not self.parts:
            self._send(bytes(self.pending))
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        s3.abort_multipart_upload(Bucket=BUCKET, Key=self.key, UploadId=self.upload_id)


class S3Reader(io.RawIOBase):
    """A seekable reader over an object: each read streams a ranged GET from the position."""

    def __init__(self, key: str, size: int) -> None:
        self.key, self.size, self.position = key, size, 0
        self.body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset != self.position:
            self._drop()
            self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.size:
            return 0
        if self.body is None:
            got = s3.get_object(Bucket=BUCKET, Key=self.key, Range=f"bytes={self.position}-")
            self.body = got["Body"]
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def _drop(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None

    def close(self) -> None:
        self._drop()
        super().close()


@app.put("/files/<name>")
def upload(name: str) -> tuple[dict[str, object], int]:
    sink = MultipartSink(name)
    try:
        result = receive_request(sink, limit=LIMIT)  # 400, 411, 413 as problem+json
        sink.complete()
    except BaseException:
        sink.abort()
        raise
    return {"name": name, "size": result.size, "sha256": result.sha256}, 201


@app.get("/files/<name>")
def download(name: str) -> Response:
    try:
        head = s3.head_object(Bucket=BUCKET, Key=name)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
            raise NotFound(f"no file is named {name!r}") from None
        raise
    size = int(head["ContentLength"])
    stream = io.BufferedReader(S3Reader(name, size), buffer_size=1 << 20)
    # Range (206, multipart/byteranges, 416), If-None-Match (304), If-Match (412), HEAD.
    return send_stream(
        stream,
        size=size,
        etag=str(head["ETag"]).strip('"'),
        last_modified=head["LastModified"].timestamp(),
    )
