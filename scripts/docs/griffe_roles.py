"""A griffe extension for the API reference: make Sphinx-flavoured docstrings read as Markdown.

The docstrings cite other objects the Sphinx way (``:class:`TooLarge```,
``:mod:`blobstream.errors```) and show examples as doctest lines (``>>>``);
Markdown would print the role literally and read ``>>>`` as nested quotes. So
roles become inline code, each run of doctest lines a ``pycon`` code block, and
a literal block's ``::`` one colon (its indented block is already Markdown code).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
_DOCTEST = re.compile(r"^\s*(>>>|\.\.\.)( |$)")
# A reST literal block ("example::" then an indented block) is Markdown's indented code.
_LITERAL = re.compile(r"::$", re.M)


def _fence_doctests(text: str) -> str:
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        is_doctest = bool(_DOCTEST.match(line))
        if is_doctest and not inside:
            out.append("```pycon")
            inside = True
        elif not is_doctest and inside:
            out.append("```")
            inside = False
        out.append(line.replace("# doctest: +SKIP", "").rstrip() if is_doctest else line)
    if inside:
        out.append("```")
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = _LITERAL.sub(":", _ROLE.sub(r"`\1`", obj.docstring.value))
            obj.docstring.value = _fence_doctests(text)
