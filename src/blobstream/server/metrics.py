"""Prometheus metrics by route: requests, bytes in and out, transfers in flight, errors.

Under gunicorn the launcher sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker
starts, so every worker writes its own file and ``/metrics`` sums them all.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

REQUESTS = Counter("blobstream_requests", "HTTP requests answered", ["route", "method", "status"])
ERRORS = Counter("blobstream_errors", "HTTP requests answered with 4xx or 5xx", ["route", "status"])
BYTES_IN = Counter("blobstream_bytes_in", "Request body bytes received", ["route"])
BYTES_OUT = Counter("blobstream_bytes_out", "Response body bytes sent", ["route"])
IN_FLIGHT = Gauge(
    "blobstream_transfers_in_flight",
    "Requests whose body is still being received or sent",
    ["route"],
    multiprocess_mode="livesum",
)

bp = Blueprint("metrics", __name__)


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _before() -> None:
    g.blobstream_route = _route()
    IN_FLIGHT.labels(g.blobstream_route).inc()


def count(
    route: str, method: str, status: int, bytes_in: int | None, bytes_out: int | None
) -> None:
    """Count one answered request (its body bytes in, and out unless it is a HEAD)."""
    REQUESTS.labels(route, method, str(status)).inc()
    if status >= 400:
        ERRORS.labels(route, str(status)).inc()
    if bytes_in:
        BYTES_IN.labels(route).inc(bytes_in)
    if method != "HEAD" and bytes_out:
        BYTES_OUT.labels(route).inc(bytes_out)


def _after(response: Response) -> Response:
    route = getattr(g, "blobstream_route", None) or _route()
    count(route, request.method, response.status_code, request.content_length,
          response.content_length)  # fmt: skip
    # The body of a streamed response goes out after this hook: the transfer is
    # in flight until the server closes the response.
    if getattr(g, "blobstream_route", None) is not None:
        g.blobstream_route = None
        response.call_on_close(IN_FLIGHT.labels(route).dec)
    return response


def install(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)


@bp.get("/metrics")
def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        data = generate_latest(registry)
    else:
        data = generate_latest(DEFAULT_REGISTRY)
    return Response(data, content_type=CONTENT_TYPE_LATEST)
