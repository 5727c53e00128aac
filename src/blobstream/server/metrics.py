"""Prometheus metrics by route: requests, bytes in and out, transfers in flight, errors.

Each app has its own ``CollectorRegistry`` (two apps in one process count
apart); ``/metrics`` serves the app's. Under gunicorn the launcher sets
``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, so every worker writes
its own file and ``/metrics`` sums them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, g, request

from blobstream.extras import needs

with needs("server", "blobstream's /metrics"):
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        Counter,
        Gauge,
        GCCollector,
        PlatformCollector,
        ProcessCollector,
        generate_latest,
        multiprocess,
    )

METRICS_KEY = "blobstream.metrics"

bp = Blueprint("metrics", __name__)


@dataclass
class Metrics:
    """One app's counters, in its own registry."""

    registry: CollectorRegistry
    requests: Counter
    errors: Counter
    bytes_in: Counter
    bytes_out: Counter
    in_flight: Gauge

    @classmethod
    def new(cls) -> Metrics:
        registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=registry)
        return cls(
            registry,
            Counter("blobstream_requests", "HTTP requests answered",
                    ["route", "method", "status"], registry=registry),
            Counter("blobstream_errors", "HTTP requests answered with 4xx or 5xx",
                    ["route", "status"], registry=registry),
            Counter("blobstream_bytes_in", "Request body bytes received", ["route"],
                    registry=registry),
            Counter("blobstream_bytes_out", "Response body bytes sent", ["route"],
                    registry=registry),
            Gauge("blobstream_transfers_in_flight",
                  "Requests whose body is still being received or sent", ["route"],
                  multiprocess_mode="livesum", registry=registry),
        )  # fmt: skip

    def count(
        self, route: str, method: str, status: int, bytes_in: int | None, bytes_out: int | None
    ) -> None:
        """Count one answered request (its body bytes in, and out unless it is a HEAD)."""
        self.requests.labels(route, method, str(status)).inc()
        if status >= 400:
            self.errors.labels(route, str(status)).inc()
        if bytes_in:
            self.bytes_in.labels(route).inc(bytes_in)
        if method != "HEAD" and bytes_out:
            self.bytes_out.labels(route).inc(bytes_out)


def metrics_of(app: Flask) -> Metrics:
    found: Metrics = app.extensions[METRICS_KEY]
    return found


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def _before() -> None:
    g.blobstream_route = _route()
    metrics_of(current_app).in_flight.labels(g.blobstream_route).inc()


def _after(response: Response) -> Response:
    found = metrics_of(current_app)
    route = getattr(g, "blobstream_route", None) or _route()
    found.count(route, request.method, response.status_code, request.content_length,
                response.content_length)  # fmt: skip
    # The body of a streamed response goes out after this hook: the transfer is
    # in flight until the server closes the response.
    if getattr(g, "blobstream_route", None) is not None:
        g.blobstream_route = None
        response.call_on_close(found.in_flight.labels(route).dec)
    return response


def install(app: Flask) -> None:
    app.extensions[METRICS_KEY] = Metrics.new()
    app.before_request(_before)
    app.after_request(_after)


@bp.get("/metrics")
def metrics() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        data = generate_latest(registry)
    else:
        data = generate_latest(metrics_of(current_app).registry)
    return Response(data, content_type=CONTENT_TYPE_LATEST)
