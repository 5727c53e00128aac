"""What the commit hooks of the S3 backend see of one write or delete.

S3 has no transaction to join, so a hook (quota counters, the event outbox)
registers what undoes its effect should the write fail (:meth:`S3Change.on_abort`)
and what follows once the new version is visible (:meth:`S3Change.after_commit`).
The store runs the hooks after it checked the write's condition and before the
write, then exactly one of :meth:`S3Change.abort` or :meth:`S3Change.done`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("blobstream.storage")

Action = Callable[[], None]


class S3Change:
    """One pending change of a key; ``old_owner`` is the token scope recorded on the
    version it replaces or deletes (None when there is none)."""

    def __init__(self, old_owner: str | None = None) -> None:
        self.old_owner = old_owner
        self._undo: list[Action] = []
        self._after: list[Action] = []

    def on_abort(self, action: Action) -> None:
        self._undo.append(action)

    def after_commit(self, action: Action) -> None:
        self._after.append(action)

    def _run(self, actions: list[Action], what: str) -> None:
        for action in actions:
            try:
                action()
            except Exception:
                log.exception("an S3 %s action failed", what)
        actions.clear()

    def abort(self) -> None:
        """The write failed: undo what the hooks did, newest first."""
        self._after.clear()
        self._run(self._undo[::-1], "abort")
        self._undo.clear()

    def done(self) -> None:
        """The write is visible: run what waited for it."""
        self._undo.clear()
        self._run(self._after, "after-commit")
