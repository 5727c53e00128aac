"""MkDocs hooks: tables generated from the code, so the pages cannot drift from it.

``<!-- errors-table -->`` in a page becomes the table of every named error
(class, status, problem type, title), read from the classes themselves.
"""

from __future__ import annotations

import importlib
from typing import Any

MARKER = "<!-- errors-table -->"
# Where BlobstreamError subclasses outside blobstream.errors live: the extension
# imports nearly every part of the server. Best effort: a module moved or an
# extra not installed costs rows, not the build.
MODULES = ("blobstream.server.extension", "blobstream.auth.limits", "blobstream.storage")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def errors_table() -> str:
    from blobstream.errors import BlobstreamError

    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    classes = [BlobstreamError, *_subclasses(BlobstreamError)]
    unique = {f"{c.__module__}.{c.__qualname__}": c for c in classes}
    rows = sorted(unique.items(), key=lambda item: (item[1].status, item[1].slug))
    lines = [
        "| status | type | title | class |",
        "| ---: | --- | --- | --- |",
    ]
    for path, cls in rows:
        name = cls.__qualname__ if cls.__module__ == "blobstream.errors" else path
        lines.append(f"| {cls.status} | `{cls.slug}` | {cls.title} | `{name}` |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, errors_table())
    return markdown
