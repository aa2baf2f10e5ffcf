"""The extractive answer composer on the samples: answers, refusals and the citation invariants."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.answering import (
    NOT_FOUND_ANSWER,
    Answer,
    Ask,
    Citation,
    Draft,
    ExtractiveComposer,
    QuestionPipeline,
    Retrieved,
)
from service.answering.citations import verify_citations
from service.answering.types import parse_pieces, render
from service.retrieval import Hit, Retriever, SearchFilters
from service.settings import ServiceSettings
from tests.conftest import SAMPLES

MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def pipeline(base_settings: ServiceSettings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    QuestionPipeline
]:
    settings = base_settings.model_copy(update={"qdrant_path": tmp_path_factory.mktemp("answer") / "qdrant"})
    indexer = Indexer(settings, embedder=embedder)
    report = indexer.ingest_paths([SAMPLES])
    assert not report.skipped
    yield QuestionPipeline(Retriever.for_store(settings, indexer.store, embedder), ExtractiveComposer(embedder))
    indexer.close()


def ask(pipeline: QuestionPipeline, question: str, top_k: int = 8, filters: SearchFilters | None = None) -> Answer:
    return pipeline.ask(Ask(question, top_k, filters))


def compose(pipeline: QuestionPipeline, question: str, hits: list[Hit]) -> Answer:
    """The second step alone, on hand-made hits (no query vector: the composer embeds the question)."""
    return pipeline.answer(Retrieved(Ask(question), hits, None, time.perf_counter()))


def assert_invariants(result: Answer) -> None:
    """Every [n] has exactly one citation, every citation is used, quotes are verbatim and located."""
    if not result.found:
        assert result.citations == [] and result.answer == NOT_FOUND_ANSWER
        assert [(p.text, p.n) for p in result.pieces] == [(NOT_FOUND_ANSWER, None)]
        return
    used = [int(n) for n in MARKER.findall(result.answer)]
    numbers = [c.n for c in result.citations]
    assert used and len(numbers) == len(set(numbers))
    assert set(used) == set(numbers)
    # numbered in order of first use
    assert list(dict.fromkeys(used)) == list(range(1, len(numbers) + 1))
    hits = {h.chunk_id: h for h in result.hits}
    for c in result.citations:
        hit = hits[c.chunk_id]
        assert c.doc_id == hit.doc_id and c.title == hit.title and c.url == hit.url
        assert c.quote and c.quote in hit.text
        assert hit.text[c.char_start - hit.char_start : c.char_end - hit.char_start] == c.quote
        assert hit.char_start <= c.char_start < c.char_end <= hit.char_end
    by_n = {c.n: c for c in result.citations}
    pieces = [(p.text, p.n) for p in result.pieces]
    assert " ".join(f"{text} [{n}]" for text, n in pieces) == result.answer
    for text, n in pieces:
        assert n is not None and text in " ".join(by_n[n].quote.split())


QUESTIONS = [
    "How many homes will the desert solar farm supply?",
    "When did Mount Teravo last erupt?",
    "How much did the closure of the port cost local businesses?",
    "What pay rise did the rail workers accept?",
    "Where was the stolen manuscript found?",
    "How much will the library budget be?",
    "Who is the harbor master of Kestrel Bay?",
    "What did France promise Chile?",
    "What is the capital of Peru?",
    "How many residents were told to prepare for evacuation?",
    "How big is the Sol Arena plant?",
    "Who proposed doubling library funding?",
    "When does the new library budget take effect?",
    "How long did it take to build the solar farm?",
    "What sank during Storm Halvard?",
    "How much debris was cleared from the channel?",
    "Which ship docked first when the port reopened?",
    "Why were fish exporters hit hardest?",
    "When will the port return to full capacity?",
    "How many earthquakes were recorded beneath Mount Teravo?",
    "How much have gas emissions increased at the volcano?",
    "What will the drone measure over the crater?",
    "How many daily passengers would the rail strike have affected?",
    "When will union members vote on the deal?",
    "What do the new rest rules cover?",
    "How many men were arrested after the manuscript raid?",
    "When will the manuscript go back on display?",
    "How much did library visits rise last year?",
    "What will the battery system do for the solar farm?",
    "By how much will the plant cut the region's gas use?",
    "Who won the football world cup?",
    "What did the Mayor of Lisbon announce?",
    "",
    "the",
]


def test_every_answer_keeps_the_citation_invariants(pipeline: QuestionPipeline) -> None:
    results = [ask(pipeline, q) for q in QUESTIONS]
    for q, r in zip(QUESTIONS, results, strict=True):
        assert set(r.timings_ms) == {"embed", "retrieve", "compose", "total"}, q
        assert_invariants(r)
    assert sum(r.found for r in results) >= 20


def test_solar_farm_homes(pipeline: QuestionPipeline) -> None:
    r = ask(pipeline, "How many homes will the desert solar farm supply?")
    assert r.found and "90,000 homes" in r.answer
    assert [c.doc_id for c in r.citations] == ["solar-farm.html"]
    cited = r.citations[0]
    assert "90,000 homes" in cited.quote and cited.title.startswith("Desert solar farm")
    assert_invariants(r)


@pytest.mark.parametrize(
    ("question", "doc_id", "fact"),
    [
        ("When did Mount Teravo last erupt?", "volcano-alert.txt", "1998"),
        ("How much did the closure of the port cost local businesses?", "harbor-reopens.md", "12 million euros"),
        ("What pay rise did the rail workers accept?", "wire-rail-strike", "6.5 percent"),
        ("How much did library visits rise last year?", "library-funding.md", "18 percent"),
    ],
)
def test_answers_cite_the_article_holding_the_fact(
    pipeline: QuestionPipeline, question: str, doc_id: str, fact: str
) -> None:
    r = ask(pipeline, question)
    assert r.found and fact in r.answer
    assert any(c.doc_id == doc_id and fact in c.quote for c in r.citations)
    assert_invariants(r)


@pytest.mark.parametrize(
    "question",
    ["What did France promise Chile?", "What is the capital of Peru?", "Who won the football world cup?",
     "What did the Mayor of Lisbon announce?"],
)
def test_nothing_relevant_is_not_found(pipeline: QuestionPipeline, question: str) -> None:
    r = ask(pipeline, question)
    assert not r.found and r.answer == NOT_FOUND_ANSWER and r.citations == []
    assert r.hits  # there were chunks; none answered


def test_filters_reach_retrieval(pipeline: QuestionPipeline) -> None:
    r = ask(pipeline, "How many homes will the desert solar farm supply?",
            filters=SearchFilters(doc_id=["volcano-alert.txt"]))
    assert all(h.doc_id == "volcano-alert.txt" for h in r.hits)
    assert "90,000" not in r.answer


def test_same_chunk_gets_one_number(pipeline: QuestionPipeline) -> None:
    r = ask(pipeline, "What was found in the raid and will the manuscript be restored?")
    assert r.found
    assert len({c.chunk_id for c in r.citations}) == len(r.citations)
    assert_invariants(r)


def test_compose_without_hits_or_query_vector(pipeline: QuestionPipeline) -> None:
    r = compose(pipeline, "How many homes will the solar farm supply?", [])
    assert not r.found and r.citations == [] and r.answer == NOT_FOUND_ANSWER


def _hit(text: str, char_start: int = 100) -> Hit:
    return Hit(doc_id="d", chunk_id="d#1", score=1.0, title="T", url=None, source=None, published_at=None,
               text=text, char_start=char_start, char_end=char_start + len(text))


def test_compose_locates_quotes_in_the_article(pipeline: QuestionPipeline) -> None:
    text = ("Intro line here about nothing much at all.\n\nThe Kestrel ferry will carry 420 passengers "
            "from May onwards, the operator said.")
    hit = _hit(text, char_start=500)
    r = compose(pipeline, "How many passengers will the Kestrel ferry carry?", [hit])
    assert r.found and "420 passengers" in r.answer
    c = r.citations[0]
    assert text[c.char_start - 500 : c.char_end - 500] == c.quote
    assert_invariants(r)


def _verify(answer: str, citations: list[Citation], hits: list[Hit]) -> tuple[str, list[Citation]]:
    checked = verify_citations(Draft(parse_pieces(answer), citations), hits)
    return render(checked.pieces), checked.citations


def test_verify_drops_bad_citations_with_their_sentences(pipeline: QuestionPipeline) -> None:
    r = ask(pipeline, "How many homes will the desert solar farm supply?")
    assert r.found
    good = r.citations[0]
    # a quote that is not in the chunk, a wrong offset, an unknown chunk: all dropped with their sentences
    for bad in (replace(good, quote=good.quote + " Invented."), replace(good, char_start=good.char_start + 1,
                char_end=good.char_end + 1), replace(good, chunk_id="nope#0")):
        answer, cites = _verify(r.answer, [bad], r.hits)
        assert answer == "" and cites == []
    # an unused citation is dropped; a marker without citation loses its sentence; numbers are compacted
    extra = replace(good, n=7)
    answer, cites = _verify(r.answer + " Made up sentence [3]", [*r.citations, extra], r.hits)
    assert answer == r.answer and cites == r.citations
    # duplicate numbers are ambiguous: dropped
    answer, cites = _verify(r.answer, [good, replace(good)], r.hits)
    assert answer == "" and cites == []
    # renumbering after a drop: [2] becomes [1]
    answer, cites = _verify(r.answer.replace("[1]", "[2]"), [replace(good, n=2)], r.hits)
    assert answer == r.answer and cites == [good]
