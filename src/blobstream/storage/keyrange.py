"""Prefix listing as an index range scan: keys are stored as UTF-8 bytes, in byte order."""

from __future__ import annotations


def upper_bound(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def key_range(prefix: str, after: str = "", mark: str = "?") -> tuple[str, list[object]]:
    """An SQL condition on ``key`` (with ``mark`` as the placeholder) and its arguments:
    keys that start with ``prefix`` and sort after ``after``."""
    low = prefix.encode()
    clauses: list[str] = [f"key >= {mark}"]
    args: list[object] = [low]
    if after:
        clauses.append(f"key > {mark}")
        args.append(after.encode())
    high = upper_bound(low)
    if high is not None:
        clauses.append(f"key < {mark}")
        args.append(high)
    return " AND ".join(clauses), args
