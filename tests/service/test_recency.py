"""Recency through real HTTP: two Mali articles a year apart (samples/). A question about the latest state cites
the newer one, a question about a stated date the older one; an explicit half-life re-ranks search; filters
still apply."""

from __future__ import annotations

import httpx

VISIT = "mali-lavrov-visit.md"  # 2023-02-07
YEAR_ON = "mali-one-year-on.txt"  # 2024-02-07


def _docs(client: httpx.Client, body: dict[str, object]) -> tuple[list[str], dict[str, object]]:
    r = client.post("/v1/search", json={"collapse": True, "limit": 3, **body})
    assert r.status_code == 200, r.text
    out = r.json()
    return [h["doc_id"] for h in out["hits"]], out


def test_a_half_life_lifts_the_newer_article(client: httpx.Client) -> None:
    query = "What did Russia promise Mali?"
    plain, off = _docs(client, {"query": query, "recency": "off"})
    assert plain[0] == VISIT and off["recency"] is None  # by relevance the visit story leads
    recent, on = _docs(client, {"query": query, "recency": "30d"})
    assert recent[0] == YEAR_ON and on["recency"] == "30d"
    assert set(recent) == set(plain)  # re-ranked, not replaced


def test_latest_questions_cite_the_newer_and_dated_questions_the_older(client: httpx.Client) -> None:
    latest = client.post("/v1/ask", json={"question": "What is the latest on Russia's ties with Mali?"}).json()
    assert latest["found"] and latest["citations"][0]["doc_id"] == YEAR_ON
    dated = client.post("/v1/ask", json={"question": "What did Russia promise Mali in February 2023?"}).json()
    assert dated["found"] and VISIT in {c["doc_id"] for c in dated["citations"]}
    assert YEAR_ON not in {c["doc_id"] for c in dated["citations"]}


def test_recency_keeps_filters_and_refuses_bad_values(client: httpx.Client) -> None:
    everywhere, _ = _docs(client, {"query": "Russia Mali grain", "recency": "30d", "limit": 10})
    docs, out = _docs(client, {"query": "Russia Mali grain", "recency": "30d", "limit": 10,
                               "filters": {"source": ["Sahel Dispatch"]}})
    assert docs and {h["source"] for h in out["hits"]} == {"Sahel Dispatch"}  # type: ignore[union-attr]
    assert set(docs) < set(everywhere)  # the filter removed other sources' articles
    bad = client.post("/v1/search", json={"query": "Russia Mali", "recency": "soon"})
    assert bad.status_code == 400 and "recency" in bad.text
