"""GET /metrics over real HTTP (Prometheus text) and the request id on every log line of a request."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def scrape(client: httpx.Client) -> dict[Sample, float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def delta(before: dict[Sample, float], after: dict[Sample, float], name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in after, f"{name}{labels} not exported"
    return after[key] - before.get(key, 0.0)


def test_metrics_count_requests_stages_and_ingest(client: httpx.Client) -> None:
    before = scrape(client)
    assert client.post("/v1/search", json={"query": "volcano alert", "limit": 2}).status_code == 200
    r = client.post("/v1/ask", json={"question": "When did the Port of Kestrel Bay reopen to cargo ships?"})
    assert r.status_code == 200 and r.json()["found"] is True and r.json()["composer"] == "extractive"
    batch = [{"id": "test-metrics", "text": "The night market returned to the old square."}, {"id": "test-bad"}]
    assert client.post("/v1/documents", json=batch).status_code == 200
    assert client.get("/v1/documents/no-such-doc").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    after = scrape(client)

    requests = "newsdesk_http_requests_total"
    assert delta(before, after, requests, method="POST", route="/v1/search", status="200") == 1
    assert delta(before, after, requests, method="POST", route="/v1/ask", status="200") == 1
    assert delta(before, after, requests, method="GET", route="/v1/documents/{doc_id}", status="404") == 1
    assert delta(before, after, requests, method="GET", route="unmatched", status="404") == 1
    assert not any(name == requests and ("route", "/no/such/route") in labels for name, labels in after)
    latency = "newsdesk_http_request_duration_seconds"
    assert delta(before, after, f"{latency}_count", method="POST", route="/v1/ask", status="200") == 1
    assert delta(before, after, f"{latency}_sum", method="POST", route="/v1/ask", status="200") > 0

    for stage in ("embed", "retrieve", "compose"):
        assert delta(before, after, "newsdesk_answer_stage_seconds_count", stage=stage, composer="extractive") == 1
    assert delta(before, after, "newsdesk_answers_total", composer="extractive", found="true") == 1
    for stage in ("embed", "retrieve"):
        assert delta(before, after, "newsdesk_search_stage_seconds_count", stage=stage) == 1

    assert delta(before, after, "newsdesk_documents_ingested_total", status="indexed") == 1
    assert delta(before, after, "newsdesk_documents_ingested_total", status="skipped") == 1
    assert delta(before, after, "newsdesk_ingest_errors_total") == 1
    assert delta(before, after, "newsdesk_chunks_written_total") == 1

    chunks = client.get("/v1/stats").json()["chunks"]
    assert after[("newsdesk_store_points", frozenset())] == chunks
    assert after[("process_resident_memory_bytes", frozenset())] > 10_000_000
    assert client.delete("/v1/documents/test-metrics").status_code == 200
    assert scrape(client)[("newsdesk_store_points", frozenset())] == chunks - 1


@contextmanager
def service_log() -> Iterator[io.StringIO]:
    """What the service's own JSON log handler writes, while the block runs."""
    handler = next(h for h in logging.getLogger("newsdesk").handlers if getattr(h, "_newsdesk", False))
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    previous = handler.setStream(out)
    try:
        yield out
    finally:
        handler.setStream(previous)


def test_request_id_on_every_log_line_of_the_request(client: httpx.Client) -> None:
    rid = "trace-metrics-1"
    with service_log() as out:
        r = client.post("/v1/documents", json=[{"id": "test-rid", "text": "Logged with its request."}, {"id": "x"}],
                        headers={"X-Request-ID": rid})
        deadline = time.monotonic() + 5  # the access line is written once the response has been sent
        while '"newsdesk.access"' not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert r.status_code == 200 and r.headers["x-request-id"] == rid
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    loggers = {line["logger"] for line in lines}
    assert {"newsdesk.service", "newsdesk.access"} <= loggers, lines  # the handler's line and the access line
    assert all(line.get("request_id") == rid for line in lines), lines
    ingest = next(line for line in lines if line["msg"].startswith("ingest:"))
    assert ingest["indexed"] == 1 and ingest["skipped"] == 1
    # outside a request nothing is attached
    with service_log() as out:
        logging.getLogger("newsdesk.service").info("between requests")
    assert "request_id" not in json.loads(out.getvalue())
    assert client.delete("/v1/documents/test-rid").status_code == 200
