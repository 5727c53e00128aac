"""The outbox on S3: one object per event and webhook URL, leased by conditional writes.

An entry is ``<prefix>/.blobstream/outbox/<time>-<n>-<node>-<url>-<key>.json``
(nanosecond time and a per-process counter first, so a listing is the order of
recording; then short hashes of the node, the URL and the blob key). It is
written right after the blob's commit, before the response. A delivery thread
lists the outbox in order and takes the oldest entry of each (URL, key) whose
lease it wins: the lease is the object beside it, ``….lease``, created with
``If-None-Match: *`` or, once expired, replaced with ``If-Match`` on its ETag,
so two workers or nodes never send one entry at once. A delivered entry is
deleted (then its lease); a failed one keeps a lease that expires when the
retry is due and counts the attempts. A ``kill -9`` loses no recorded entry:
the next worker finds it in the listing once its lease ran out.

Limits: an event is lost if the node dies between the blob's commit and the
entry's PutObject (S3 offers no transaction to join); events of one key are in
order as long as node clocks agree to better than the time between two changes
of the key; each round lists at most :data:`SCAN` entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from blobstream.errors import NotFound, PreconditionFailed
from blobstream.events.model import Event, node_name
from blobstream.events.outbox import OutboxEntry
from blobstream.storage.s3_change import S3Change

if TYPE_CHECKING:
    from blobstream.storage.s3 import S3Store

OUTBOX = ".blobstream/outbox/"
SCAN = 10000
ORPHAN_AGE = 300.0


def short_hash(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class S3Outbox:
    """The :class:`~blobstream.events.outbox.EventOutbox` of an S3 store (module docstring)."""

    def __init__(self, store: S3Store) -> None:
        self.store = store
        self.root = f"{store.base}{OUTBOX}"
        self.node = short_hash(node_name(), 8)
        self._counter = itertools.count()
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        # seq of a claimed entry -> (entry name without suffix, lease ETag, attempts)
        self._claimed: dict[int, tuple[str, str, int]] = {}

    def _obj(self, name: str, suffix: str) -> str:
        return f"{self.root}{name}{suffix}"

    def append_in(self, change: S3Change, events: Sequence[Event], urls: Sequence[str]) -> None:
        """Record the events once the change is visible (S3 has no transaction to join)."""
        if events and urls:
            change.after_commit(lambda: self.append(events, urls))

    def append(self, events: Sequence[Event], urls: Sequence[str]) -> None:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        for event in events:
            for url in urls:
                with self._lock:
                    n = next(self._counter)
                name = (
                    f"{time.time_ns():020d}-{n:010d}-{self.node}-"
                    f"{short_hash(url, 8)}-{short_hash(event.key)}"
                )
                doc = {
                    "event_id": event.id,
                    "url": url,
                    "key": event.key,
                    "created": event.time,
                    "body": event.body().decode(),
                }
                with mapped_errors():
                    s.client.put_object(
                        Bucket=s.bucket,
                        Key=self._obj(name, ".json"),
                        Body=json.dumps(doc).encode(),
                        ContentType="application/json",
                    )

    def _listing(self) -> Any:
        """Pages of the outbox, oldest entry first."""
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        with mapped_errors():
            yield from s.client.get_paginator("list_objects_v2").paginate(
                Bucket=s.bucket, Prefix=self.root
            )

    def _lease(self, name: str, exists: bool, owner: str, lease: float) -> tuple[str, int] | None:
        """Take the lease of entry ``name``: its ETag and the attempts so far, or None."""
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        obj = self._obj(name, ".lease")
        now = time.time()
        attempts = 0
        pin: dict[str, str] = {"IfNoneMatch": "*"}
        if exists:
            try:
                with mapped_errors():
                    got = s.client.get_object(Bucket=s.bucket, Key=obj)
                    try:
                        held = json.loads(got["Body"].read())
                    finally:
                        got["Body"].close()
            except NotFound:
                held = None  # delivered meanwhile, or never leased
            if held is not None:
                if float(held.get("until", 0)) > now:
                    return None  # in flight elsewhere, or its retry is not due yet
                attempts = int(held.get("attempts", 0))
                pin = {"IfMatch": str(got["ETag"])}
        body = json.dumps({"owner": owner, "until": now + lease, "attempts": attempts})
        try:
            with mapped_errors():
                made = s.client.put_object(Bucket=s.bucket, Key=obj, Body=body.encode(), **pin)
        except PreconditionFailed:
            return None  # another claimer won it
        return str(made["ETag"]), attempts

    def _load(self, name: str) -> dict[str, Any] | None:
        from blobstream.storage.s3 import mapped_errors

        s = self.store
        try:
            with mapped_errors():
                got = s.client.get_object(Bucket=s.bucket, Key=self._obj(name, ".json"))
                try:
                    doc: dict[str, Any] = json.loads(got["Body"].read())
                finally:
                    got["Body"].close()
        except NotFound:
            return None
        return doc

    def claim(self, owner: str, limit: int, lease: float) -> list[OutboxEntry]:
        seen: set[str] = set()
        out: list[OutboxEntry] = []
        scanned = 0
        for page in self._listing():
            items = page.get("Contents", [])
            names = {str(i["Key"])[len(self.root) :] for i in items}
            for item in items:
                rel = str(item["Key"])[len(self.root) :]
                if rel.endswith(".lease"):
                    stem = rel[: -len(".lease")]
                    if (
                        stem + ".json" not in names
                        and time.time() - float(item["LastModified"].timestamp()) > ORPHAN_AGE
                    ):
                        self._delete(stem, ".lease")  # its entry was delivered by a dead node
                    continue
                if not rel.endswith(".json"):
                    continue
                stem = rel[: -len(".json")]
                group = stem.split("-", 3)[-1]  # the URL and key hashes
                if group in seen:
                    continue  # an older entry of this (URL, key) waits: keep the order
                seen.add(group)
                taken = self._lease(stem, stem + ".lease" in names, owner, lease)
                if taken is not None:
                    doc = self._load(stem)
                    if doc is None:
                        self._delete(stem, ".lease")
                    else:
                        out.append(self._entry(stem, doc, *taken))
                scanned += 1
                if len(out) >= limit or scanned >= SCAN:
                    return out
        return out

    def _entry(self, stem: str, doc: dict[str, Any], etag: str, attempts: int) -> OutboxEntry:
        seq = next(self._seq)
        with self._lock:
            self._claimed[seq] = (stem, etag, attempts)
        return OutboxEntry(
            seq=seq,
            event_id=str(doc["event_id"]),
            url=str(doc["url"]),
            key=str(doc["key"]),
            body=str(doc["body"]).encode(),
            attempts=attempts,
            created=float(doc["created"]),
        )

    def _delete(self, stem: str, suffix: str) -> None:
        self.store.delete_quietly(self._obj(stem, suffix))

    def delivered(self, seq: int) -> None:
        from blobstream.storage.s3 import mapped_errors

        with self._lock:
            stem, _, _ = self._claimed.pop(seq)
        s = self.store
        with mapped_errors():
            s.client.delete_object(Bucket=s.bucket, Key=self._obj(stem, ".json"))
        self._delete(stem, ".lease")

    def retry_later(self, seq: int, at: float) -> None:
        from blobstream.storage.s3 import mapped_errors

        with self._lock:
            stem, etag, attempts = self._claimed.pop(seq)
        s = self.store
        body = json.dumps({"owner": None, "until": at, "attempts": attempts + 1})
        with contextlib.suppress(PreconditionFailed), mapped_errors():
            # A lease that ran out and was taken over is the new holder's now.
            s.client.put_object(
                Bucket=s.bucket, Key=self._obj(stem, ".lease"), Body=body.encode(), IfMatch=etag
            )

    def pending(self) -> int:
        return sum(
            1
            for page in self._listing()
            for item in page.get("Contents", [])
            if str(item["Key"]).endswith(".json")
        )
