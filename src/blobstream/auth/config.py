"""Access control settings, read from the extension's ``BLOBSTREAM_*`` configuration.

Keys (without the prefix, lower case as the extension passes them): ``tokens``
(``"token=role,…"`` or a :class:`TokenTable`), ``tokens_file``, ``secret``
(presigning), ``allow_anonymous``, ``cors_origins``, ``protect_metrics``,
``max_uploads_per_token`` and ``body_timeout`` (seconds; 0 turns it off).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from blobstream.auth.cors import CorsPolicy, parse_origins
from blobstream.auth.limits import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_UPLOADS_PER_TOKEN
from blobstream.auth.tokens import TokenTable, parse_tokens, read_tokens_file

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def flag(value: Any, name: str) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _number(value: Any, name: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def _secret(value: Any) -> bytes | None:
    if not value:
        return None
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@dataclass(frozen=True)
class AuthConfig:
    tokens: TokenTable = field(default_factory=TokenTable)
    secret: bytes | None = field(default=None, repr=False)
    allow_anonymous: bool = False
    cors: CorsPolicy = field(default_factory=CorsPolicy)
    protect_metrics: bool = False
    max_uploads_per_token: int = DEFAULT_MAX_UPLOADS_PER_TOKEN
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    @property
    def anonymous(self) -> bool:
        """No tokens configured: every request is served without one."""
        return len(self.tokens) == 0

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> AuthConfig:
        """Parse the settings; a ``ValueError`` names the bad one without echoing a secret."""
        tokens = config.get("tokens")
        if isinstance(tokens, TokenTable):
            table = tokens
        else:
            entries = parse_tokens(str(tokens)) if tokens else []
            if config.get("tokens_file"):
                entries += read_tokens_file(str(config["tokens_file"]))
            table = TokenTable(entries)
        return cls(
            tokens=table,
            secret=_secret(config.get("secret")),
            allow_anonymous=flag(config.get("allow_anonymous"), "BLOBSTREAM_ALLOW_ANONYMOUS"),
            cors=CorsPolicy(parse_origins(config.get("cors_origins"))),
            protect_metrics=flag(config.get("protect_metrics"), "BLOBSTREAM_PROTECT_METRICS"),
            max_uploads_per_token=int(
                _number(
                    config.get("max_uploads_per_token"),
                    "BLOBSTREAM_MAX_UPLOADS_PER_TOKEN",
                    DEFAULT_MAX_UPLOADS_PER_TOKEN,
                )
            ),
            body_timeout=_number(
                config.get("body_timeout"), "BLOBSTREAM_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT
            ),
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``; ``0.0.0.0``, ``::`` and names are not."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ANONYMOUS_REFUSED = (
    "refusing to serve {host} without access control: no tokens are configured, so anyone "
    "who can reach this address could read and delete every blob. Configure tokens with "
    "BLOBSTREAM_TOKENS='token=role,...' (roles read, write, admin) or --tokens-file FILE "
    "(one 'token role' per line, the token may be sha256:<hex>), bind to 127.0.0.1, or pass "
    "--allow-anonymous if this network is trusted."
)


def check_bind(host: str, auth: AuthConfig) -> str:
    """The start-up note on access control; ``PermissionError`` when it would be unsafe."""
    if not auth.anonymous:
        return f"access control: {len(auth.tokens)} token(s) configured; requests need one"
    if is_loopback(host):
        return (
            f"access control: no tokens configured; anonymous requests are served because "
            f"the server is bound to loopback ({host})"
        )
    if auth.allow_anonymous:
        return (
            f"access control: no tokens configured and --allow-anonymous given; anyone who "
            f"reaches {host} may read, write and delete blobs"
        )
    raise PermissionError(ANONYMOUS_REFUSED.format(host=host))
