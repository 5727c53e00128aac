"""Recognise the plainest HTTP/1.1 request heads: ``GET`` or ``HEAD`` of a path, no body.

The server answers most downloads without handing the request to gunicorn's
general parser (see :mod:`blobstream.server.worker`). That shortcut takes only
heads that leave nothing to interpret: this module says whether a head is one
of them and, if so, what it holds. Anything else (another method or version, a
query, a body or ``Expect``, an upgrade, a header repeated, folded, with an
underscore or with bytes outside visible ASCII, no ``Host``) gives ``None``, and
the request goes the general way with the same bytes, so a strange head is
judged exactly as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

_TOKEN = re.compile(rb"[!#$%&'*+\-.^`|~0-9A-Za-z]+")  # RFC 9110 token, without "_"
_VALUE = re.compile(rb"[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*")  # visible ASCII, inner spaces
_TARGET = re.compile(rb"/[\x21-\x7e]*")
# Headers that make a request more than "send me this": a body, a continue, an upgrade.
_REFUSED = frozenset(
    {
        b"CONTENT-LENGTH",
        b"TRANSFER-ENCODING",
        b"EXPECT",
        b"UPGRADE",
        b"HTTP2-SETTINGS",
        b"TE",
        b"TRAILER",
        b"CONTENT-TYPE",
        b"SCRIPT-NAME",
    }
)


@dataclass(frozen=True)
class SimpleHead:
    """A plain request head and the bytes that came after it (a pipelined request)."""

    method: str
    target: str  # as sent (RAW_URI)
    path: str  # percent-decoded, as a WSGI string (latin-1)
    headers: dict[str, str]  # WSGI names: ``HTTP_RANGE``, ``HTTP_IF_NONE_MATCH``
    close: bool  # the client sent ``Connection: close``
    rest: bytes


def parse_simple_head(
    data: bytes, prefix: str, limits: tuple[int, int, int] = (4094, 100, 8190)
) -> SimpleHead | None:
    """The head at the start of ``data`` if it is a plain ``GET``/``HEAD`` under
    ``prefix`` within ``limits`` (request line length, header fields, field length,
    as gunicorn's settings: 0 is no limit), else ``None``."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    max_line, max_fields, max_field = limits
    lines = data[:end].split(b"\r\n")
    if max_fields and len(lines) - 1 > max_fields:
        return None
    if max_line and len(lines[0]) > max_line:
        return None
    if max_field and any(len(line) > max_field for line in lines[1:]):
        return None
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or parts[0] not in (b"GET", b"HEAD"):
        return None
    target = parts[1]
    if not _TARGET.fullmatch(target) or b"?" in target or b"#" in target:
        return None
    if not target.startswith(prefix.encode("ascii")):
        return None
    headers: dict[str, str] = {}
    close = False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            return None  # also a folded line, which starts with a space
        value = value.strip(b" \t")
        if value and not _VALUE.fullmatch(value):
            return None
        upper = name.upper()
        if upper in _REFUSED:
            return None
        if upper == b"CONNECTION":
            token = value.lower()
            if token not in (b"keep-alive", b"close"):
                return None
            close = token == b"close"
        key = "HTTP_" + upper.decode("ascii").replace("-", "_")
        if key in headers:
            return None  # repeated: the general parser decides how to join it
        headers[key] = value.decode("ascii")
    if "HTTP_HOST" not in headers:
        return None
    raw = target.decode("ascii")
    return SimpleHead(
        method=parts[0].decode("ascii"),
        target=raw,
        path=unquote_to_bytes(raw).decode("latin-1"),
        headers=headers,
        close=close,
        rest=data[end + 4 :],
    )
