"""Entity tags and the ``If-Match`` / ``If-None-Match`` lists (RFC 9110 §8.8.3, §13.1.1-2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from blobstream.errors import InvalidHeader

_OWS = " \t"
_OPAQUE = re.compile("[\x21\x23-\x7e\x80-\xff]*")  # etagc, as _is_etagc


def _is_etagc(char: str) -> bool:
    """``etagc = %x21 / %x23-7E / obs-text`` (RFC 9110 §8.8.3)."""
    code = ord(char)
    return code == 0x21 or 0x23 <= code <= 0x7E or 0x80 <= code <= 0xFF


@dataclass(frozen=True)
class EntityTag:
    """One entity tag: its opaque value (without quotes) and whether it is weak."""

    value: str
    weak: bool = False


@dataclass(frozen=True)
class ETagList:
    """A parsed ``If-Match`` / ``If-None-Match`` value: ``*`` or a list of tags."""

    star: bool
    tags: tuple[EntityTag, ...] = ()

    def matches_strong(self, etag: str) -> bool:
        """Strong comparison against the current opaque ``etag`` (RFC 9110 §8.8.3.2).

        ``*`` matches any current entity tag.
        """
        return self.star or any(not tag.weak and tag.value == etag for tag in self.tags)

    def matches_weak(self, etag: str) -> bool:
        """Weak comparison: the opaque values are equal, weakness ignored (RFC 9110 §8.8.3.2)."""
        return self.star or any(tag.value == etag for tag in self.tags)


def _parse_tag(header: str, pos: int) -> tuple[EntityTag, int]:
    """Parse ``[W/] DQUOTE *etagc DQUOTE`` at ``pos``; return it and the index after it."""
    weak = header.startswith("W/", pos)
    if weak:
        pos += 2
    if not header.startswith('"', pos):
        raise InvalidHeader(f"entity tag must be quoted: {header!r}")
    end = header.find('"', pos + 1)
    if end < 0:
        raise InvalidHeader(f"unterminated entity tag: {header!r}")
    value = header[pos + 1 : end]
    if not all(_is_etagc(c) for c in value):
        raise InvalidHeader(f"invalid character in entity tag: {header!r}")
    return EntityTag(value, weak), end + 1


def parse_etag_list(header: str | None) -> ETagList | None:
    """Parse ``"*" / #entity-tag`` (RFC 9110 §13.1.1); ``None`` if the header is absent.

    Raises :class:`InvalidHeader` for unquoted tags, unterminated quotes or
    ``*`` mixed with tags. An empty value is an empty list, which matches nothing.
    """
    if header is None:
        return None
    text = header.strip(_OWS)
    if text == "*":
        return ETagList(star=True)
    tags: list[EntityTag] = []
    pos = 0
    # Scan rather than split: an opaque tag may itself contain commas.
    while pos < len(text):
        if text[pos] in _OWS or text[pos] == ",":
            pos += 1
            continue
        tag, pos = _parse_tag(text, pos)
        tags.append(tag)
        while pos < len(text) and text[pos] in _OWS:
            pos += 1
        if pos < len(text) and text[pos] != ",":
            raise InvalidHeader(f"expected ',' between entity tags: {header!r}")
    return ETagList(star=False, tags=tuple(tags))


def quote_etag(opaque: str, weak: bool = False) -> str:
    """Format an opaque value as an entity tag, ``"opaque"`` or ``W/"opaque"`` (RFC 9110 §8.8.3)."""
    if _OPAQUE.fullmatch(opaque) is None:
        raise ValueError(f"not a valid opaque entity tag: {opaque!r}")
    return f'{"W/" if weak else ""}"{opaque}"'
