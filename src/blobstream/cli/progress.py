"""The progress display: a rich bar (bytes, rate, ETA) on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO

from blobstream.extras import needs


class TransferProgress:
    """``advance(n)`` as bytes move; ``start(total, done)`` once the size is known."""

    def __init__(self, description: str, *, enabled: bool, total: int | None = None) -> None:
        self.description = description
        self.enabled = enabled
        self._total = total
        self._progress: Any = None
        self._task: Any = None

    @classmethod
    def for_stream(
        cls,
        description: str,
        *,
        quiet: bool,
        total: int | None = None,
        stream: TextIO | None = None,
    ) -> TransferProgress:
        stream = stream or sys.stderr
        return cls(description, enabled=not quiet and stream.isatty(), total=total)

    def __enter__(self) -> TransferProgress:
        if self.enabled:
            with needs("client", "the progress bar"):
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                refresh_per_second=5,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self._total)
        return self

    def start(self, total: int | None, done: int = 0) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total, completed=done)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


class TreeProgress:
    """One overall bar for a tree transfer (bytes, files, rate) and a line per file.

    On a terminal the lines print above the bar; otherwise they are plain lines
    on stderr. ``found`` grows the total as the walk or listing goes on.
    """

    def __init__(self, verb: str, *, quiet: bool, stream: TextIO | None = None) -> None:
        self.verb = verb
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self._progress: Any = None
        self._task: Any = None
        self._files = 0
        self._done = 0

    def __enter__(self) -> TreeProgress:
        if self.enabled:
            with needs("client", "the progress bar"):
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TimeRemainingColumn,
                    TransferSpeedColumn,
                )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TextColumn("{task.fields[files]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                refresh_per_second=5,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.verb, total=0, files="")
        return self

    def found(self, size: int) -> None:
        self._files += 1
        if self._progress is not None:
            self._progress.update(self._task, total=self._progress.tasks[0].total + size)
            self._fields()

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def file_done(self, status: str, key: str, size: int, error: str | None) -> None:
        self._done += 1
        if self._progress is not None:
            self._fields()
            if status == "unchanged":
                self._progress.advance(self._task, size)
        if status == "unchanged" or (self.quiet and status != "failed"):
            return
        line = f"{status:<7} {key}" + (f": {error}" if error else "")
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)

    def _fields(self) -> None:
        self._progress.update(self._task, files=f"{self._done}/{self._files} files")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
