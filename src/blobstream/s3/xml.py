"""S3's XML: request documents parsed with defusedxml, responses written as text.

Responses are built from escaped strings (no tree held for a listing: pages
are formatted as they are read). Requests (DeleteObjects,
CompleteMultipartUpload, CreateBucketConfiguration) are small and bounded
(:data:`MAX_REQUEST_XML`) and parsed by ``defusedxml``, which refuses entity
expansion and external entities.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from blobstream.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_REQUEST_XML = 2 << 20  # DeleteObjects of 1000 long keys fits; CompleteMultipartUpload too
# XML 1.0 cannot carry these characters even escaped (a key may hold them): S3
# writes them as character references, which XML 1.1 parsers and SDKs accept.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def timestamp(ts: float) -> str:
    """S3's ISO 8601 time with milliseconds (``2009-10-12T17:50:30.000Z``): clients that
    sync by modification time compare it with a file's, to below the second."""
    ms = int(ts * 1000)
    when = datetime.fromtimestamp(ms // 1000, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def esc(text: object) -> str:
    value = (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("\r", "&#13;")
    )  # fmt: skip
    return _XML_UNSAFE.sub(lambda m: f"&#{ord(m.group()):d};", value)


def element(name: str, value: object) -> str:
    return f"<{name}>{esc(value)}</{name}>"


def elements(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(element(n, v) for n, v in pairs if v is not None)


def document(root: str, inner: str) -> bytes:
    return f'{DECLARATION}<{root} xmlns="{NS}">{inner}</{root}>'.encode()


def error_document(err: S3Error, resource: str, request_id: str) -> bytes:
    inner = elements(
        [("Code", err.s3_code), ("Message", err.message), *err.extra.items(),
         ("Resource", resource), ("RequestId", request_id)]
    )  # fmt: skip
    return f"{DECLARATION}<Error>{inner}</Error>".encode()


def malformed(message: str = "The XML you provided was not well-formed or did not validate "
              "against our published schema") -> S3Error:  # fmt: skip
    return S3Error("MalformedXML", message, 400)


def parse(body: bytes) -> Element:
    """The root element of a request document; ``MalformedXML`` when it is not one."""
    try:
        root: Any = ElementTree.fromstring(body)
    except Exception as exc:  # defusedxml raises ParseError and its own refusals
        raise malformed() from exc
    return root  # type: ignore[no-any-return]


def local(tag: str) -> str:
    """The name of a tag without its namespace (clients send S3's or none)."""
    return tag.rpartition("}")[2]


def children(parent: Element, name: str) -> list[Element]:
    return [child for child in parent if local(child.tag) == name]


def text_of(parent: Element, name: str) -> str | None:
    for child in parent:
        if local(child.tag) == name:
            return child.text or ""
    return None
