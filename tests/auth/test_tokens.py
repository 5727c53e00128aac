"""Parsing ``BLOBSTREAM_TOKENS`` and tokens files, and looking tokens up."""

from __future__ import annotations

import hashlib

import pytest

from blobstream.auth.tokens import Role, TokenTable, hash_token, parse_tokens, parse_tokens_file

HEX = hashlib.sha256(b"hashed-one").hexdigest()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("abc=read", [("abc", Role.READ)]),
        (
            "abc=read,def=write, ghi=admin ",
            [("abc", Role.READ), ("def", Role.WRITE), ("ghi", Role.ADMIN)],
        ),
        ("abc=READ", [("abc", Role.READ)]),
        ("abc==read", [("abc=", Role.READ)]),  # base64 padding belongs to the token
        ("b=write,,", [("b", Role.WRITE)]),
        (",abc=read,", [("abc", Role.READ)]),
        (f"sha256:{HEX}=write", [("hashed-one", Role.WRITE)]),
        (f"SHA256:{HEX.upper()}=write", [("hashed-one", Role.WRITE)]),
        ("x.y~z+/_-=admin", [("x.y~z+/_-", Role.ADMIN)]),
    ],
)
def test_parse_tokens(value: str, expected: list[tuple[str, Role]]) -> None:
    want = [(hashlib.sha256(t.encode()).digest(), r) for t, r in expected]
    assert parse_tokens(value) == want


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "expected token=role"),
        ("=read", "expected token=role"),
        ("abc=owner", "not read, write or admin"),
        ("abc=", "not read, write or admin"),
        ("ab c=read", "may hold only"),
        ("sha256:abcd=read", "64 hexadecimal"),
        (f"sha256:{'g' * 64}=read", "64 hexadecimal"),
        ("tök=read", "may hold only"),
    ],
)
def test_bad_tokens_are_refused_without_echoing_the_secret(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_tokens(value)
    token = value.rpartition("=")[0]
    if len(token) > 3:
        assert token not in str(info.value)


def test_tokens_file_with_plain_and_hashed_entries_comments_and_blank_lines() -> None:
    text = f"# ops tokens\n\nplain-one read\n  sha256:{HEX}   admin  \n# end\n"
    table = TokenTable(parse_tokens_file(text))
    assert len(table) == 2
    plain = table.authenticate("plain-one")
    hashed = table.authenticate("hashed-one")
    assert plain is not None and plain.role is Role.READ
    assert hashed is not None and hashed.role is Role.ADMIN
    assert table.authenticate(f"sha256:{HEX}") is None  # the hash is not itself a token


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("only-token\n", "line 1: expected 'token role'"),
        ("a read\nb write extra\n", "line 2: expected 'token role'"),
        ("a reader\n", "line 1: role 'reader'"),
    ],
)
def test_bad_tokens_file_lines_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tokens_file(text)


def test_authenticate_gives_role_and_a_loggable_name_not_the_token() -> None:
    table = TokenTable(parse_tokens("secret-token-1=write"))
    principal = table.authenticate("secret-token-1")
    assert principal is not None
    assert principal.role is Role.WRITE
    assert "secret-token-1" not in principal.name
    assert table.authenticate("secret-token-2") is None
    assert table.authenticate("") is None


def test_roles_are_ordered() -> None:
    assert Role.READ < Role.WRITE < Role.ADMIN
    assert Role.parse(" Admin ") is Role.ADMIN


def test_hash_token_is_what_a_tokens_file_accepts() -> None:
    table = TokenTable(parse_tokens_file(f"{hash_token('pw-123')} read"))
    assert table.authenticate("pw-123") is not None
