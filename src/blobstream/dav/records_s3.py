"""WebDAV records on S3: one small object each under ``<prefix>/.blobstream/dav/``.

Blob objects all start with ``<prefix>/blobs/``, so no key reaches these. The
critical section is a lease object created with ``If-None-Match: *`` (taken
over with ``If-Match`` once it is older than :data:`LEASE_SECONDS`, so a node
that died holding it blocks others for that long at most).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from blobstream.errors import NotFound, PreconditionFailed, StorageUnavailable

# Jitter from a generator of its own: background threads never move the global one.
_jitter = random.Random()

if TYPE_CHECKING:
    from blobstream.storage.s3 import S3Store

ROOT = ".blobstream/dav/"
LEASE_SECONDS = 30.0
WAIT_SECONDS = 60.0


class S3Records:
    """:class:`~blobstream.dav.records.DavRecords` as objects in the store's bucket."""

    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.root = f"{store.base}{ROOT}"
        self._mutex = threading.RLock()
        self._depth = 0

    def _object(self, kind: str, name: str) -> str:
        return f"{self.root}{kind}/{name}"

    def get(self, kind: str, name: str) -> bytes | None:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        try:
            with mapped_errors():
                got = s.client.get_object(Bucket=s.bucket, Key=self._object(kind, name))
                try:
                    return bytes(got["Body"].read())
                finally:
                    got["Body"].close()
        except NotFound:
            return None

    def put(self, kind: str, name: str, data: bytes) -> None:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        with mapped_errors():
            s.client.put_object(Bucket=s.bucket, Key=self._object(kind, name), Body=data)

    def delete(self, kind: str, name: str) -> None:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        with mapped_errors():
            s.client.delete_object(Bucket=s.bucket, Key=self._object(kind, name))

    def scan(
        self, kind: str, prefix: str, after: str = "", limit: int = 1000
    ) -> list[tuple[str, bytes]]:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        base = f"{self.root}{kind}/"
        args: dict[str, Any] = {"Bucket": s.bucket, "Prefix": base + prefix, "MaxKeys": limit}
        if after:
            args["StartAfter"] = base + after
        with mapped_errors():
            listed = s.client.list_objects_v2(**args)
        found = []
        for item in listed.get("Contents", []):
            name = str(item["Key"])[len(base) :]
            data = self.get(kind, name)
            if data is not None:
                found.append((name, data))
        return found

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._mutex:
            self._depth += 1
            try:
                if self._depth > 1:
                    yield
                    return
                lease = self._take()
                try:
                    yield
                finally:
                    self._give(lease)
            finally:
                self._depth -= 1

    def _take(self) -> str:
        """Create the lease object (or take over an expired one); its ETag."""
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        obj = f"{self.root}lease"
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            body = json.dumps({"until": time.time() + LEASE_SECONDS}).encode()
            try:
                with mapped_errors():
                    made = s.client.put_object(Bucket=s.bucket, Key=obj, Body=body, IfNoneMatch="*")
                return str(made["ETag"])
            except PreconditionFailed:
                pass
            try:
                with mapped_errors():
                    got = s.client.get_object(Bucket=s.bucket, Key=obj)
                    held = json.loads(got["Body"].read())
                    got["Body"].close()
                if float(held.get("until", 0)) < time.time():
                    with mapped_errors():
                        made = s.client.put_object(
                            Bucket=s.bucket, Key=obj, Body=body, IfMatch=str(got["ETag"])
                        )
                    return str(made["ETag"])
            except (NotFound, PreconditionFailed):
                continue  # released or taken over meanwhile: try again at once
            time.sleep(_jitter.uniform(0.005, 0.05))
        raise StorageUnavailable("the WebDAV lock table is held by another node for too long")

    def _give(self, etag: str) -> None:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        with contextlib.suppress(NotFound, PreconditionFailed, StorageUnavailable):
            with mapped_errors():
                s.client.delete_object(Bucket=s.bucket, Key=f"{self.root}lease")
