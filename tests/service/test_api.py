"""The HTTP API over real HTTP: search, ask, documents, stats, health, errors."""

from __future__ import annotations

import httpx
import pytest

HIT_KEYS = {"doc_id", "chunk_id", "score", "title", "url", "source", "published_at", "text", "char_start",
            "char_end"}
CITATION_KEYS = {"n", "doc_id", "chunk_id", "title", "url", "source", "published_at", "quote", "char_start",
                 "char_end", "answer_start", "answer_end"}
SAMPLE_IDS = {"harbor-reopens.md", "library-funding.md", "solar-farm.html", "volcano-alert.txt",
              "wire-rail-strike", "wire-museum-theft"}


def search(client: httpx.Client, **body: object) -> dict:
    r = client.post("/v1/search", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    r = client.get("/ready")
    assert r.status_code == 200
    assert r.json()["status"] == "ready" and r.json()["collection_exists"] is True


@pytest.mark.parametrize("mode", ["hybrid", "dense", "sparse"])
def test_search_modes_find_the_article(client: httpx.Client, mode: str) -> None:
    body = search(client, query="Kestrel Bay port reopened to cargo ships after the storm", limit=3, mode=mode)
    assert body["hits"][0]["doc_id"] == "harbor-reopens.md"
    assert all(set(h) == HIT_KEYS for h in body["hits"])
    assert len(body["hits"]) <= 3
    expected = {"retrieve", "total"} | ({"embed"} if mode != "sparse" else set())
    assert expected <= set(body["timings_ms"])


def test_search_default_limit_and_hit_offsets(client: httpx.Client) -> None:
    body = search(client, query="news")
    assert 1 <= len(body["hits"]) <= 10
    for h in body["hits"]:
        assert h["char_end"] - h["char_start"] == len(h["text"])


def test_filter_by_source(client: httpx.Client) -> None:
    hits = search(client, query="news today", filters={"source": ["Metro Wire"]})["hits"]
    assert hits and {h["source"] for h in hits} == {"Metro Wire"}


def test_filter_by_doc_id(client: httpx.Client) -> None:
    hits = search(client, query="port storm", filters={"doc_id": ["library-funding.md"]})["hits"]
    assert [h["doc_id"] for h in hits] == ["library-funding.md"]


def test_filter_by_date_range(client: httpx.Client) -> None:
    hits = search(client, query="news", limit=20,
                  filters={"published_after": "2026-03-01", "published_before": "2026-04-30"})["hits"]
    assert {h["doc_id"] for h in hits} == {"harbor-reopens.md", "wire-rail-strike"}
    # the upper bound includes its whole day (rail strike: 2026-04-07T16:00Z)
    hits = search(client, query="news", filters={"published_after": "2026-04-07", "published_before": "2026-04-07"})
    assert [h["doc_id"] for h in hits["hits"]] == ["wire-rail-strike"]


def test_collapse_keeps_one_chunk_per_article(client: httpx.Client) -> None:
    sentences = [f"The Aurora glacier lost {i * 3} meters of ice in survey {i}, the polar institute in Tromso "
                 f"reported, citing warm summers and little snowfall in the northern valleys." for i in range(80)]
    record = {"id": "test-glacier", "title": "Aurora glacier retreat", "text": "\n\n".join(sentences),
              "source": "Test Desk"}
    r = client.post("/v1/documents", json=record)
    assert r.status_code == 200 and r.json()["results"][0]["chunks"] >= 3
    try:
        plain = search(client, query="Aurora glacier ice loss survey", limit=5)["hits"]
        assert sum(h["doc_id"] == "test-glacier" for h in plain) >= 2
        collapsed = search(client, query="Aurora glacier ice loss survey", limit=5, collapse=True)["hits"]
        ids = [h["doc_id"] for h in collapsed]
        assert len(ids) == len(set(ids)) and ids[0] == "test-glacier"
    finally:
        assert client.delete("/v1/documents/test-glacier").status_code == 200


def test_ask_answers_with_citations(client: httpx.Client) -> None:
    r = client.post("/v1/ask", json={"question": "When did the Port of Kestrel Bay reopen to cargo ships?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"answer", "citations", "found", "timings_ms"} <= set(body)
    assert body["found"] is True and body["answer"]
    assert body["citations"] and all(set(c) == CITATION_KEYS for c in body["citations"])
    assert body["citations"][0]["n"] == 1
    assert "harbor-reopens.md" in {c["doc_id"] for c in body["citations"]}
    # a "when" question: the date is marked inside the quote that states it
    marked = [c for c in body["citations"] if c["answer_start"] is not None]
    assert marked and all(0 <= c["answer_start"] < c["answer_end"] <= len(c["quote"]) for c in marked)
    assert {"embed", "retrieve", "compose", "total"} <= set(body["timings_ms"])
    for c in body["citations"]:  # the page opens each quote inside its whole article, at the cited offsets
        article = client.get(f"/v1/documents/{c['doc_id']}", params={"text": "true"}).json()["text"]
        assert article[c["char_start"]:c["char_end"]] == c["quote"]


def test_ask_respects_filters(client: httpx.Client) -> None:
    r = client.post("/v1/ask", json={"question": "What happened to the port?", "top_k": 3,
                                     "filters": {"source": ["Metro Wire"]}})
    assert r.status_code == 200, r.text
    assert {c["source"] for c in r.json()["citations"]} <= {"Metro Wire"}


def test_document_round_trip(client: httpx.Client) -> None:
    record = {"id": "test-ferry", "title": "Night ferry resumes", "body": "The night ferry to Vesterholm "
              "resumed service on Monday after repairs to its hull.", "source": "Test Desk",
              "author": "Ana Ruiz", "published_at": "2026-06-01", "desk": "transport"}
    r = client.post("/v1/documents", json=record)
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [{"index": 0, "doc_id": "test-ferry", "status": "indexed", "chunks": 1,
                                    "error": None}]
    doc = client.get("/v1/documents/test-ferry").json()
    assert doc["title"] == "Night ferry resumes" and doc["author"] == "Ana Ruiz"
    assert doc["published_at"] == "2026-06-01T00:00:00Z" and doc["metadata"] == {"desk": "transport"}
    assert doc["chunk_count"] == doc["chunks_stored"] == 1 and doc["origin"] == "api" and doc["doc_hash"]
    assert doc["text"] is None  # the article text only when asked for
    assert client.get("/v1/documents/test-ferry?text=true").json()["text"] == record["body"]
    assert client.post("/v1/documents", json=[record]).json()["results"][0]["status"] == "unchanged"

    record["body"] = "The night ferry to Vesterholm was cancelled again because of a storm warning."
    assert client.post("/v1/documents", json=record).json()["results"][0]["status"] == "replaced"
    hits = search(client, query="ferry", filters={"doc_id": ["test-ferry"]})["hits"]
    assert [h["text"] for h in hits] == [record["body"]]
    assert client.get("/v1/documents/test-ferry").json()["doc_hash"] != doc["doc_hash"]

    r = client.delete("/v1/documents/test-ferry")
    assert r.status_code == 200 and r.json() == {"doc_id": "test-ferry", "status": "deleted", "chunks": 1}
    assert client.get("/v1/documents/test-ferry").status_code == 404
    assert client.delete("/v1/documents/test-ferry").status_code == 404
    assert search(client, query="ferry", filters={"doc_id": ["test-ferry"]})["hits"] == []


def test_bad_records_do_not_stop_the_others(client: httpx.Client) -> None:
    good = {"id": "test-good", "title": "Bridge opens", "text": "A new footbridge opened over the river."}
    batch = ["not an object", {"id": "test-notext", "title": "x"}, {"title": "no id", "text": "t"},
             {"id": "test-baddate", "text": "Some text.", "published_at": "not a date"}, good,
             {"id": "test-twice", "text": "First version."}, {"id": "test-twice", "text": "Second version."}]
    r = client.post("/v1/documents", json=batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(7))
    assert [x["status"] for x in results] == ["skipped"] * 4 + ["indexed", "skipped", "skipped"]
    assert all(x["error"] for x in results[:4]) and "published_at" in results[3]["error"]
    assert results[1]["doc_id"] == "test-notext"
    # an id given twice is ambiguous: neither occurrence is written, and both name the positions
    assert all("duplicate" in x["error"] and "5, 6" in x["error"] for x in results[5:])
    assert r.json()["summary"]["indexed"] == 1
    assert client.get("/v1/documents/test-twice").status_code == 404
    assert client.get("/v1/documents/test-notext").status_code == 404
    assert client.delete("/v1/documents/test-good").status_code == 200


def test_stats(client: httpx.Client) -> None:
    stats = client.get("/v1/stats").json()
    assert stats["collection"] == "svc" and stats["exists"] is True
    assert stats["documents"] >= 6 and stats["chunks"] >= stats["documents"]


def test_unknown_document_and_route(client: httpx.Client) -> None:
    r = client.get("/v1/documents/no-such-doc")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert client.get("/v1/nothing-here").status_code == 404
    assert client.get("/v1/search").status_code == 405


def test_openapi_schema(client: httpx.Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/ask", "/v1/documents", "/v1/documents/{doc_id}", "/v1/stats"} <= set(paths)


def test_request_id_echoed(client: httpx.Client) -> None:
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len(client.get("/health").headers["x-request-id"]) == 16
