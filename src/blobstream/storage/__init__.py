"""Storage backends behind one protocol, chosen by URL (``file://``, ``postgresql://``, ``s3://``)."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from blobstream.errors import BlobstreamError
from blobstream.extras import needs
from blobstream.storage.protocol import (
    BlobInfo,
    BlobReader,
    BlobStore,
    BlobWriter,
    Commit,
    UploadState,
    UploadStore,
    WriteCondition,
)

DEFAULT_STORAGE = "file://./blobstream-data"

__all__ = [
    "DEFAULT_STORAGE",
    "BlobInfo",
    "BlobReader",
    "BlobStore",
    "BlobWriter",
    "Commit",
    "InvalidStorageURL",
    "UploadState",
    "UploadStore",
    "WriteCondition",
    "open_store",
    "require_backend",
]


class InvalidStorageURL(BlobstreamError, ValueError):
    status = 500
    slug = "invalid-storage-url"
    title = "Invalid storage URL"


def local_path(url: str) -> str:
    """The directory of a ``file:`` URL; ``file://./dir`` and ``file:dir`` are relative."""
    parts = urlsplit(url)
    if parts.netloc in ("", "localhost"):
        path = unquote(parts.path)
    else:  # file://./data is read as the relative path ./data
        path = unquote(parts.netloc + parts.path)
    if not path:
        raise InvalidStorageURL(f"{url!r} names no directory")
    return path


def url_flag(url: str, name: str) -> bool:
    """A yes/no query parameter of a storage URL (``?direct=1``); absent is no."""
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get(name, [])
    if not values:
        return False
    value = values[-1].lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    raise InvalidStorageURL(f"{url!r}: {name}={values[-1]!r} is neither 1 nor 0")


def require_backend(url: str) -> str:
    """The scheme of ``url`` once its backend is loaded: :class:`InvalidStorageURL` for an
    unknown one, :class:`~blobstream.extras.MissingExtra` when its extra is not installed."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("postgres", "postgresql"):
        with needs("postgres", "the postgresql storage backend"):  # psycopg
            import blobstream.storage.postgres  # noqa: F401
    elif scheme == "s3":
        with needs("s3", "the s3 storage backend"):  # boto3
            import blobstream.storage.s3  # noqa: F401
    elif scheme != "file":
        raise InvalidStorageURL(
            f"unknown storage URL {url!r}: use file:///path, postgresql://… or s3://bucket/prefix"
        )
    return scheme


def open_store(url: str, *, create: bool = True) -> BlobStore:
    """Open the backend a storage URL names; a bad URL raises :class:`InvalidStorageURL`."""
    scheme = require_backend(url)
    if scheme == "file":
        from blobstream.storage.local import LocalStore

        return LocalStore(local_path(url), url=url, create=create, direct=url_flag(url, "direct"))
    if scheme == "s3":
        from blobstream.storage.s3 import S3Store

        return S3Store(url)
    from blobstream.storage.postgres import PostgresStore

    return PostgresStore(url)
