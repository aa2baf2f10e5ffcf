"""Bad input: 400 naming the field (413 for a body over the limit), never 500, and no harm to what follows."""

from __future__ import annotations

import httpx
import pytest

from tests.service.conftest import MAX_BODY

CASES = [
    ("/v1/search", {"query": ""}, "query"),
    ("/v1/search", {"query": "  \n\t "}, "query"),
    ("/v1/search", {}, "query"),
    ("/v1/search", {"query": "x", "limit": 0}, "limit"),
    ("/v1/search", {"query": "x", "limit": 101}, "limit"),
    ("/v1/search", {"query": "x", "limit": "ten"}, "limit"),
    ("/v1/search", {"query": "x", "mode": "fuzzy"}, "mode"),
    ("/v1/search", {"query": "x", "collapse": "sometimes"}, "collapse"),
    ("/v1/search", {"query": "x", "limt": 5}, "limt"),
    ("/v1/search", {"query": "x", "filters": {"published_after": "2023-13-45"}}, "filters.published_after"),
    ("/v1/search", {"query": "x", "filters": {"published_before": "yesterday"}}, "filters.published_before"),
    ("/v1/search", {"query": "x", "filters": {"source": 5}}, "filters.source"),
    ("/v1/search", {"query": "x", "filters": {"sources": ["a"]}}, "filters.sources"),
    ("/v1/search", {"query": "x", "filters": {"published_after": "2024-02-01", "published_before": "2024-01-01"}},
     "filters"),
    ("/v1/search", ["query"], "body"),
    ("/v1/ask", {"question": ""}, "question"),
    ("/v1/ask", {"question": "   "}, "question"),
    ("/v1/ask", {"question": "q" * 301}, "question"),
    ("/v1/ask", {"question": "why?", "top_k": 0}, "top_k"),
    ("/v1/ask", {"question": "why?", "filters": {"published_after": "31/02/2024"}}, "filters.published_after"),
    ("/v1/ask", {"question": "why?", "style": "long"}, "style"),
    ("/v1/documents", [], "body"),
]


@pytest.mark.parametrize(("path", "body", "field"), CASES)
def test_validation_error_names_the_field(client: httpx.Client, path: str, body: object, field: str) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 400, r.text
    payload = r.json()
    assert payload["error"] == "validation" and payload["request_id"]
    assert field in {d["field"] for d in payload["detail"]}, payload
    assert "Traceback" not in r.text


@pytest.mark.parametrize("path", ["/v1/search", "/v1/ask", "/v1/documents"])
def test_malformed_json(client: httpx.Client, path: str) -> None:
    r = client.post(path, content=b'{"query": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"][0]["field"] == "body"


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    big = {"id": "test-big", "text": "word " * (MAX_BODY // 4)}
    r = client.post("/v1/documents", json=big)
    assert r.status_code == 413
    assert f"{MAX_BODY} bytes (NEWSDESK_MAX_BODY_BYTES)" in r.json()["message"]
    r = client.post("/v1/search", json={"query": "q" * (MAX_BODY + 10)})
    assert r.status_code == 413 and r.json()["error"] == "request_entity_too_large"


def test_bad_request_does_not_disturb_the_next(client: httpx.Client) -> None:
    body = {"query": "volcano alert level raised", "limit": 3}
    before = client.post("/v1/search", json=body).json()["hits"]
    for bad in ({"query": "x", "limit": -1}, {"query": ""}):
        assert client.post("/v1/search", json=bad).status_code == 400
    assert client.post("/v1/search", content=b"\xff\xfe", headers={"content-type": "application/json"}).status_code == 400
    r = client.post("/v1/search", json=body)
    assert r.status_code == 200
    assert [h["chunk_id"] for h in r.json()["hits"]] == [h["chunk_id"] for h in before]
    assert before[0]["doc_id"] == "volcano-alert.txt"
