"""Keep secrets out of logs: presigned signatures, bearer tokens.

gunicorn's access log writes the request line with its query string, and its
error log the URI of a failed request; :class:`RedactingLogger` (the launcher's
``logger_class``) and :class:`RedactingFilter` rewrite any such line before it
is written.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from blobstream.auth.presign import SIGNATURE_PARAM

REDACTED = "REDACTED"
_PATTERNS = (
    # The signature in a query string, percent-encoded parameter name or not.
    (re.compile(rf"({re.escape(SIGNATURE_PARAM)}=)[^&\s\"']*", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"((?:access_token|token|signature)=)[^&\s\"']*", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), rf"\1{REDACTED}"),
)


def redact(text: str) -> str:
    """``text`` with every signature and bearer token replaced by ``REDACTED``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with :func:`redact` (a filter may edit the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install_filter(logger: logging.Logger) -> None:
    """Add the filter to ``logger`` and its handlers (handlers also see propagated records)."""
    redacting = RedactingFilter()
    logger.addFilter(redacting)
    for handler in logger.handlers:
        handler.addFilter(redacting)


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with signatures taken out of the request line and query."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_filter(self.error_log)
        install_filter(self.access_log)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "q", "{raw_uri}e"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
