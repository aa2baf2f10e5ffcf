"""Adaptive hybrid fusion: the dense weight follows how the dense side's best chunks spread over documents."""

from __future__ import annotations

import pytest

from indexer.articles import article_from_record
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.retrieval import Retriever
from service.retrieval.fusion import ADAPTIVE_DEPTH, adaptive_dense_weight
from service.settings import ServiceSettings

SHORT_NEWS = [
    ("Volcano alert raised in Iceland", "Authorities raised the alert level for the Reykjanes volcano on Monday."),
    ("Rail strike ends", "Train drivers accepted a pay deal that ends a six-month rail strike."),
    ("Museum theft", "Police recovered a medieval manuscript stolen from the city museum."),
    ("Solar farm approved", "The council approved a solar farm that will supply 20,000 homes."),
    ("Library hours", "The library will open on Sundays after the budget vote."),
    ("Flood warning", "Heavy rain brought flood warnings to three river valleys."),
    ("Airline refunds", "The airline will refund passengers stranded by its holiday meltdown."),
    ("Chess champion", "A 19-year-old won the national chess championship in Leeds."),
    ("Bridge closure", "The old bridge closes for repairs until the end of March."),
    ("Vaccine rollout", "Pharmacies begin offering the updated vaccine next week."),
    ("Wildfire contained", "Firefighters contained the wildfire after ten days."),
    ("Stadium plan", "The club unveiled plans for a 60,000-seat stadium."),
]


@pytest.mark.parametrize(
    ("doc_ids", "expected"),
    [
        (["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], 0.8),  # ten articles: dense separates passages
        (["a", "a", "b", "c", "d", "e", "f", "g", "h", "i"], 0.5),  # one repeat: half way
        (["a", "a", "b", "b", "c", "d", "e", "f", "g", "h"], 0.2),  # two repeats: BM25 leads
        (["a", "a", "a", "a", "a", "b", "b", "b", "c", "c"], 0.2),
        (["a"], 0.8),
        ([], 0.8),
    ],
)
def test_adaptive_weight_falls_as_dense_candidates_crowd_into_few_articles(doc_ids: list[str],
                                                                           expected: float) -> None:
    assert adaptive_dense_weight(doc_ids, high=0.8, low=0.2) == pytest.approx(expected)


def _dense_doc_ids(retriever: Retriever, question: str) -> list[str]:
    return [h.doc_id for h in retriever.search(question, limit=ADAPTIVE_DEPTH, mode="dense").hits]


def _assert_adaptive_is_weighted_with(retriever: Retriever, question: str, weight: float) -> None:
    adaptive = retriever.search(question, limit=10, fusion="adaptive").hits
    fixed = retriever.search(question, limit=10, fusion="weighted", dense_weight=weight).hits
    assert [(h.chunk_id, round(h.score, 6)) for h in adaptive] == [(h.chunk_id, round(h.score, 6)) for h in fixed]


@pytest.fixture
def samples_retriever(settings: ServiceSettings, embedder: Embedder, samples_dir) -> Retriever:  # type: ignore[no-untyped-def]
    indexer = Indexer(settings, embedder=embedder)
    indexer.ingest_paths([samples_dir])
    return Retriever.for_store(settings, indexer.store, embedder)


def test_long_articles_make_adaptive_fusion_lean_on_bm25(settings: ServiceSettings, embedder: Embedder) -> None:
    indexer = Indexer(settings, embedder=embedder)
    # three long articles of several chunks each: the dense top 10 can hold at most three documents
    indexer.ingest([article_from_record({
        "id": f"long{i}", "title": title,
        "text": " ".join(f"{text} Update {k}: officials said more details would follow on day {k}."
                         for k in range(40)),
    }) for i, (title, text) in enumerate(SHORT_NEWS[:3])])
    retriever = Retriever.for_store(settings, indexer.store, embedder)
    question = "When was the volcano alert raised?"
    docs = _dense_doc_ids(retriever, question)
    assert len(docs) == ADAPTIVE_DEPTH and len(set(docs)) <= 3
    _assert_adaptive_is_weighted_with(retriever, question, settings.dense_weight_same_article)


def test_distinct_short_passages_make_adaptive_fusion_lean_on_dense(settings: ServiceSettings,
                                                                    embedder: Embedder) -> None:
    indexer = Indexer(settings, embedder=embedder)
    indexer.ingest([article_from_record({"id": f"n{i}", "title": t, "text": x})
                    for i, (t, x) in enumerate(SHORT_NEWS)])
    retriever = Retriever.for_store(settings, indexer.store, embedder)
    question = "Which passengers will the airline refund?"
    assert len(set(_dense_doc_ids(retriever, question))) == ADAPTIVE_DEPTH
    _assert_adaptive_is_weighted_with(retriever, question, settings.dense_weight)
    assert retriever.search(question, limit=1).hits[0].doc_id == "n6"


def test_an_explicit_dense_weight_overrides_the_adaptive_rule(samples_retriever: Retriever) -> None:
    question = "volcano alert level raised"
    explicit = samples_retriever.search(question, limit=10, fusion="adaptive", dense_weight=1.0).hits
    dense = samples_retriever.search(question, limit=10, mode="dense").hits
    assert [h.chunk_id for h in explicit] == [h.chunk_id for h in dense]
