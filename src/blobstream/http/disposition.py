"""``Content-Disposition`` with an ASCII fallback and UTF-8 ``filename*`` (RFC 6266, RFC 8187)."""

from __future__ import annotations

import re
from urllib.parse import quote

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", re.ASCII)
# RFC 8187 §3.2.1 attr-char, beyond the letters, digits and "_.-~" quote() keeps.
_ATTR_SAFE = "!#$&+^`|"
_DEFAULT_NAME = "download"


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _is_surrogate(char: str) -> bool:
    return 0xD800 <= ord(char) <= 0xDFFF


def _clean_name(filename: str) -> str:
    """Last path segment, CR/LF removed, control characters and lone surrogates as ``_``."""
    name = re.split(r"[/\\]", filename)[-1]
    name = name.replace("\r", "").replace("\n", "")
    name = "".join("_" if _is_control(c) or _is_surrogate(c) else c for c in name)
    if name.strip(" .") == "":
        return _DEFAULT_NAME
    return name


def _fallback(name: str) -> str:
    """Printable ASCII only; ``"``, ``\\`` and ``%`` become ``_`` (RFC 6266 Appendix D)."""
    return "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in name)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """Build ``attachment; filename="..."`` plus ``filename*=UTF-8''...`` when needed (RFC 6266 §4).

    ``filename*`` (RFC 8187 §3.2) is added only when the ASCII fallback had to
    change the name; paths keep their last segment and CR/LF never get through.
    """
    if not _TOKEN.fullmatch(disposition):
        raise ValueError(f"disposition type must be a token: {disposition!r}")
    name = _clean_name(filename)
    fallback = _fallback(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe=_ATTR_SAFE, encoding="utf-8")
    return value
