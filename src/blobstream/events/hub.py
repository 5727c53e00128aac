"""The hooks of one app: events to webhooks and callables, the pre-commit veto, quotas.

The write paths call :func:`current_hooks` and, when the app has hooks, tell
them what happens: :meth:`Hooks.before_write` (quota room), then
:meth:`Hooks.before_commit` (veto), then :meth:`Hooks.committed` /
:meth:`Hooks.deleted` after the commit. On the local backend the outbox rows
and the quota counters are written inside the commit's own transaction
(``LocalStore.tx_hooks``), so a ``kill -9`` right after a commit loses no event;
PostgreSQL does the same in its commit transaction, and S3 (no transactions)
reserves quota before the write and records the event right after it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from blobstream.context import request_context
from blobstream.errors import QuotaExceeded
from blobstream.events.delivery import Deliverer
from blobstream.events.model import EVENTS, Event
from blobstream.events.outbox import EventOutbox, outbox_for
from blobstream.events.precommit import HttpPreCommit, PendingBlob
from blobstream.storage.protocol import BlobInfo, Buffer, UploadState

if TYPE_CHECKING:
    from blobstream.quotas import Quotas
    from blobstream.streams import Readable

log = logging.getLogger("blobstream.events")

HOOKS_KEY = "blobstream_hooks"
REQUEST_ID_HEADER = "X-Request-Id"
PROGRESS_INTERVAL = 1.0
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,200}$")

Listener = Callable[[Event], None]
PreCommitCheck = Callable[[PendingBlob], None]


class Listeners:
    """Python callables of a Flask app: ``on(event, fn)`` ("*" for every event) and
    ``pre_commit(fn)`` (raise :class:`~blobstream.errors.Vetoed` to refuse)."""

    def __init__(self) -> None:
        self.by_event: dict[str, list[Listener]] = {}
        self.pre_commit: list[PreCommitCheck] = []

    def on(self, event: str, fn: Listener) -> Listener:
        if event != "*" and event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; events are {', '.join(EVENTS)}")
        self.by_event.setdefault(event, []).append(fn)
        return fn

    def call(self, event: Event) -> None:
        for fn in (*self.by_event.get(event.event, ()), *self.by_event.get("*", ())):
            try:
                fn(event)
            except Exception:
                log.exception("the %s listener %r failed", event.event, fn)


class QuotaLimited:
    """A request body that raises QuotaExceeded past ``room`` bytes (read and readinto)."""

    def __init__(self, source: Readable, room: int) -> None:
        self.source = source
        self.room = room
        self.seen = 0

    def _count(self, n: int) -> None:
        self.seen += n
        if self.seen > self.room:
            raise QuotaExceeded(
                f"the body passed what is left of the quota ({self.room} bytes) while it streamed"
            )

    def read(self, size: int = -1, /) -> bytes:
        data = self.source.read(size)
        self._count(len(data))
        return data

    def readinto(self, buffer: Buffer) -> int:
        readinto = getattr(self.source, "readinto", None)
        if readinto is None:
            view = memoryview(buffer)
            data = self.source.read(view.nbytes)
            view[: len(data)] = data
            n = len(data)
        else:
            n = int(readinto(buffer) or 0)
        self._count(n)
        return n


class Hooks:
    """What one app does around writes (module docstring)."""

    def __init__(
        self,
        store: object,
        listeners: Listeners,
        *,
        urls: Sequence[str] = (),
        pre_commit_url: str | None = None,
        secret: bytes | None = None,
        quotas: Quotas | None = None,
        poll: float = 1.0,
    ) -> None:
        self.listeners = listeners
        self.urls = list(urls)
        self.quotas = quotas
        self.pre_commit: list[PreCommitCheck] = []
        if pre_commit_url:
            self.pre_commit.append(HttpPreCommit(pre_commit_url, secret))
        self.outbox: EventOutbox | None = None
        self.deliverer: Deliverer | None = None
        if self.urls:
            self.outbox = outbox_for(store)
            if self.outbox is None:
                raise ValueError(
                    "webhooks need an outbox in the store: use a file, postgresql or s3 storage"
                )
            self.deliverer = Deliverer(self.outbox, secret, poll=poll).start()
        # Events written in a commit's transaction, by (event, key, ETag), until the
        # request that made the change hands them to the listeners: a commit may run
        # on another thread (the index's group commit).
        self._recorded: dict[tuple[str, str, str | None], Event] = {}
        self._recorded_lock = threading.Lock()
        self._progress: dict[str, float] = {}
        self.in_transaction = False
        tx_hooks: list[Any] | None = getattr(store, "tx_hooks", None)
        if tx_hooks is not None:
            tx_hooks.append(self._in_commit)
            self.in_transaction = True

    def close(self) -> None:
        if self.deliverer is not None:
            self.deliverer.stop()

    # -- before the write -------------------------------------------------------------

    def before_write(self, key: str, source: Readable, length: int | None) -> Readable:
        """Refuse at once what the quotas cannot take; bound the body by what is left."""
        if self.quotas is None:
            return source
        room = self.room(key, length)
        return source if room is None else QuotaLimited(source, room)

    def room(self, key: str, length: int | None = None) -> int | None:
        """What the quotas leave for a new version of ``key`` (None: no limit); refuses
        at once when ``length`` cannot fit."""
        if self.quotas is None:
            return None
        return self.quotas.room(key, length, request_context()[1])

    def before_commit(self, key: str, size: int, sha256: str, content_type: str) -> None:
        """Ask the pre-commit checks; any of them may raise Vetoed."""
        checks = (*self.listeners.pre_commit, *self.pre_commit)
        if not checks:
            return
        pending = PendingBlob(key, size, sha256, content_type, request_context()[0])
        for check in checks:
            check(pending)

    # -- after the commit ---------------------------------------------------------------

    def _in_commit(self, tx: Any, key: str, old: BlobInfo | None, new: BlobInfo | None) -> None:
        """Inside the backend's commit (``tx``: its transaction, or on S3 the pending
        change): quota counters, then the outbox."""
        request_id, token = request_context()
        if self.quotas is not None:
            self.quotas.on_commit(tx, key, old, new, token)
        if not self.urls and not self.listeners.by_event:
            return  # nobody would receive the event
        if new is not None:
            event = Event.of_blob("blob.committed", new, request_id)
        elif old is not None:
            event = Event.of_blob("blob.deleted", old, request_id)
        else:
            return
        with self._recorded_lock:
            if len(self._recorded) > 10000:  # changes whose request never came back
                self._recorded.clear()
            self._recorded[(event.event, event.key, event.etag)] = event
        append_in = getattr(self.outbox, "append_in", None)
        if append_in is not None and self.urls:
            append_in(tx, [event], self.urls)
            if self.deliverer is not None:
                self.deliverer.wake()

    def _emit(self, event: Event, recorded: bool = False) -> None:
        if not recorded and self.outbox is not None and self.urls:
            try:
                self.outbox.append([event], self.urls)
            except Exception:
                log.exception("the %s event of %r was not recorded", event.event, event.key)
            if self.deliverer is not None:
                self.deliverer.wake()
        self.listeners.call(event)

    def _blob_event(self, kind: str, info: BlobInfo) -> None:
        with self._recorded_lock:
            event = self._recorded.pop((kind, info.key, f'"{info.etag}"'), None)
        if event is None:
            event = Event.of_blob(kind, info, request_context()[0])
        self._emit(event, recorded=self.in_transaction)

    def committed(self, info: BlobInfo) -> None:
        self._blob_event("blob.committed", info)

    def deleted(self, info: BlobInfo) -> None:
        self._blob_event("blob.deleted", info)

    def upload_event(self, kind: str, state: UploadState) -> None:
        """upload.created, upload.progress (at most one a second per upload), upload.expired."""
        now = time.monotonic()
        if kind == "upload.progress":
            if state.length is not None and state.offset >= state.length:
                return  # blob.committed follows
            last = self._progress.get(state.upload_id)
            if last is not None and now - last < PROGRESS_INTERVAL:
                return
            if len(self._progress) > 10000:
                self._progress.clear()
            self._progress[state.upload_id] = now
        elif kind == "upload.expired":
            self._progress.pop(state.upload_id, None)
        event = Event(
            event=kind,
            key=state.metadata.get("key") or state.upload_id,
            size=state.length,
            request_id=request_context()[0],
            extra={"upload_id": state.upload_id, "offset": state.offset},
        )
        self._emit(event)

    def forget_upload(self, upload_id: str) -> None:
        self._progress.pop(upload_id, None)


def current_hooks() -> Hooks | None:
    """The hooks of the current Flask app, None outside one or when it has none."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    hooks: Hooks | None = current_app.extensions.get(HOOKS_KEY)
    return hooks


def request_id_of(value: str | None) -> str:
    """The client's ``X-Request-Id`` when it is sane, else a new one."""
    if value is not None and _REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex
