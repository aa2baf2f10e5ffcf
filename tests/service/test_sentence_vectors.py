"""Sentence vectors stored at ingest (issue 13): they match the splitter's sentences on both store modes, the
extractive composer uses them instead of embedding per request, and collections indexed before them still
answer (the composer embeds their sentences itself)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from indexer import payload as pl
from indexer.collection import Store, StoredPoint
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.sentences import sentence_text, split_sentences
from service.answering import Ask, ExtractiveComposer, QuestionPipeline
from service.retrieval import Retriever
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.qdrant_server import QdrantServer, QdrantUnavailable

QUESTION = "What did Russia promise Mali?"


@dataclass
class CountingEncoder:
    """The real embedder, recording every ``encode`` batch (sentence embeddings) and ``encode_query`` call."""

    inner: Embedder
    batches: list[int] = field(default_factory=list)
    queries: int = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        self.batches.append(len(texts))
        return self.inner.encode(texts, batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return self.inner.encode_query(text)


@pytest.fixture(params=["embedded", "server"])
def indexed(request: pytest.FixtureRequest, settings: ServiceSettings, embedder: Embedder) -> Iterator[Store]:
    """The sample articles indexed by the real Indexer into an embedded store or a real Qdrant server."""
    server: QdrantServer | None = None
    if request.param == "server":
        try:
            server = QdrantServer().__enter__()
        except QdrantUnavailable as exc:
            pytest.skip(str(exc))
        settings = settings.model_copy(update={"qdrant_url": server.url, "collection": "sentvec"})
    indexer = Indexer(settings, embedder=embedder)
    try:
        report = indexer.ingest_paths([SAMPLES])
        assert report.count("indexed") == 11 and report.sentences_embedded > 0
        yield indexer.store
    finally:
        indexer.close()
        if server is not None:
            server.close()


def _points(store: Store) -> list[StoredPoint]:
    return list(store.scan_points(with_vectors=False))


def test_stored_sentence_vectors_are_the_splitters_sentences(indexed: Store, embedder: Embedder) -> None:
    points = _points(indexed)
    assert len(points) >= 11
    checked = 0
    for point in points:
        text = str(point.payload[pl.TEXT])  # type: ignore[index]
        stored = pl.sentences_from_payload(point.payload)
        assert stored is not None
        spans = split_sentences(text)
        assert stored.spans == [(s.start, s.end) for s in spans]
        assert stored.vectors.shape == (len(spans), embedder.dim)
        # each row is the embedding of its sentence exactly as the composer would embed it (float16 storage)
        expected = embedder.encode([sentence_text(text, s) for s in spans])
        cosines = np.sum(stored.vectors * expected, axis=1)
        assert np.all(cosines > 0.999), cosines.min()
        checked += len(spans)
    assert checked > 40
    fetched = indexed.sentence_vectors([str(p.id) for p in points[:3]] + ["00000000-0000-0000-0000-000000000000"])
    assert sorted(fetched) == sorted(str(p.id) for p in points[:3])


def _pipeline(settings: ServiceSettings, store: Store, encoder: CountingEncoder) -> QuestionPipeline:
    retriever = Retriever.for_store(settings, store, encoder)
    return QuestionPipeline(retriever, ExtractiveComposer(encoder), prefer="extractive")


def test_ask_uses_stored_vectors_and_old_collections_still_answer(
    indexed: Store, settings: ServiceSettings, embedder: Embedder
) -> None:
    encoder = CountingEncoder(embedder)
    pipeline = _pipeline(settings, indexed, encoder)
    answer = pipeline.ask(Ask(QUESTION))
    assert answer.found and "Mali" in answer.answer
    assert encoder.queries == 1 and encoder.batches == []  # the query embedding is the only one
    assert pipeline.extractive.encoded == 0  # type: ignore[attr-defined]

    # the same collection as it was before sentence vectors were stored
    indexed.delete_payload(list(pl.SENTENCE_FIELDS))
    old_encoder = CountingEncoder(embedder)
    old = _pipeline(settings, indexed, old_encoder)
    again = old.ask(Ask(QUESTION))
    assert again.answer == answer.answer and [c.chunk_id for c in again.citations] == [
        c.chunk_id for c in answer.citations]
    assert abs((again.score or 0.0) - (answer.score or 0.0)) < 2e-3
    assert len(old_encoder.batches) == 1 and 0 < old_encoder.batches[0] <= 8  # the composer's own batch
    stats = Indexer(settings, store=indexed, embedder=embedder).stats()
    assert stats["chunks_without_sentence_vectors"] == stats["chunks"] > 0
    assert "rebuild" in stats["hint"]


def test_sentence_payload_round_trip_and_old_points() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = pl.sentences_from_payload(pl.sentence_payload([(0, 10), (11, 30), (31, 40)], vectors))
    assert stored is not None and stored.spans == [(0, 10), (11, 30), (31, 40)]
    assert stored.vectors.dtype == np.float32 and stored.vectors.shape == (3, 384)
    assert np.allclose(stored.vectors, vectors, atol=2e-3)
    assert pl.sentences_from_payload({pl.TEXT: "a point written before sentence vectors"}) is None
    with pytest.raises(ValueError, match="2 sentence spans but 3 vectors"):
        pl.sentence_payload([(0, 1), (2, 3)], vectors)
