"""MkDocs hooks: tables generated from the code, so the pages cannot drift from it.

``<!-- errors-table -->`` in a page becomes the table of every named error
(class, status, problem type, title), read from the classes themselves.
"""

from __future__ import annotations

import importlib
from typing import Any

MARKER = "<!-- errors-table -->"
# Modules that define BlobstreamError subclasses outside blobstream.errors.
MODULES = ("blobstream.errors", "blobstream.auth.limits", "blobstream.storage")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def errors_table() -> str:
    for name in MODULES:
        importlib.import_module(name)
    from blobstream.errors import BlobstreamError

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
