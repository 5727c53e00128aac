"""What can go wrong talking to a blobstream server, one class per kind of failure.

The command line maps each class to its own exit status (``cli/status.py``).
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class. ``status`` is the HTTP status when the server answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class InvalidKeyError(ClientError, ValueError):
    """The key is not a valid blob key (SPEC "HTTP API"); nothing was sent."""


class NotFoundError(ClientError):
    """404: no such blob (or upload)."""


class RefusedError(ClientError):
    """401 or 403: the server does not let this token do that."""


class ConflictError(ClientError):
    """409 or 412: a precondition did not hold (another version, already exists)."""


class BlobChangedError(ConflictError):
    """The blob was replaced while it was being read; nothing of the new version was mixed in."""


class ConnectionFailed(ClientError):
    """The server could not be reached, or the connection broke."""


class VerificationError(ClientError):
    """The bytes that arrived are not the bytes that were sent (SHA-256 differs)."""


class ServerError(ClientError):
    """Any other error answer (problem+json ``detail`` in the message)."""
