"""The real indexer against a real Qdrant 1.16 server behaves as it does on the embedded (Edge) store.

The client (qdrant-client 1.20) is newer than the server; these tests are where a client feature the server
lacks would show up.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from indexer.backends.server import ServerStore
from indexer.backends.server_converters import to_filter
from indexer.collection import SearchFilters, Store
from indexer.embedding import Embedder
from indexer.payload import DENSE, SPARSE
from indexer.pipeline import Indexer
from indexer.sparse import SparseEncoder
from service.settings import ServiceSettings

pytestmark = pytest.mark.server

EXPECTED_INDEXES = {
    "doc_id": models.PayloadSchemaType.KEYWORD,
    "source": models.PayloadSchemaType.KEYWORD,
    "origin": models.PayloadSchemaType.KEYWORD,
    "doc_hash": models.PayloadSchemaType.KEYWORD,
    "published_at": models.PayloadSchemaType.DATETIME,
    "chunk_index": models.PayloadSchemaType.INTEGER,
}


def doc_chunks(store: Store) -> dict[str, list[tuple[int, str, str]]]:
    """doc_id -> sorted (chunk_index, doc_hash, text) of every stored point (either backend)."""
    out: dict[str, list[tuple[int, str, str]]] = {}
    for p in store.scan_points(with_vectors=False):
        pl = p.payload
        out.setdefault(pl["doc_id"], []).append((pl["chunk_index"], pl["doc_hash"], pl["text"]))
    return {k: sorted(v) for k, v in out.items()}


def count(store: Store, flt: models.Filter | None) -> int:
    assert isinstance(store, ServerStore)
    return store.client.count(store.collection, count_filter=flt, exact=True).count


def hybrid(client: QdrantClient, settings: ServiceSettings, embedder: Embedder, question: str) -> list[str]:
    """Dense + BM25 prefetch fused with RRF on the server; doc_ids in rank order."""
    sparse = SparseEncoder(settings.bm25_k1, settings.bm25_b, settings.sparse_avg_doc_tokens).encode_query(question)
    hits = client.query_points(
        settings.collection,
        prefetch=[
            models.Prefetch(query=embedder.encode_query(question).tolist(), using=DENSE, limit=20),
            models.Prefetch(
                query=models.SparseVector(indices=sparse.indices, values=sparse.values), using=SPARSE, limit=20
            ),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=5,
        with_payload=["doc_id"],
    ).points
    return [str((h.payload or {})["doc_id"]) for h in hits]


@pytest.mark.parametrize("shards", [1, 2], ids=lambda n: f"shards={n}")
def test_server_matches_embedded_and_reingest_is_a_noop(
    server_settings: ServiceSettings, settings: ServiceSettings, embedder: Embedder, samples_dir: Path, shards: int
) -> None:
    server_settings = server_settings.model_copy(update={"shard_number": shards})
    server = Indexer(server_settings, embedder=embedder)
    local = Indexer(settings, embedder=embedder)
    try:
        first = server.ingest_paths([samples_dir])
        local.ingest_paths([samples_dir])
        assert first.count("indexed") >= 5 and not first.skipped, first.summary()

        s_stats, l_stats = server.stats(), local.stats()
        assert (s_stats["documents"], s_stats["chunks"]) == (l_stats["documents"], l_stats["chunks"])
        assert s_stats["incomplete_documents"] == []
        # same points, same content, whichever store holds them
        assert doc_chunks(server.store) == doc_chunks(local.store)

        again = server.ingest_paths([samples_dir])
        assert again.chunks_written == 0
        assert again.count("unchanged") == first.count("indexed")
        assert server.stats()["chunks"] == s_stats["chunks"]

        config = s_stats["config"]
        assert (config["shard_number"], config["replication_factor"]) == (shards, 1)
        assert config["dense"] == {"size": embedder.dim, "distance": "Cosine"}
    finally:
        server.close()
        local.close()


def test_changed_article_replaces_its_chunks(server_settings: ServiceSettings, embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    article = folder / "long-story.txt"
    paragraph = (
        "The regional transit authority published its annual ridership report on Thursday, showing that "
        "light rail journeys rose by a fifth while bus journeys stayed flat across the district. "
    )
    article.write_text("Transit ridership report\n\n" + "\n\n".join(f"{i}. {paragraph}" for i in range(40)))
    indexer = Indexer(server_settings.model_copy(update={"chunk_tokens": 128, "chunk_overlap": 16}), embedder=embedder)
    try:
        indexer.ingest_paths([folder])
        before = doc_chunks(indexer.store)["long-story.txt"]
        assert len(before) > 3

        article.write_text("Transit ridership report\n\nRidership figures were withdrawn pending an audit.")
        report = indexer.ingest_paths([folder])
        assert report.count("replaced") == 1

        after = doc_chunks(indexer.store)["long-story.txt"]
        assert [i for i, _, _ in after] == [0], "stale chunks of the old version are left behind"
        assert len({h for _, h, _ in after}) == 1 and after[0][1] != before[0][1]
        assert "withdrawn pending an audit" in after[0][2]
        assert indexer.stats()["incomplete_documents"] == []
    finally:
        indexer.close()


def test_payload_indexes_and_filters_work_on_the_server(
    server_settings: ServiceSettings, embedder: Embedder, samples_dir: Path
) -> None:
    indexer = Indexer(server_settings, embedder=embedder)
    try:
        indexer.ingest_paths([samples_dir])
        schema = indexer.store.client.get_collection(indexer.collection).payload_schema
        assert {name: info.data_type for name, info in schema.items()} == EXPECTED_INDEXES

        client, name = indexer.store.client, indexer.collection
        total = indexer.store.count()
        ledger = count(indexer.store, to_filter(SearchFilters(source=["Coastal Ledger"])))
        assert 0 < ledger < total
        # harbor article: 2026-03-14; library: 2026-02-03; solar farm: 2026-01-22
        march = to_filter(SearchFilters(published_after="2026-03-01", published_before="2026-03-31"))
        hits, _ = client.scroll(name, scroll_filter=march, limit=100, with_payload=["doc_id"])
        assert {(p.payload or {})["doc_id"] for p in hits} == {"harbor-reopens.md"}
        only = to_filter(SearchFilters(doc_id=["volcano-alert.txt"]))
        assert only is not None and only.must
        volcano = count(indexer.store, only)
        assert volcano > 0
        assert volcano + count(indexer.store, models.Filter(must_not=only.must)) == total
    finally:
        indexer.close()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Why was the alert level for Mount Teravo raised?", "volcano-alert.txt"),
        ("When did the Port of Kestrel Bay reopen after the storm?", "harbor-reopens.md"),
        ("How much more money will the public libraries get?", "library-funding.md"),
    ],
)
def test_hybrid_rrf_query_finds_the_obvious_article(
    server_settings: ServiceSettings, embedder: Embedder, samples_dir: Path, question: str, expected: str
) -> None:
    indexer = Indexer(server_settings, embedder=embedder)
    try:
        indexer.ingest_paths([samples_dir])
        ranked = hybrid(indexer.store.client, server_settings, embedder, question)
        assert ranked and ranked[0] == expected, ranked
    finally:
        indexer.close()


def test_copying_samples_elsewhere_keeps_doc_ids_and_prunes_by_origin(
    server_settings: ServiceSettings, embedder: Embedder, samples_dir: Path, tmp_path: Path
) -> None:
    """--prune on a server removes documents whose file is gone from the ingested folder, and only those."""
    folder = tmp_path / "articles"
    shutil.copytree(samples_dir, folder)
    indexer = Indexer(server_settings, embedder=embedder)
    try:
        indexer.ingest_paths([folder])
        docs_before = indexer.stats()["documents"]
        (folder / "volcano-alert.txt").unlink()
        report = indexer.ingest_paths([folder], prune=True)
        assert [r.doc_id for r in report.results if r.status == "deleted"] == ["volcano-alert.txt"]
        assert indexer.stats()["documents"] == docs_before - 1
        assert count(indexer.store, to_filter(SearchFilters(doc_id=["volcano-alert.txt"]))) == 0
    finally:
        indexer.close()
