"""Table tests for entity-tag lists (RFC 9110 §8.8.3, §13.1.1-2)."""

from __future__ import annotations

import pytest

from blobstream.errors import InvalidHeader
from blobstream.http.etags import EntityTag, ETagList, parse_etag_list, quote_etag


def tags(*items: str) -> ETagList:
    """Build a list from literal tags: ``W/x`` is weak ``x``, anything else strong."""
    return ETagList(
        star=False,
        tags=tuple(EntityTag(i[2:], True) if i.startswith("W/") else EntityTag(i) for i in items),
    )


STAR = ETagList(star=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", tags()),
        ("  ", tags()),
        (",", tags()),
        ("*", STAR),
        (" * ", STAR),
        ("\t*\t", STAR),
        ('"abc"', tags("abc")),
        ('""', tags("")),
        ('W/"abc"', tags("W/abc")),
        ('"a", "b"', tags("a", "b")),
        ('"a","b"', tags("a", "b")),
        ('"a" ,\t"b"', tags("a", "b")),
        ('"a", W/"b", "c"', tags("a", "W/b", "c")),
        ('"a",,"b"', tags("a", "b")),
        (',"a",', tags("a")),
        ('"a,b"', tags("a,b")),  # a comma inside the opaque tag
        ('"a,b", "c"', tags("a,b", "c")),
        ('"W/a"', ETagList(False, (EntityTag("W/a"),))),  # a strong tag whose value is W/a
        ('"*"', tags("*")),  # a quoted star is just a tag
        ('"!#$%&\'()*+-./09:;<=>?@AZ[\\]^_`az{|}~"', tags("!#$%&'()*+-./09:;<=>?@AZ[\\]^_`az{|}~")),
        ('"caf\xe9"', tags("caf\xe9")),  # obs-text as WSGI delivers it (latin-1)
        ('"a" , "a"', tags("a", "a")),
        # garbage
        ("abc", InvalidHeader),
        ('"abc', InvalidHeader),
        ('abc"', InvalidHeader),
        ('"a" "b"', InvalidHeader),
        ('"a"b', InvalidHeader),
        ('"a", b', InvalidHeader),
        ('*, "a"', InvalidHeader),
        ('"a", *', InvalidHeader),
        ("*, *", InvalidHeader),
        ("**", InvalidHeader),
        ('w/"a"', InvalidHeader),  # the weak prefix is case-sensitive
        ('W/ "a"', InvalidHeader),
        ("W/", InvalidHeader),
        ('W/a"', InvalidHeader),
        ('"a b"', InvalidHeader),  # SP is not an etagc
        ('"a\tb"', InvalidHeader),
        ('"a\x7fb"', InvalidHeader),
        ('"a\x00"', InvalidHeader),
        ('"\u20ac"', InvalidHeader),  # not latin-1: cannot arrive over HTTP/1.1
        ("'a'", InvalidHeader),
    ],
)
def test_parse_etag_list(header: str | None, expected: object) -> None:
    if expected is InvalidHeader:
        with pytest.raises(InvalidHeader):
            parse_etag_list(header)
    else:
        assert parse_etag_list(header) == expected


@pytest.mark.parametrize(
    ("header", "etag", "strong", "weak"),
    [
        ("*", "anything", True, True),
        ('"abc"', "abc", True, True),
        ('W/"abc"', "abc", False, True),
        ('"abc"', "abd", False, False),
        ('"abc"', "ABC", False, False),
        ('"abc"', '"abc"', False, False),  # callers pass the opaque value, unquoted
        ('"x", W/"abc"', "abc", False, True),
        ('W/"abc", "abc"', "abc", True, True),
        ('"a", "b", "c"', "c", True, True),
        ("", "abc", False, False),
        ('""', "", True, True),
        ('"a,b"', "a", False, False),
    ],
)
def test_matching(header: str, etag: str, strong: bool, weak: bool) -> None:
    parsed = parse_etag_list(header)
    assert parsed is not None
    assert parsed.matches_strong(etag) is strong
    assert parsed.matches_weak(etag) is weak


@pytest.mark.parametrize(
    ("opaque", "weak", "expected"),
    [
        ("abc", False, '"abc"'),
        ("abc", True, 'W/"abc"'),
        ("", False, '""'),
        ("0123456789abcdef-17", False, '"0123456789abcdef-17"'),
        ('a"b', False, ValueError),
        ("a b", False, ValueError),
        ("a\r\nb", False, ValueError),
    ],
)
def test_quote_etag(opaque: str, weak: bool, expected: object) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError):
            quote_etag(opaque, weak)
    else:
        assert quote_etag(opaque, weak) == expected
        assert parse_etag_list(quote_etag(opaque, weak)) == ETagList(
            star=False, tags=(EntityTag(opaque, weak),)
        )
