"""Optional dependencies: a missing one is a one-line error that names its extra.

``pip install blobstream`` is the library (Flask, Werkzeug); the extras add the
rest: ``[server]`` (gunicorn, prometheus-client, wsgidav; defusedxml and awscrt for
the S3 API), ``[postgres]`` (psycopg), ``[s3]`` (boto3), ``[client]`` (requests,
rich), ``[all]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# The top-level modules each extra brings: only their absence is reported as a
# missing extra, so a broken import of blobstream's own code still fails loudly.
MODULES = {
    "server": frozenset({"gunicorn", "prometheus_client", "wsgidav", "defusedxml", "awscrt"}),
    "postgres": frozenset({"psycopg", "psycopg_pool", "psycopg_binary"}),
    "s3": frozenset({"boto3", "botocore", "s3transfer"}),
    "client": frozenset({"requests", "urllib3", "rich"}),
}


class MissingExtra(ImportError):
    """``what`` needs the third-party packages of the extra ``extra``."""

    def __init__(self, what: str, extra: str, module: str | None) -> None:
        super().__init__(f"{what} needs: pip install 'blobstream[{extra}]'", name=module)
        self.extra = extra


@contextmanager
def needs(extra: str, what: str) -> Iterator[None]:
    """Wrap the imports of an extra's packages: ``with needs("s3", "the s3 backend"):``."""
    try:
        yield
    except MissingExtra:
        raise
    except ImportError as exc:
        top = (exc.name or "").split(".", 1)[0]
        if top not in MODULES[extra]:
            raise
        raise MissingExtra(what, extra, exc.name) from exc
