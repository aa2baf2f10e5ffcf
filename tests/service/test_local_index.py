"""The embedded store's in-memory search (service.retrieval.memory_index) must give exactly Qdrant's own results, and see new writes."""

from __future__ import annotations

import pytest
from qdrant_client import models

from indexer.articles import article_from_record
from indexer.embedding import Embedder
from indexer.payload import DENSE, SPARSE
from indexer.pipeline import Indexer
from service.retrieval import Retriever
from service.settings import ServiceSettings

QUESTIONS = [
    "What did Russia promise Mali?",
    "volcano alert level raised",
    "How many homes will the solar farm supply?",
    "rail strike pay deal",
    "manuscript stolen museum police",
    "city council library budget Sunday opening",
]


@pytest.fixture
def indexed(settings: ServiceSettings, embedder: Embedder, samples_dir) -> Retriever:  # type: ignore[no-untyped-def]
    indexer = Indexer(settings, embedder=embedder)
    indexer.ingest_paths([samples_dir])
    return Retriever.for_store(settings, indexer.store, embedder)


@pytest.mark.parametrize("question", QUESTIONS)
def test_local_sparse_index_matches_qdrant_scores(indexed: Retriever, question: str) -> None:
    assert indexed.memory_index is not None
    q = indexed.sparse.encode_query(question)
    vector = models.SparseVector(indices=q.indices, values=q.values)
    expected = indexed.store.client.query_points(indexed.store.collection, query=vector, using=SPARSE, limit=10)
    got = indexed.memory_index.search_sparse(vector, 10)
    assert [str(p.id) for p in expected.points] == [pid for pid, _ in got]
    assert [p.score for p in expected.points] == pytest.approx([s for _, s in got], rel=1e-4)


@pytest.mark.parametrize("question", QUESTIONS)
def test_local_dense_index_matches_qdrant_scores(indexed: Retriever, question: str) -> None:
    assert indexed.memory_index is not None
    vector = indexed.encoder.encode_query(question).tolist()
    expected = indexed.store.client.query_points(indexed.store.collection, query=vector, using=DENSE, limit=5)
    got = indexed.memory_index.search_dense(vector, 5)
    assert [str(p.id) for p in expected.points] == [pid for pid, _ in got]
    assert [p.score for p in expected.points] == pytest.approx([s for _, s in got], abs=1e-5)


def test_local_sparse_index_sees_writes_made_after_it_was_built(indexed: Retriever, embedder: Embedder) -> None:
    assert indexed.search("zeppelin hangar", mode="sparse").hits == []
    indexer = Indexer(indexed.settings, store=indexed.store, embedder=embedder)
    article = article_from_record(
        {"id": "zep", "title": "Zeppelin hangar reopens", "text": "The old zeppelin hangar reopened as a market."}
    )
    indexer.ingest([article])
    assert [h.doc_id for h in indexed.search("zeppelin hangar", mode="sparse").hits] == ["zep"]
    indexer.delete(["zep"])
    assert indexed.search("zeppelin hangar", mode="sparse").hits == []
