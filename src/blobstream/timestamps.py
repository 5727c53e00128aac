"""Timestamps as text, below every layer that shows them (storage, HTTP, events)."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def format_iso(ts: float) -> str:
    """Format a POSIX timestamp as RFC 3339 UTC to the second, e.g. ``2026-11-25T16:50:21Z``."""
    dt = datetime.fromtimestamp(math.floor(ts), UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}Z"
    )
