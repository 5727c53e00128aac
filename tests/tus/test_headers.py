"""Tables for the pure tus header parsers (tus 1.0 core, creation, concatenation, checksum)."""

from __future__ import annotations

import pytest

from blobstream.errors import InvalidHeader, PreconditionFailed
from blobstream.http.digests import UnsupportedChecksum
from blobstream.tus import headers as h

BAD = object()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", 0),
        ("42", 42),
        (" 7 ", 7),
        ("007", 7),
        ("9223372036854775807", (1 << 63) - 1),
        ("9223372036854775808", BAD),
        ("99999999999999999999999", BAD),
        ("-1", BAD),
        ("+1", BAD),
        ("1.5", BAD),
        ("1e3", BAD),
        ("0x10", BAD),
        ("", BAD),
        ("ten", BAD),
        ("١٢", BAD),  # Arabic-Indic digits are digits to str.isdigit, not to HTTP
        ("²", BAD),
        ("1 2", BAD),
    ],
)
def test_parse_number(value: str | None, expected: object) -> None:
    if expected is BAD:
        with pytest.raises(InvalidHeader):
            h.parse_number(value, "Upload-Offset")
    else:
        assert h.parse_number(value, "Upload-Offset") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("1", True), (" 1 ", True), ("0", BAD), ("true", BAD), ("", BAD)],
)
def test_parse_defer_length(value: str | None, expected: object) -> None:
    if expected is BAD:
        with pytest.raises(InvalidHeader):
            h.parse_defer_length(value)
    else:
        assert h.parse_defer_length(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ("", {}),
        ("key YS9iLmJpbg==", {"key": "a/b.bin"}),
        ("key YS9iLmJpbg", {"key": "a/b.bin"}),  # padding may be left out
        ("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential",
         {"filename": "world_domination_plan.pdf", "is_confidential": ""}),
        ("a YQ==, b Yg==", {"a": "a", "b": "b"}),
        ("empty ", {"empty": ""}),
        ("name w7xiZXI=", {"name": "über"}),
        ("key !!!", BAD),  # not base64
        ("key YQ=a", BAD),
        ("key YQ== Yg==", BAD),  # two values
        (" flag", {"flag": ""}),  # OWS around a key-only pair
        ("a YQ==,a Yg==", BAD),  # duplicate key
        ("a YQ==,,b Yg==", BAD),  # empty pair
        ("k\x01 YQ==", BAD),  # control character in the key
        ("schlüssel YQ==", BAD),  # non-ASCII key
        ("key /w==", BAD),  # 0xff is not UTF-8
        ("k " + "QUFB" * 3000, BAD),  # too long
    ],
)  # fmt: skip
def test_parse_metadata(value: str | None, expected: object) -> None:
    if expected is BAD:
        with pytest.raises(InvalidHeader):
            h.parse_metadata(value)
    else:
        assert h.parse_metadata(value) == expected


@pytest.mark.parametrize(
    "metadata",
    [{}, {"key": "a/b"}, {"flag": ""}, {"filename": "über.txt", "filetype": "text/plain"}],
)
def test_format_metadata_round_trips(metadata: dict[str, str]) -> None:
    assert h.parse_metadata(h.format_metadata(metadata)) == metadata


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("partial", h.Concat(partial=True)),
        ("final;/uploads/a /uploads/b", h.Concat(False, ("/uploads/a", "/uploads/b"))),
        ("final; http://x/uploads/a  http://x/uploads/b ",
         h.Concat(False, ("http://x/uploads/a", "http://x/uploads/b"))),
        ("final;", BAD),
        ("final", BAD),
        ("partial;x", BAD),
        ("whole;/uploads/a", BAD),
        ("", BAD),
    ],
)  # fmt: skip
def test_parse_concat(value: str | None, expected: object) -> None:
    if expected is BAD:
        with pytest.raises(InvalidHeader):
            h.parse_concat(value)
    else:
        assert h.parse_concat(value) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/uploads/0123abcd", "0123abcd"),
        ("http://host:8080/uploads/0123abcd", "0123abcd"),
        ("https://host/uploads/0123abcd?x=1", "0123abcd"),
        ("/uploads/", BAD),
        ("/uploads/0123ABCD", BAD),
        ("/uploads/../blobs/x", BAD),
        ("/uploads/abc/def", BAD),
        ("/other/0123abcd", BAD),
        ("0123abcd", BAD),
    ],
)
def test_upload_id_from_url(url: str, expected: object) -> None:
    if expected is BAD:
        with pytest.raises(InvalidHeader):
            h.upload_id_from_url(url, "/uploads")
    else:
        assert h.upload_id_from_url(url, "/uploads") == expected


@pytest.mark.parametrize(
    ("method", "override", "expected"),
    [
        ("POST", None, "POST"),
        ("POST", "PATCH", "PATCH"),
        ("POST", "delete", "DELETE"),
        ("POST", " head ", "HEAD"),
        ("PATCH", "DELETE", "PATCH"),  # only a POST may be overridden
        ("POST", "GET", BAD),
        ("POST", "TRACE", BAD),
    ],
)
def test_effective_method(method: str, override: str | None, expected: object) -> None:
    if expected is BAD:
        with pytest.raises(InvalidHeader):
            h.effective_method(method, override)
    else:
        assert h.effective_method(method, override) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [("1.0.0", True), (" 1.0.0", True), (None, False), ("0.2.2", False), ("", False)],
)
def test_check_tus_resumable(value: str | None, ok: bool) -> None:
    if ok:
        h.check_tus_resumable(value)
    else:
        with pytest.raises(PreconditionFailed) as info:
            h.check_tus_resumable(value)
        assert info.value.headers["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", ("sha1", bytes.fromhex(
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"))),
        ("SHA256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
         ("sha256", bytes.fromhex(
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))),
        ("md5 1B2M2Y8AsgTpgAmY7PhCfg==", ("md5", bytes.fromhex(
            "d41d8cd98f00b204e9800998ecf8427e"))),
        ("md5 1B2M2Y8AsgTpgAmY7PhC", BAD),  # wrong length
        ("md5", BAD),
        ("md5 ***", BAD),
        ("crc32 AAAAAA==", UnsupportedChecksum),
        ("sha512 AAAA", UnsupportedChecksum),
    ],
)  # fmt: skip
def test_parse_checksum_header(value: str | None, expected: object) -> None:
    if expected is BAD or expected is UnsupportedChecksum:
        with pytest.raises(InvalidHeader) as info:
            h.parse_checksum_header(value)
        if expected is UnsupportedChecksum:
            assert isinstance(info.value, UnsupportedChecksum)
    else:
        assert h.parse_checksum_header(value) == expected
