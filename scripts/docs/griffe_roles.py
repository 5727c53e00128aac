"""A griffe extension for the API reference: Sphinx roles in docstrings become code.

The docstrings cite other objects the Sphinx way (``:class:`TooLarge```,
``:mod:`blobstream.errors```); the Markdown renderer would print the role
literally, so it is turned into inline code before rendering.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`~?([^`]+)`")


class SphinxRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(r"`\1`", obj.docstring.value)
