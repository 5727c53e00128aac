"""Table tests for blob key and prefix validation (SPEC "HTTP API")."""

from __future__ import annotations

import re

import pytest

from blobstream.errors import InvalidKey
from blobstream.http.keys import MAX_KEY_BYTES, validate_key, validate_prefix

OK = "ok"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a", OK),
        ("a/b/c", OK),
        ("photos/2024/IMG_0001.JPG", OK),
        ("a.b", OK),
        ("...", OK),
        (".hidden", OK),
        ("a/.x/..y/y..", OK),
        ("a b", OK),
        (" ", OK),
        ("a\\b", OK),
        ("a:b?c#d%20e&f=g+h", OK),
        ("日本/データ", OK),
        ("😀", OK),
        ("\u00a0", OK),  # NBSP is not a control character
        ("\u200b\u2028", OK),  # format/separators: allowed, only Cc is refused
        ("x" * MAX_KEY_BYTES, OK),
        ("é" * (MAX_KEY_BYTES // 2), OK),
        ("😀" * (MAX_KEY_BYTES // 4), OK),
        ("", "empty"),
        ("x" * (MAX_KEY_BYTES + 1), "1025 bytes"),
        ("é" * (MAX_KEY_BYTES // 2) + "x", "1025 bytes"),
        ("😀" * (MAX_KEY_BYTES // 4 + 1), "1028 bytes"),
        ("/a", "leading '/'"),
        ("/", "leading '/'"),
        ("a/", "empty segment"),
        ("a//b", "empty segment"),
        ("//", "leading '/'"),
        (".", "'.' segment"),
        ("..", "'..' segment"),
        ("a/./b", "'.' segment"),
        ("a/../b", "'..' segment"),
        ("a/..", "'..' segment"),
        ("../a", "'..' segment"),
        ("a\x00b", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\rb", "U+000D"),
        ("a\tb", "U+0009"),
        ("\x1f", "U+001F"),
        ("a\x7f", "U+007F"),
        ("a\x80", "U+0080"),
        ("a\x85", "U+0085"),
        ("a\x9f", "U+009F"),
        ("a\ud800", "lone surrogate"),
        ("\udcff/b", "lone surrogate"),
    ],
)
def test_validate_key(key: str, expected: str) -> None:
    if expected == OK:
        assert validate_key(key) == key
    else:
        with pytest.raises(InvalidKey, match=re.escape(expected)) as info:
            validate_key(key)
        assert info.value.status == 400


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", OK),
        ("a", OK),
        ("a/", OK),
        ("a/b/", OK),
        ("a/b/c", OK),
        (".", OK),  # may begin ".hidden"
        ("..", OK),  # may begin "..x"
        ("a/.", OK),
        ("a/..", OK),
        ("日本/", OK),
        ("x" * MAX_KEY_BYTES, OK),
        ("x" * (MAX_KEY_BYTES + 1), "1025 bytes"),
        ("/", "leading '/'"),
        ("/a", "leading '/'"),
        ("a//", "empty segment"),
        ("a//b", "empty segment"),
        ("./", "'.' segment"),
        ("../", "'..' segment"),
        ("a/../b", "'..' segment"),
        ("a\x00", "U+0000"),
        ("a\n", "U+000A"),
        ("\x9b", "U+009B"),
        ("\ud83d", "lone surrogate"),
    ],
)
def test_validate_prefix(prefix: str, expected: str) -> None:
    if expected == OK:
        assert validate_prefix(prefix) == prefix
    else:
        with pytest.raises(InvalidKey, match=re.escape(expected)):
            validate_prefix(prefix)
