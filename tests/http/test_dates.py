"""Table tests for HTTP-date and RFC 3339 timestamps (RFC 9110 §5.6.7)."""

from __future__ import annotations

import calendar

import pytest

from blobstream.http.dates import format_http_date, format_iso, parse_http_date

T_1994 = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT
NOW_2026 = float(calendar.timegm((2026, 11, 25, 16, 50, 21, 0, 0, 0)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        # the three formats of RFC 9110 §5.6.7
        ("Sun, 06 Nov 1994 08:49:37 GMT", T_1994),
        ("Sunday, 06-Nov-94 08:49:37 GMT", T_1994),
        ("Sun Nov  6 08:49:37 1994", T_1994),
        ("Sun Nov 06 08:49:37 1994", T_1994),
        (" Sun, 06 Nov 1994 08:49:37 GMT\t", T_1994),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("Wed, 31 Dec 1969 23:59:59 GMT", -1.0),
        ("Tue, 19 Jan 2038 03:14:08 GMT", 2.0**31),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799.0),
        ("Thu, 29 Feb 2024 12:00:00 GMT", 1709208000.0),
        ("Mon, 01 Jan 0001 00:00:00 GMT", -62135596800.0),
        # the weekday is not cross-checked (robustness, RFC 9110 §5.6.7)
        ("Mon, 06 Nov 1994 08:49:37 GMT", T_1994),
        # a leap second rolls over to the next minute
        ("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800.0),
        # invalid: ignored
        ("", None),
        ("yesterday", None),
        ("0", None),
        ("784111777", None),
        ("1994-11-06T08:49:37Z", None),
        ("Sun, 06 Nov 1994 08:49:37 UTC", None),
        ("Sun, 06 Nov 1994 08:49:37 +0000", None),
        ("Sun, 06 Nov 1994 08:49:37", None),
        ("Sun, 6 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 94 08:49:37 GMT", None),
        ("sun, 06 nov 1994 08:49:37 gmt", None),  # HTTP-date is case-sensitive
        ("Sun, 06 November 1994 08:49:37 GMT", None),
        ("Sun,  06 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 8:49:37 GMT", None),
        ("Sun, 31 Feb 1994 08:49:37 GMT", None),
        ("Sun, 29 Feb 2023 08:49:37 GMT", None),
        ("Sun, 00 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 24:00:00 GMT", None),
        ("Sun, 06 Nov 1994 08:60:00 GMT", None),
        ("Sun, 06 Nov 1994 08:49:61 GMT", None),
        ("Sun, 06 Nov 0000 08:49:37 GMT", None),
        ("Sun, ０6 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", None),
        ("Sunday, 06-Nov-1994 08:49:37 GMT", None),
        ("Sun, 06-Nov-94 08:49:37 GMT", None),
        ("Sun Nov 6 08:49:37 1994", None),
        ("Sun Nov  6 08:49:37 94", None),
        ("Sun Nov  6 08:49:37 1994 GMT", None),
    ],
)
def test_parse_http_date(value: str | None, expected: float | None) -> None:
    assert parse_http_date(value, now=NOW_2026) == expected


@pytest.mark.parametrize(
    ("value", "now_year", "year"),
    [
        # RFC 9110 §5.6.7: more than 50 years ahead means the previous century
        ("Sunday, 06-Nov-94 08:49:37 GMT", 2026, 1994),
        ("Monday, 06-Nov-00 08:49:37 GMT", 2026, 2000),
        ("Monday, 06-Nov-26 08:49:37 GMT", 2026, 2026),
        ("Monday, 06-Nov-76 08:49:37 GMT", 2026, 2076),
        ("Monday, 06-Nov-77 08:49:37 GMT", 2026, 1977),
        ("Monday, 06-Nov-99 08:49:37 GMT", 2026, 1999),
        ("Monday, 06-Nov-49 08:49:37 GMT", 2099, 2049),
        ("Monday, 06-Nov-50 08:49:37 GMT", 2099, 2050),
        ("Monday, 06-Nov-10 08:49:37 GMT", 1999, 1910),
    ],
)
def test_rfc850_two_digit_year(value: str, now_year: int, year: int) -> None:
    now = float(calendar.timegm((now_year, 6, 1, 0, 0, 0, 0, 0, 0)))
    parsed = parse_http_date(value, now=now)
    assert parsed == float(calendar.timegm((year, 11, 6, 8, 49, 37, 0, 0, 0)))


@pytest.mark.parametrize(
    ("ts", "http", "iso"),
    [
        (0.0, "Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00Z"),
        (T_1994, "Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z"),
        (T_1994 + 0.999, "Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z"),
        (NOW_2026, "Wed, 25 Nov 2026 16:50:21 GMT", "2026-11-25T16:50:21Z"),
        (NOW_2026 + 0.5, "Wed, 25 Nov 2026 16:50:21 GMT", "2026-11-25T16:50:21Z"),
        (-0.5, "Wed, 31 Dec 1969 23:59:59 GMT", "1969-12-31T23:59:59Z"),
        (1709208000.0, "Thu, 29 Feb 2024 12:00:00 GMT", "2024-02-29T12:00:00Z"),
        (253402300799.0, "Fri, 31 Dec 9999 23:59:59 GMT", "9999-12-31T23:59:59Z"),
        (1.0e9, "Sun, 09 Sep 2001 01:46:40 GMT", "2001-09-09T01:46:40Z"),
    ],
)
def test_format(ts: float, http: str, iso: str) -> None:
    assert format_http_date(ts) == http
    assert format_iso(ts) == iso
    assert parse_http_date(http) == float(int(ts // 1))
