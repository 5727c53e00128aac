"""Blob keys and listing prefixes (SPEC "HTTP API": 1-1024 bytes of UTF-8, ``/`` segments)."""

from __future__ import annotations

from blobstream.errors import InvalidKey

MAX_KEY_BYTES = 1024


def _check_characters(text: str, what: str) -> int:
    """Reject control characters and unencodable text; return the UTF-8 length."""
    for index, char in enumerate(text):
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            raise InvalidKey(f"{what} has control character U+{code:04X} at index {index}")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise InvalidKey(
            f"{what} is not valid UTF-8 (lone surrogate at index {err.start})"
        ) from err
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"{what} is {size} bytes of UTF-8; the limit is {MAX_KEY_BYTES}")
    return size


def _check_segments(segments: list[str], what: str) -> None:
    for index, segment in enumerate(segments):
        if segment == "":
            where = "leading '/'" if index == 0 else "empty segment ('//' or trailing '/')"
            raise InvalidKey(f"{what} has a {where}")
        if segment in (".", ".."):
            raise InvalidKey(f"{what} has a {segment!r} segment")


def validate_key(key: str) -> str:
    """Return ``key`` if it is a valid blob key, else raise :class:`InvalidKey`.

    A key is 1-1024 bytes of UTF-8 in ``/``-separated segments, none empty,
    ``.`` or ``..``, without control characters (C0, DEL, C1).
    """
    if key == "":
        raise InvalidKey("key is empty")
    _check_characters(key, "key")
    _check_segments(key.split("/"), "key")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can prefix a valid key (it may be empty or end in ``/``).

    Every complete segment (one followed by ``/``) follows the key rules; the
    last, partial one may be anything a segment may start with.
    """
    _check_characters(prefix, "prefix")
    _check_segments(prefix.split("/")[:-1], "prefix")
    return prefix
