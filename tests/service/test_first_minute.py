"""The first minute: right after indexing samples/, the README's first question gets its cited answer.

The Mali articles in samples/ were written for the project from the facts of the seed story (and related
events on other dates); the answer must give Russia's promises and cite the visit article for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer.articles import Article
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.readers import discover, read_sources
from service.answering import Answer, Ask, ExtractiveComposer, QuestionPipeline
from service.retrieval import Retriever
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.service.test_answer import assert_invariants

VISIT = "mali-lavrov-visit.md"


@pytest.fixture(scope="module")
def pipeline(base_settings: ServiceSettings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[QuestionPipeline]:
    settings = base_settings.model_copy(update={"qdrant_path": tmp_path_factory.mktemp("first") / "qdrant"})
    indexer = Indexer(settings, embedder=embedder)
    report = indexer.ingest_paths([SAMPLES])
    assert not report.skipped
    yield QuestionPipeline(Retriever.for_store(settings, indexer.store, embedder), ExtractiveComposer(embedder))
    indexer.close()


def ask(pipeline: QuestionPipeline, question: str) -> Answer:
    return pipeline.ask(Ask(question))


def test_what_did_russia_promise_mali(pipeline: QuestionPipeline) -> None:
    r = ask(pipeline, "What did Russia promise Mali?")
    assert r.found, r.answer
    assert_invariants(r)
    visit = [c for c in r.citations if c.doc_id == VISIT]
    assert visit, [c.doc_id for c in r.citations]
    quote = " ".join(c.quote for c in visit)
    assert "military capabilities" in quote
    assert all(w in quote for w in ("wheat", "fertilizers", "petroleum products"))
    assert visit[0].url and visit[0].url.startswith("https://example.org/")
    assert visit[0].published_at == "2023-02-07T00:00:00Z"


@pytest.mark.parametrize(
    ("question", "doc_id", "fact"),
    [
        ("When did the last French troops leave Mali?", "mali-french-withdrawal.html", "Niger"),
        ("How much grain did Putin offer each African country?", "sahel-russia-africa-grain", "50,000 tonnes"),
        ("What did UN experts call for in Mali?", "sahel-un-experts-wagner", "independent investigation"),
    ],
)
def test_the_related_pieces_answer_their_own_questions(
    pipeline: QuestionPipeline, question: str, doc_id: str, fact: str
) -> None:
    r = ask(pipeline, question)
    assert r.found and any(c.doc_id == doc_id and fact in c.quote for c in r.citations), r.answer
    assert_invariants(r)


def test_the_mali_pieces_carry_their_dates_and_sources() -> None:
    """Two articles on one topic a year apart (the recency tests need them), every piece dated and sourced."""
    files, _ = discover([SAMPLES])
    articles = {a.doc_id: a for a in read_sources(files) if isinstance(a, Article)}
    mali = {d: a for d, a in articles.items() if d.startswith(("mali-", "sahel-"))}
    assert {d: (a.published_at or "")[:10] for d, a in mali.items()} == {
        "mali-french-withdrawal.html": "2022-08-15",
        "sahel-un-experts-wagner": "2023-01-31",
        "mali-lavrov-visit.md": "2023-02-07",
        "sahel-russia-africa-grain": "2023-07-27",
        "mali-one-year-on.txt": "2024-02-07",
    }
    assert all(a.source and a.url and a.url.startswith("https://example.org/") for a in mali.values())
