"""Exit statuses of the command line, one per kind of failure."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    CONNECTION = 5
    VERIFICATION = 6
    CONFLICT = 7
    INTERRUPTED = 130
