"""Prometheus metrics of the service, served as text at ``GET /metrics``.

One registry per process (:data:`REGISTRY`; several apps in one test process share it, so tests compare
before/after values). What is measured and where:

* every HTTP request: count and latency by method, route template (``/v1/documents/{doc_id:path}``, never the
  raw path, so the label set stays small; ``unmatched`` for 404s from routing) and status: ``observe_request``,
  called by ``service.app.ServiceApp``;
* answers: stage timings (embed, retrieve, compose, and any other stage a composer reports, e.g. the language
  model's) and a count by composer and found: :func:`observe_answer`, called by the JSON ask and chat handlers
  and meant to be called by the streaming paths too (it takes the pipeline's ``Answer`` only);
* searches: stage timings: :func:`observe_search`;
* ingest through the API: documents by result, chunks written, records refused: :func:`observe_ingest`;
* the store's point count, read when scraped: :func:`render` (given a counting function);
* the process (memory, CPU, open files): prometheus-client's process collector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from indexer.pipeline import IngestReport

log = logging.getLogger("newsdesk.service")

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of :func:`render`'s text."""
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter("newsdesk_http_requests", "HTTP requests by method, route template and status.",
                        ["method", "route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("newsdesk_http_request_duration_seconds",
                         "Time from request to the end of the response (a stream's last byte).",
                         ["method", "route", "status"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
ANSWER_STAGE = Histogram("newsdesk_answer_stage_seconds", "Answer stage timings (embed, retrieve, compose ...).",
                         ["stage", "composer"], buckets=_STAGE_BUCKETS, registry=REGISTRY)
ANSWERS = Counter("newsdesk_answers", "Answers by composer ('extractive' or 'llm') and whether one was found.",
                  ["composer", "found"], registry=REGISTRY)
SEARCH_STAGE = Histogram("newsdesk_search_stage_seconds", "Search stage timings (embed, retrieve).",
                         ["stage"], buckets=_STAGE_BUCKETS, registry=REGISTRY)
DOCUMENTS = Counter("newsdesk_documents_ingested", "Records sent to POST /v1/documents by result "
                    "(indexed, replaced, unchanged, skipped).", ["status"], registry=REGISTRY)
CHUNKS = Counter("newsdesk_chunks_written", "Chunks written by POST /v1/documents.", registry=REGISTRY)
INGEST_ERRORS = Counter("newsdesk_ingest_errors", "Records refused by POST /v1/documents (skipped with a reason).",
                        registry=REGISTRY)
STORE_POINTS = Gauge("newsdesk_store_points", "Points (chunks) in the collection, counted when scraped; -1 when "
                     "the store cannot be read.", registry=REGISTRY)


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    labels = (method, route or UNMATCHED, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_LATENCY.labels(*labels).observe(seconds)


def observe_answer(answer: Any) -> None:
    """Record an answer's stage timings and outcome. ``answer``: a ``service.answering.Answer`` (read through
    its ``timings_ms``, ``composer`` and ``found`` attributes only, so this module does not depend on it)."""
    composer = str(getattr(answer, "composer", "extractive") or "extractive")
    timings: Mapping[str, float] = getattr(answer, "timings_ms", None) or {}
    for stage, ms in timings.items():
        if stage != "total" and isinstance(ms, int | float):
            ANSWER_STAGE.labels(stage, composer).observe(ms / 1000)
    ANSWERS.labels(composer, "true" if getattr(answer, "found", False) else "false").inc()


def observe_search(timings_ms: Mapping[str, float]) -> None:
    for stage, ms in timings_ms.items():
        if stage != "total":
            SEARCH_STAGE.labels(stage).observe(ms / 1000)


def observe_ingest(report: IngestReport) -> None:
    for result in report.results:
        DOCUMENTS.labels(result.status).inc()
        if result.status == "skipped" and result.error:
            INGEST_ERRORS.inc()
    CHUNKS.inc(report.chunks_written)


def render(count_points: Callable[[], int] | None) -> bytes:
    """The exposition text; ``count_points`` (the store's point count) is called now, so the gauge is current."""
    if count_points is not None:
        try:
            STORE_POINTS.set(count_points())
        except Exception as exc:  # the store being down must not break the scrape
            log.warning("metrics: cannot count the store's points: %s", type(exc).__name__)
            STORE_POINTS.set(-1)
    return generate_latest(REGISTRY)
