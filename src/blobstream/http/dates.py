"""HTTP and RFC 3339 timestamps (RFC 9110 §5.6.7, RFC 3339 §5.6)."""

from __future__ import annotations

import calendar
import math
import re
import time

from blobstream.timestamps import (
    format_iso as format_iso,  # re-exported: its home moved below storage
)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = "|".join(_DAYS)
_MONTH = "|".join(_MONTHS)
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"

_IMF_FIXDATE = re.compile(
    rf"(?:{_DAY}), (?P<day>[0-9]{{2}}) (?P<month>{_MONTH}) (?P<year>[0-9]{{4}}) {_TIME} GMT",
    re.ASCII,
)
_RFC850 = re.compile(
    rf"(?:{'|'.join(_LONG_DAYS)}), (?P<day>[0-9]{{2}})-(?P<month>{_MONTH})-(?P<year>[0-9]{{2}})"
    rf" {_TIME} GMT",
    re.ASCII,
)
_ASCTIME = re.compile(
    rf"(?:{_DAY}) (?P<month>{_MONTH}) (?P<day>[ 0-9][0-9]) {_TIME} (?P<year>[0-9]{{4}})",
    re.ASCII,
)


def format_http_date(ts: float) -> str:
    """Format a POSIX timestamp as an IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``.

    RFC 9110 §5.6.7; fractions of a second are dropped.
    """
    t = time.gmtime(math.floor(ts))
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def _rfc850_year(two_digits: int, now: float) -> int:
    """RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century."""
    this_year = time.gmtime(now).tm_year
    year = this_year - this_year % 100 + two_digits
    if year > this_year + 50:
        year -= 100
    return year


def parse_http_date(value: str | None, *, now: float | None = None) -> float | None:
    """Parse an HTTP-date in any of the three formats of RFC 9110 §5.6.7.

    Returns a POSIX timestamp, or ``None`` when absent or invalid (an invalid
    date in a conditional header is ignored, RFC 9110 §13.1.3-4). The weekday
    name is not checked against the date. ``now`` anchors RFC 850 two-digit years.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    match = _IMF_FIXDATE.fullmatch(text) or _ASCTIME.fullmatch(text)
    if match is not None:
        year = int(match["year"])
    else:
        match = _RFC850.fullmatch(text)
        if match is None:
            return None
        year = _rfc850_year(int(match["year"]), time.time() if now is None else now)
    month = _MONTHS.index(match["month"]) + 1
    day = int(match["day"].strip())
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    # second 60 is a leap second (RFC 9110 §5.6.7 allows it); timegm rolls it over.
    if hour > 23 or minute > 59 or second > 60 or year == 0:
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
