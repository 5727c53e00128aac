"""Table tests for Content-Disposition (RFC 6266, RFC 8187)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from blobstream.http.disposition import content_disposition


@pytest.mark.parametrize(
    ("filename", "disposition", "expected"),
    [
        ("report.pdf", "attachment", 'attachment; filename="report.pdf"'),
        ("report.pdf", "inline", 'inline; filename="report.pdf"'),
        (
            "my report (final).tar.gz",
            "attachment",
            'attachment; filename="my report (final).tar.gz"',
        ),
        ("a;b=c.txt", "attachment", 'attachment; filename="a;b=c.txt"'),
        (".bashrc", "attachment", 'attachment; filename=".bashrc"'),
        # only the last path segment
        ("dir/sub/file.txt", "attachment", 'attachment; filename="file.txt"'),
        ("C:\\Users\\me\\file.txt", "attachment", 'attachment; filename="file.txt"'),
        ("../../etc/passwd", "attachment", 'attachment; filename="passwd"'),
        ("a/b\\c", "attachment", 'attachment; filename="c"'),
        # nothing usable left
        ("", "attachment", 'attachment; filename="download"'),
        ("dir/", "attachment", 'attachment; filename="download"'),
        ("..", "attachment", 'attachment; filename="download"'),
        ("a/..", "attachment", 'attachment; filename="download"'),
        ("   ", "attachment", 'attachment; filename="download"'),
        ("\r\n", "attachment", 'attachment; filename="download"'),
        # quotes, backslashes, percent: fallback plus filename*
        (
            'say "hi".txt',
            "attachment",
            "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt",
        ),
        (
            "100%.txt",
            "attachment",
            "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt",
        ),
        (
            "%41.txt",
            "attachment",
            "attachment; filename=\"_41.txt\"; filename*=UTF-8''%2541.txt",
        ),
        # non-ASCII
        (
            "résumé.pdf",
            "attachment",
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        ),
        (
            "€ rates.csv",
            "attachment",
            "attachment; filename=\"_ rates.csv\"; filename*=UTF-8''%E2%82%AC%20rates.csv",
        ),
        (
            "日本.txt",
            "inline",
            "inline; filename=\"__.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt",
        ),
        ("😀", "attachment", "attachment; filename=\"_\"; filename*=UTF-8''%F0%9F%98%80"),
        ("x\ud800y", "attachment", 'attachment; filename="x_y"'),  # lone surrogate
        # header injection and control characters
        ("evil\r\nSet-Cookie: a=b", "attachment", 'attachment; filename="evilSet-Cookie: a=b"'),
        ("a\nb", "attachment", 'attachment; filename="ab"'),
        ("a\x00b\tc\x7fd\x85e", "attachment", 'attachment; filename="a_b_c_d_e"'),
        # attr-chars stay literal in filename*
        (
            "ü!#$&+^`|~-._.txt",
            "attachment",
            "attachment; filename=\"_!#$&+^`|~-._.txt\"; filename*=UTF-8''%C3%BC!#$&+^`|~-._.txt",
        ),
        ("a'b.txt", "attachment", 'attachment; filename="a\'b.txt"'),
        ("ü'.txt", "attachment", "attachment; filename=\"_'.txt\"; filename*=UTF-8''%C3%BC%27.txt"),
        ("x", "in line", ValueError),
        ("x", "attachment\r\n", ValueError),
        ("x", "", ValueError),
    ],
)
def test_content_disposition(filename: str, disposition: str, expected: object) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError):
            content_disposition(filename, disposition)
        return
    value = content_disposition(filename, disposition)
    assert value == expected
    assert "\r" not in value and "\n" not in value
    assert value.isascii()
    if "filename*=UTF-8''" in value:
        encoded = value.split("filename*=UTF-8''", 1)[1]
        assert ";" not in encoded and " " not in encoded and '"' not in encoded
        assert "/" not in unquote(encoded)


def test_default_is_attachment() -> None:
    assert content_disposition("a.txt") == 'attachment; filename="a.txt"'
