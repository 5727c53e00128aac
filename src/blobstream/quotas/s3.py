"""Quotas on S3: a counter object per scope, moved by compare-and-swap.

S3 has no transactions, so each scope's usage is a small JSON object,
``<prefix>/.blobstream/quotas/<hash of scope>.json``, updated only with a
conditional PutObject (``If-Match`` on the ETag it was read with; a 412 means
another node moved it first, so it is read again and retried). The counter
carries a version number, so its ETag never repeats.

A change that grows a scope **reserves** its bytes and blob before the new
version becomes visible: the counter is moved and checked first (refusing with
507 past the quota), then the blob is written; a failed write gives the
reservation back. A change that shrinks a scope (a delete, a smaller
replacement) releases its bytes only once it is done. Usage is therefore never
counted low while changes are in flight, and writers on any number of nodes
cannot overshoot a quota: concurrent uploads may instead be refused while
another's reservation is pending. The owner token of a blob is recorded in its
object metadata (``owner``), so replacing or deleting it moves the right
token's counter.

Limits, stated in the README: exactness needs a store that honours
``If-Match``/``If-None-Match`` on PutObject, CompleteMultipartUpload and
DeleteObject (moto does) and on CopyObject (moto ignores them there: two
concurrent writes of one key larger than the part size may both be counted
against the same old version, so the counter can drift by up to that blob). A node
killed between a reservation and its write, or between a delete and its
release, leaves the counter high by that blob (it errs on refusing). A prefix
counter is made by listing the prefix when it is first needed; deleting the
counter object makes the next use count the prefix again. Token counters start
at zero: blobs stored before the rule existed are not the token's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from blobstream.context import request_context
from blobstream.errors import NotFound, PreconditionFailed, StorageUnavailable
from blobstream.quotas import Deltas, Quotas, Rule, add
from blobstream.storage.protocol import BlobInfo
from blobstream.storage.s3_change import S3Change

# Jitter from a generator of its own: background threads never move the global one.
_jitter = random.Random()

if TYPE_CHECKING:
    from blobstream.storage.s3 import S3Store

COUNTERS = ".blobstream/quotas/"
CAS_ATTEMPTS = 100


class S3Quotas(Quotas):
    """The rules of one app and their counter objects in the bucket."""

    def __init__(self, rules: Sequence[Rule], store: S3Store) -> None:
        super().__init__(rules)
        self.store = store
        store.pin_always = True
        if self.by_token:
            store.owner_of_write = self._owner_of_write

    @staticmethod
    def _owner_of_write_token() -> str | None:
        return request_context()[1]

    def _owner_of_write(self) -> str | None:
        return self.token_scope(self._owner_of_write_token())

    def counter_object(self, scope: str) -> str:
        digest = hashlib.sha256(scope.encode()).hexdigest()[:32]
        return f"{self.store.base}{COUNTERS}{digest}.json"

    # -- reading and moving a counter ---------------------------------------------------

    def _read(self, scope: str) -> tuple[dict[str, Any], str]:
        """The counter of ``scope`` and its ETag, made (by counting) when it is missing."""
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        obj = self.counter_object(scope)
        for _ in range(CAS_ATTEMPTS):
            try:
                with mapped_errors():
                    got = s.client.get_object(Bucket=s.bucket, Key=obj)
                    try:
                        doc: dict[str, Any] = json.loads(got["Body"].read())
                    finally:
                        got["Body"].close()
                return doc, str(got["ETag"])
            except NotFound:
                pass
            used, count = self._count(scope)
            doc = {"scope": scope, "bytes": used, "blobs": count, "version": 0}
            try:
                with mapped_errors():
                    made = s.client.put_object(
                        Bucket=s.bucket, Key=obj, Body=json.dumps(doc).encode(), IfNoneMatch="*"
                    )
                return doc, str(made["ETag"])
            except PreconditionFailed:
                continue  # another node made it first: read theirs
        raise StorageUnavailable(f"the quota counter of {scope} could not be read")

    def _count(self, scope: str) -> tuple[int, int]:
        """A prefix's bytes and blobs by listing it (paged); a token starts from zero."""
        from blobstream.storage.s3 import mapped_errors

        rule = self.limits.get(scope)
        if rule is None or rule.prefix is None:
            return 0, 0
        s = self.store
        used = count = 0
        pager = s.client.get_paginator("list_objects_v2")
        with mapped_errors():
            for page in pager.paginate(Bucket=s.bucket, Prefix=s.blob_object(rule.prefix)):
                for item in page.get("Contents", []):
                    used += int(item["Size"])
                    count += 1
        return used, count

    def move(self, scope: str, grow: Sequence[int], *, check: bool) -> None:
        """Add ``grow`` (bytes, blobs) to the counter of ``scope`` by compare-and-swap;
        with ``check`` refuse (QuotaExceeded) a total past the quota, writing nothing."""
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        for attempt in range(CAS_ATTEMPTS):
            doc, etag = self._read(scope)
            doc["bytes"] = int(doc["bytes"]) + grow[0]
            doc["blobs"] = int(doc["blobs"]) + grow[1]
            doc["version"] = int(doc.get("version", 0)) + 1
            if check:
                self.check(scope, grow, doc["bytes"], doc["blobs"])
            try:
                with mapped_errors():
                    s.client.put_object(
                        Bucket=s.bucket,
                        Key=self.counter_object(scope),
                        Body=json.dumps(doc).encode(),
                        IfMatch=etag,
                    )
                return
            except (PreconditionFailed, NotFound):
                # Moved (or deleted for a recount) by another writer: read it again.
                time.sleep(_jitter.uniform(0, min(0.2, 0.005 * (attempt + 1))))
        raise StorageUnavailable(f"the quota counter of {scope} is too busy to be updated")

    # -- the Quotas interface -------------------------------------------------------------

    def usage(self, scope: str) -> tuple[int, int]:
        doc, _ = self._read(scope)
        return int(doc["bytes"]), int(doc["blobs"])

    def counted(self, key: str, rule: Rule) -> int | None:
        try:
            head = self.store.head_object(key)
        except NotFound:
            return None
        if rule.prefix is None and head.get("Metadata", {}).get("owner") != rule.scope:
            return None
        return int(head["ContentLength"])

    def on_commit(
        self, tx: S3Change, key: str, old: BlobInfo | None, new: BlobInfo | None, token: str | None
    ) -> None:
        """Reserve what the change grows now (given back if the write fails); release
        what it shrinks once it is done."""
        deltas: Deltas = self.prefix_deltas(key, old, new)
        if self.by_token:
            if old is not None and tx.old_owner:
                add(deltas, tx.old_owner, old, -1)
            scope = self.token_scope(token)
            if new is not None and scope is not None:
                add(deltas, scope, new, +1)
        for scope in sorted(deltas):
            grow = list(deltas[scope])
            if grow[0] > 0 or grow[1] > 0:
                self.move(scope, grow, check=True)
                back = [-grow[0], -grow[1]]
                tx.on_abort(functools.partial(self.move, scope, back, check=False))
            elif grow[0] < 0 or grow[1] < 0:
                tx.after_commit(functools.partial(self.move, scope, grow, check=False))
