"""Byte sizes and rates written the way people write them: ``10G``, ``8M``, ``512k``."""

from __future__ import annotations

import re

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"8M"`` -> 8388608; binary units, as curl's ``--limit-rate``; ValueError if not a size."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (e.g. 512k, 8M, 10G)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])
