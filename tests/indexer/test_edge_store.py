"""The embedded store on Qdrant Edge: payload indexes as on a server, filters, in-engine fusion and the recency
formula (against the same arithmetic in Python), the folder layout and pointer file, and the one-process rule."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from indexer.backends.edge import ALIASES_FILE, COLLECTIONS_DIR, EdgeStore, check_name
from indexer.collection import RecencyRequest, SearchFilters, StoreLockedError, open_store
from indexer.embedding import Embedder
from indexer.payload import DENSE, PUBLISHED_AT
from indexer.pipeline import Indexer
from service.retrieval.recency import apply_recency
from service.retrieval.retriever import Retriever
from service.settings import ServiceSettings
from tests.conftest import REPO, SAMPLES

MALI = "What did Russia promise Mali?"


@pytest.fixture
def indexed(settings: ServiceSettings, embedder: Embedder) -> Iterator[Indexer]:
    ix = Indexer(settings, embedder=embedder)
    try:
        assert ix.ingest_paths([SAMPLES]).count("indexed") == 11
        yield ix
    finally:
        ix.close()


def test_the_default_store_is_edge_with_the_servers_payload_indexes(indexed: Indexer) -> None:
    assert isinstance(indexed.store, EdgeStore) and indexed.store.embedded
    config = indexed.stats()["config"]
    assert config["backend"] == "edge" and config["dense"]["size"] == indexed.embedder.dim
    assert config["payload_indexes"] == sorted(["doc_id", "source", "origin", "doc_hash", "published_at",
                                                "chunk_index"])
    assert config["points"] == indexed.stats()["chunks"]
    root = indexed.settings.qdrant_path
    assert (root / COLLECTIONS_DIR / indexed.collection / "collection.json").is_file()


def test_filters_run_in_the_engine(indexed: Indexer) -> None:
    store, vec = indexed.store, indexed.embedder.encode_query("harbour storm").tolist()
    everything = {c.payload["doc_id"] for c in store.query(vec, DENSE, 100, None) if c.payload}
    assert len(everything) == 11
    march = SearchFilters(published_after="2026-03-01", published_before="2026-03-31")
    assert {c.payload["doc_id"] for c in store.query(vec, DENSE, 100, march) if c.payload} == {"harbor-reopens.md"}
    one = SearchFilters(doc_id=["volcano-alert.txt"])
    hits = store.query(vec, DENSE, 100, one)
    assert hits and {c.payload["doc_id"] for c in hits if c.payload} == {"volcano-alert.txt"}
    assert len(hits) == indexed.store.document("volcano-alert.txt").chunks_stored  # type: ignore[union-attr]


@pytest.mark.parametrize("fusion", ["rrf", "dbsf"])
def test_engine_fusion_and_the_recency_formula_match_the_python_arithmetic(
    indexed: Indexer, settings: ServiceSettings, fusion: str
) -> None:
    store = indexed.store
    retriever = Retriever(settings, store, indexed.embedder)
    dense = indexed.embedder.encode_query(MALI).tolist()
    sparse = retriever.sparse.encode_query(MALI)
    fused = store.query_fused(dense, sparse, 40, 15, None, fusion)  # type: ignore[arg-type]
    assert fused and fused[0].payload is not None
    anchor, half_life = datetime(2024, 6, 1, tzinfo=UTC), timedelta(days=30)
    rescored = store.query_fused(dense, sparse, 40, 15, None, fusion,  # type: ignore[arg-type]
                                 recency=RecencyRequest(anchor, half_life, 0.5, PUBLISHED_AT))
    expected = apply_recency([c.score for c in fused], [(c.payload or {}).get(PUBLISHED_AT) for c in fused],
                             anchor, half_life, 0.5)
    want = {c.id: s for c, s in zip(fused, expected, strict=True)}
    got = {c.id: c.score for c in rescored}
    assert set(got) == set(want)
    for pid, score in got.items():
        assert score == pytest.approx(want[pid], rel=1e-4, abs=1e-6)


def test_hybrid_search_answers_the_samples(indexed: Indexer, settings: ServiceSettings) -> None:
    retriever = Retriever(settings, indexed.store, indexed.embedder)
    for fusion in ("adaptive", "rrf", "dbsf", "weighted"):
        hits = retriever.search("When did the Port of Kestrel Bay reopen after the storm?", limit=3,
                                fusion=fusion).hits  # type: ignore[arg-type]
        assert hits and hits[0].doc_id == "harbor-reopens.md", fusion
    latest = retriever.search("What is the latest on Mali?", limit=3, fusion="rrf", recency="30d").hits
    assert latest and latest[0].doc_id.startswith("mali")
    sparse_only = retriever.search("Kestrel", limit=3, mode="sparse").hits
    assert sparse_only and all("Kestrel" in h.text or "Kestrel" in h.title for h in sparse_only)


def test_aliases_are_a_pointer_file_replaced_atomically(settings: ServiceSettings, embedder: Embedder) -> None:
    store = open_store(settings)
    try:
        a, b = store.with_collection("news__a"), store.with_collection("news__b")
        a.ensure(settings, embedder.dim)
        b.ensure(settings, embedder.dim)
        alias = store.with_collection("news")
        alias.point_alias("news__a")
        assert alias.resolve() == "news__a"
        alias.point_alias("news__b")
        assert alias.resolve() == "news__b" and store.aliases() == {"news": "news__b"}
        data = json.loads((settings.qdrant_path / ALIASES_FILE).read_text())
        assert data["aliases"] == {"news": "news__b"}
        assert not [p for p in settings.qdrant_path.iterdir() if p.name.endswith(".tmp")]
        with pytest.raises(ValueError, match="no such collection"):
            alias.point_alias("news__missing")
        assert alias.drop() and store.aliases() == {} and store.collection_names() == ["news__a"]
    finally:
        store.close()


def test_bad_collection_names_are_refused() -> None:
    for bad in ("", "../up", ".hidden", "a/b", "x" * 200):
        with pytest.raises(ValueError, match="collection name"):
            check_name(bad)


def test_a_second_process_is_told_who_holds_the_store(settings: ServiceSettings) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from indexer.backends.edge import EdgeLocation; "
         "from pathlib import Path; held = EdgeLocation.acquire(Path(sys.argv[1])); print('held', flush=True); "
         "time.sleep(60)", str(settings.qdrant_path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError) as err:
            open_store(settings)
        message = str(err.value)
        assert "\n" not in message and f"pid {holder.pid}" in message
        assert "POST /v1/documents" in message and "NEWSDESK_QDRANT_URL" in message
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    open_store(settings).close()  # released with the process
