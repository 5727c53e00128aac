"""One HTTP session to a blobstream server: auth header, timeouts, errors by kind."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests
import urllib3.exceptions

from blobstream.client.errors import (
    ClientError,
    ConflictError,
    ConnectionFailed,
    InvalidKeyError,
    NotFoundError,
    RefusedError,
    ServerError,
    VerificationError,
)

DEFAULT_URL = "http://127.0.0.1:8080"
PIECE = 1 << 20
"""Bytes read or sent at a time: large enough that Python's per-call cost vanishes."""

_PHRASES = {
    401: "unauthorized: a valid token is needed",
    403: "forbidden for this token",
    404: "not found",
    412: "a precondition does not hold",
}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _reason(exc: BaseException) -> str:
    """A short human reason from a requests/urllib3 exception chain."""
    match = _ERRNO.search(str(exc))
    if match:
        return match[1].strip().lower()
    if isinstance(exc, requests.Timeout):
        return "timed out"
    text = str(exc).split("(")[0].strip() or type(exc).__name__
    return text[:200]


def error_for(response: requests.Response, what: str) -> ClientError:
    """The ClientError for an error answer, with the problem+json ``detail`` when there is one."""
    status = response.status_code
    detail, problem = "", ""
    if "json" in response.headers.get("Content-Type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            detail = str(body.get("detail") or body.get("title") or "")
            problem = str(body.get("type") or "")
    if not detail:  # HEAD answers have no body
        detail = _PHRASES.get(status) or str(response.reason or "error").lower()
    message = f"{what}: {detail} ({status})"
    kind: type[ClientError] = ServerError
    if status == 460 or problem.endswith("/digest-mismatch"):
        kind = VerificationError  # the server refused bytes that do not match their digest
    elif status == 404 or status == 410:
        kind = NotFoundError
    elif status in (401, 403):
        kind = RefusedError
    elif status in (409, 412):
        kind = ConflictError
    return kind(message, status)


class Transport:
    """A ``requests.Session`` bound to one server URL and token."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.base = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "blobstream-client/0.1"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def blob_url(self, key: str) -> str:
        from blobstream.errors import InvalidKey
        from blobstream.http.keys import validate_key

        try:
            validate_key(key)
        except InvalidKey as exc:
            raise InvalidKeyError(f"invalid key {key!r}: {exc.detail}") from exc
        return f"{self.base}/blobs/{quote(key, safe='/')}"

    def absolute(self, location: str) -> str:
        return requests.compat.urljoin(self.base + "/", location)

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        ok: Iterable[int] = (200,),
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; raise the ClientError for its failure, else return the response."""
        try:
            response = self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                stream=stream,
                timeout=(10.0, self.timeout),
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ConnectionFailed(f"{what}: cannot talk to {self.base}: {_reason(exc)}") from exc
        if response.status_code not in ok:
            try:
                raise error_for(response, what)
            finally:
                response.close()
        return response

    def close(self) -> None:
        self.session.close()


def iter_body(response: requests.Response, what: str, piece: int = PIECE) -> Iterator[bytes]:
    """The body of a streamed response in pieces; a broken connection is ConnectionFailed."""
    raw = response.raw
    try:
        while True:
            data = raw.read(piece, decode_content=False)
            if not data:
                return
            yield data
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise ConnectionFailed(f"{what}: the connection broke: {_reason(exc)}") from exc


class SizedBody:
    """An iterable body of known length: requests sends ``Content-Length``, not chunked."""

    def __init__(self, pieces: Iterable[bytes], length: int) -> None:
        self._pieces = pieces
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._pieces)
