"""Keep secrets out of logs: presigned signatures, bearer tokens.

gunicorn's access log writes the request line with its query string, and its
error log the URI of a failed request; :class:`RedactingLogger` (the launcher's
``logger_class``) and :class:`RedactingFilter` rewrite any such line before it
is written.
"""

from __future__ import annotations

import logging
import re
import traceback
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
    if "=" not in text and "bearer" not in text.lower():
        return text  # what every pattern needs is absent: most lines, e.g. each access line
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with :func:`redact` (a filter may edit the record).

    It sits on a logger and on its handlers, so a record may meet it twice; the
    second time it is already clean."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "blobstream_redacted", False):
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        record.blobstream_redacted = True
        return True


def install_filter(logger: logging.Logger) -> None:
    """Add the filter to ``logger`` and its handlers (handlers also see propagated records)."""
    redacting = RedactingFilter()
    logger.addFilter(redacting)
    for handler in logger.handlers:
        handler.addFilter(redacting)


# The launcher's access-log format: client, request line, status, bytes, microseconds.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus'


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with signatures taken out of the request line and query.

    With the launcher's own access-log format it writes the line itself: gunicorn
    builds some thirty atoms per request (every request and response header, a
    formatted date, the pid) and wraps them in a dict that escapes each one, to
    print five of them, which cost 5 % of a ranged GET's CPU here. The line is the
    same, quotes escaped alike; any other format goes through gunicorn's atoms.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_filter(self.error_log)
        install_filter(self.access_log)
        self.own_format = cfg.access_log_format == ACCESS_LOG_FORMAT

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if not self.own_format or not self.access_log_enabled:
            super().access(resp, req, environ, request_time)
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        line = "{} {} {}".format(
            environ["REQUEST_METHOD"], environ["RAW_URI"], environ["SERVER_PROTOCOL"]
        )
        micros = request_time.seconds * 1_000_000 + request_time.microseconds
        host = environ.get("REMOTE_ADDR", "-")
        try:
            self.access_log.info(
                '%s "%s" %s %s %sus',
                host.replace('"', '\\"') if isinstance(host, str) else host,
                line.replace('"', '\\"'),
                status,
                getattr(resp, "sent", None),
                micros,
            )
        except Exception:
            self.error(traceback.format_exc())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "q", "{raw_uri}e"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact(atoms[name])
        return atoms
