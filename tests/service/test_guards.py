"""The boundary over real HTTP: strict types, JSON only, bounded nesting, named limits, documents batches,
ids with '/', HEAD /health, and no store location or stack trace in any answer."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from indexer.embedding import Embedder
from service.guards import MAX_JSON_DEPTH, duplicate_ids, is_json_media_type, json_depth
from service.settings import ServiceSettings
from tests.service.conftest import MAX_BODY
from tests.service.helpers import ServerThread, free_port

QUESTION_LIMIT = 300  # service_settings' max_question_chars


def _no_trace(r: httpx.Response) -> None:
    assert "Traceback" not in r.text and 'File "' not in r.text, r.text


def _fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 400, r.text
    _no_trace(r)
    return {d["field"] for d in r.json()["detail"]}


# --- 1. strict types ------------------------------------------------------------------------------------------
STRICT = [
    ("/v1/search", {"query": "port", "limit": True}, "limit"),
    ("/v1/search", {"query": "port", "limit": "5"}, "limit"),
    ("/v1/search", {"query": "port", "limit": 5.5}, "limit"),
    ("/v1/search", {"query": "port", "collapse": "yes"}, "collapse"),
    ("/v1/search", {"query": "port", "collapse": 1}, "collapse"),
    ("/v1/search", {"query": "port", "filters": {"published_after": True}}, "filters.published_after"),
    ("/v1/search", {"query": "port", "filters": {"published_after": 20260101}}, "filters.published_after"),
    ("/v1/search", {"query": "port", "filters": {"published_before": "0"}}, "filters.published_before"),
    ("/v1/search", {"query": "port", "filters": {"published_before": "2026-01-01T00:00:00"}},
     "filters.published_before"),
    ("/v1/search", {"query": 5}, "query"),
    ("/v1/search", {"query": "\u3000\x1c"}, "query"),
    ("/v1/ask", {"question": "why?", "top_k": "5"}, "top_k"),
    ("/v1/ask", {"question": "why?", "top_k": True}, "top_k"),
    ("/v1/ask", {"question": "why?", "stream": 1}, "stream"),
    ("/v1/ask", {"question": "why?", "stream": "true"}, "stream"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "why?"}], "stream": 1}, "stream"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "why?"}], "top_k": "5"}, "top_k"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "why?"}],
                              "stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
]


@pytest.mark.parametrize(("path", "body", "field"), STRICT)
def test_loose_values_are_refused_naming_the_field(client: httpx.Client, path: str, body: object, field: str) -> None:
    assert field in _fields(client.post(path, json=body))


def test_iso_dates_in_filters_still_work(client: httpx.Client) -> None:
    r = client.post("/v1/search", json={"query": "news", "filters": {"published_after": "2026-04-07",
                                                                     "published_before": "2026-04-07"}})
    assert r.status_code == 200 and [h["doc_id"] for h in r.json()["hits"]] == ["wire-rail-strike"]


@pytest.mark.parametrize(("path", "field", "body"), [
    ("/v1/search", "query", lambda text: {"query": text}),
    ("/v1/ask", "question", lambda text: {"question": text}),
    ("/v1/chat/completions", "messages", lambda text: {"messages": [{"role": "user", "content": text}]}),
])
def test_text_limit_is_named(client: httpx.Client, path: str, field: str, body) -> None:  # type: ignore[no-untyped-def]
    r = client.post(path, json=body("q" * (QUESTION_LIMIT + 1)))
    assert field in _fields(r)
    assert f"at most {QUESTION_LIMIT} (NEWSDESK_MAX_QUESTION_CHARS)" in r.json()["message"]
    if path == "/v1/search":  # exactly at the limit is fine
        assert client.post(path, json=body("q" * QUESTION_LIMIT)).status_code == 200


def test_number_limits_are_named(client: httpx.Client) -> None:
    r = client.post("/v1/ask", json={"question": "why?", "top_k": 51})
    assert "top_k" in _fields(r) and "50" in r.json()["message"]
    r = client.post("/v1/search", json={"query": "port", "limit": 101})
    assert "limit" in _fields(r) and "100" in r.json()["message"]


# --- 2. JSON only, bounded nesting ----------------------------------------------------------------------------
def test_text_plain_post_cannot_add_documents(client: httpx.Client) -> None:
    record = json.dumps({"id": "test-csrf", "text": "A page on another site posted this."})
    # what a cross-origin <form enctype="text/plain"> or fetch without preflight can send
    r = client.post("/v1/documents", content=record, headers={"content-type": "text/plain",
                                                              "origin": "http://evil.example"})
    assert r.status_code == 415, r.text
    assert r.json()["error"] == "unsupported_media_type" and "application/json" in r.json()["message"]
    assert client.post("/v1/documents", content=record, headers={"content-type": ""}).status_code == 415
    assert client.post("/v1/documents", content=record,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 415
    assert client.get("/v1/documents/test-csrf").status_code == 404


@pytest.mark.parametrize("path", ["/v1/search", "/v1/ask", "/v1/chat/completions"])
def test_every_json_route_wants_json(client: httpx.Client, path: str) -> None:
    r = client.post(path, content=b'{"query": "x", "question": "x"}', headers={"content-type": "text/plain"})
    assert r.status_code == 415, r.text


def test_json_with_charset_is_json(client: httpx.Client) -> None:
    r = client.post("/v1/search", content=b'{"query": "harbor", "limit": 1}',
                    headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/v1/search", "/v1/ask", "/v1/documents", "/v1/chat/completions"])
@pytest.mark.parametrize("depth", [1_000, 20_000])
def test_deep_json_is_a_400(client: httpx.Client, path: str, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert "body" in _fields(r)
    assert f"at most {MAX_JSON_DEPTH}" in r.json()["message"]


def test_deep_record_is_refused_whole_and_writes_nothing(client: httpx.Client) -> None:
    nested: object = "leaf"
    for _ in range(600):
        nested = [nested]
    batch = [{"id": "test-deep-ok", "text": "A fine article about the harbor."},
             {"id": "test-deep", "text": "Text.", "metadata": {"tree": nested}}]
    assert "body" in _fields(client.post("/v1/documents", json=batch))
    assert client.get("/v1/documents/test-deep-ok").status_code == 404
    # nesting within the limit is an ordinary record
    shallow: object = "leaf"
    for _ in range(MAX_JSON_DEPTH - 4):
        shallow = [shallow]
    r = client.post("/v1/documents", json={"id": "test-shallow", "text": "Nested metadata, not too deep.",
                                           "metadata": {"tree": shallow}})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "indexed", r.text
    assert client.delete("/v1/documents/test-shallow").status_code == 200


# --- 3. documents batches -------------------------------------------------------------------------------------
def test_batch_with_no_valid_record_is_a_400_with_every_result(client: httpx.Client) -> None:
    batch = [{"id": "test-x1"}, "not an object", {"text": "no id"}]
    r = client.post("/v1/documents", json=batch)
    assert r.status_code == 400, r.text
    body = r.json()
    assert [d["field"] for d in body["detail"]] == ["body[0]", "body[1]", "body[2]"]
    assert [x["index"] for x in body["results"]] == [0, 1, 2]
    assert {x["status"] for x in body["results"]} == {"skipped"} and all(x["error"] for x in body["results"])
    assert "text" in body["results"][0]["error"] and "id" in body["results"][2]["error"]
    single = client.post("/v1/documents", json={"id": "test-x2", "text": 3})
    assert [d["field"] for d in single.json()["detail"]] == ["body"] and single.status_code == 400


def test_duplicate_ids_are_all_skipped_naming_the_positions(client: httpx.Client) -> None:
    batch = [{"id": "test-dup", "text": "Version one of the story."}, {"id": "test-solo", "text": "Alone."},
             {"id": " test-dup ", "text": "Version two of the story."}, {"_id": "test-dup", "text": "Three."}]
    r = client.post("/v1/documents", json=batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["skipped", "indexed", "skipped", "skipped"]
    for x in (results[0], results[2], results[3]):
        assert x["doc_id"] == "test-dup" and "positions 0, 2, 3" in x["error"]
    assert client.get("/v1/documents/test-dup").status_code == 404
    assert client.delete("/v1/documents/test-solo").status_code == 200
    assert duplicate_ids(batch) == {"test-dup": [0, 2, 3]}


def test_records_per_request_limit_is_named(client: httpx.Client) -> None:
    r = client.post("/v1/documents", json=[{}] * 1001)
    assert _fields(r) == {"body"}
    assert "1001 records" in r.json()["message"] and "at most 1000 (NEWSDESK_MAX_RECORDS)" in r.json()["message"]


# --- 4. ids with '/' ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc_id", ["news/2026/harbor.md", "a b/50% off?.md", "deep/é/ü.txt"])
def test_ids_with_slashes(client: httpx.Client, doc_id: str) -> None:
    r = client.post("/v1/documents", json={"id": doc_id, "title": "Sub-folder file", "text": "Filed in a folder."})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "indexed", r.text
    encoded = quote(doc_id, safe="")  # news%2F2026%2Fharbor.md
    as_path = quote(doc_id, safe="/")  # news/2026/harbor.md
    for url in (f"/v1/documents/{encoded}", f"/v1/documents/{as_path}"):
        got = client.get(url)
        assert got.status_code == 200 and got.json()["doc_id"] == doc_id, (url, got.text)
    r = client.delete(f"/v1/documents/{encoded}")
    assert r.status_code == 200 and r.json()["doc_id"] == doc_id
    assert client.get(f"/v1/documents/{as_path}").status_code == 404
    assert client.delete(f"/v1/documents/{as_path}").status_code == 404


# --- 5. health, readiness, no location ------------------------------------------------------------------------
def test_head_health(client: httpx.Client) -> None:
    r = client.head("/health")
    assert r.status_code == 200 and r.content == b""


def test_embedded_location_is_not_shown(client: httpx.Client, service_settings: ServiceSettings) -> None:
    secret = str(service_settings.qdrant_path)
    for path in ("/ready", "/v1/stats", "/metrics"):
        r = client.get(path)
        assert r.status_code == 200 and secret not in r.text and "qdrant_path" not in r.text, path


def test_unreachable_server_location_is_not_shown(base_settings: ServiceSettings, embedder: Embedder,
                                                  tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"http://newsdesk:s3cret-pass@127.0.0.1:{port}"
    settings = base_settings.model_copy(update={"qdrant_url": url, "qdrant_timeout_s": 2,
                                                "qdrant_check_compatibility": False, "collection": "gone"})
    with ServerThread(settings, embedder) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        answers = [c.get("/ready"), c.post("/v1/search", json={"query": "port"}),
                   c.post("/v1/ask", json={"question": "What reopened?"}), c.get("/v1/stats"),
                   c.get("/v1/documents/a"), c.post("/v1/documents", json={"id": "a", "text": "Some text."})]
        for r in answers:
            assert r.status_code == 503, (r.request.url, r.text)
            _no_trace(r)
            for leak in ("s3cret", str(port), "127.0.0.1", "newsdesk:"):
                assert leak not in r.text, (r.request.url, r.text)
        assert answers[0].json()["qdrant"] is False
        assert "unreachable" in answers[1].json()["message"]
        assert c.get("/health").status_code == 200 and c.head("/health").status_code == 200


# --- pure helpers ---------------------------------------------------------------------------------------------
def test_json_depth() -> None:
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth(b'"[[[[[["') == 0  # brackets inside strings do not count
    assert json_depth(b'["a\\"[[[", {"k": "}}"}]') == 2
    assert json_depth(b"[" * 5_000_000) == 5_000_000
    assert json_depth(b"") == 0 and json_depth(b"12") == 0


def test_json_media_types() -> None:
    assert is_json_media_type("application/json")
    assert is_json_media_type("Application/JSON; charset=utf-8")
    assert is_json_media_type("application/merge-patch+json")
    assert not is_json_media_type("text/plain")
    assert not is_json_media_type("")
    assert not is_json_media_type("multipart/form-data; boundary=x")


def test_body_limit_still_413(client: httpx.Client) -> None:
    r = client.post("/v1/ask", json={"question": "q", "pad": "x" * MAX_BODY})
    assert r.status_code == 413 and "NEWSDESK_MAX_BODY_BYTES" in r.json()["message"]
