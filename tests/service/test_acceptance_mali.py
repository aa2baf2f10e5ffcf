"""Acceptance: "What did Russia promise Mali?" over the seed article and its hard distractors.

The corpus (tests/service/acceptance_corpus.py) is the Reuters seed article, every news-rtqa-2023 article
mentioning Mali, Wagner or Lavrov, and 40 random others. The answer must give both promises (keep helping
Mali's army improve its military capabilities; start delivering wheat, fertilizers and petroleum products)
and cite the seed article for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from indexer.embedding import Embedder
from service.answering import Answer, Ask, QuestionPipeline
from service.settings import ServiceSettings
from tests.service.acceptance_corpus import QUESTION, AcceptanceCorpus, index_acceptance_corpus
from tests.service.helpers import ServerThread
from tests.service.test_answer import assert_invariants


@pytest.fixture(scope="module")
def served(
    shared_data: Path, base_settings: ServiceSettings, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerThread, AcceptanceCorpus]]:
    """The corpus indexed by the real indexer, then served by the real app over HTTP (one store, one process)."""
    work = tmp_path_factory.mktemp("mali")
    settings = base_settings.model_copy(update={"qdrant_path": work / "qdrant"})
    indexer, corpus = index_acceptance_corpus(settings, embedder, shared_data, work / "corpus")
    indexer.close()  # the embedded store admits one client: hand it to the service
    with ServerThread(settings, embedder) as server:
        yield server, corpus


@pytest.fixture(scope="module")
def mali(served: tuple[ServerThread, AcceptanceCorpus]) -> tuple[QuestionPipeline, AcceptanceCorpus]:
    """The running service's own question pipeline, called in-process."""
    server, corpus = served
    return server.server.config.app.state.newsdesk.pipeline, corpus


def ask(pipeline: QuestionPipeline, question: str) -> Answer:
    return pipeline.ask(Ask(question))


def test_russia_promise_mali_over_http(served: tuple[ServerThread, AcceptanceCorpus]) -> None:
    server, corpus = served
    response = httpx.post(f"{server.url}/v1/ask", json={"question": QUESTION}, timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert body["found"] is True
    answer = body["answer"]
    assert "military capabilities" in answer
    assert all(w in answer for w in ("wheat", "fertilizers", "petroleum products"))
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    assert markers == {c["n"] for c in body["citations"]}
    seed = [c for c in body["citations"] if c["doc_id"] == corpus.seed_doc_id]
    assert seed, body["citations"]
    quotes = {c["n"]: c["quote"] for c in body["citations"]}
    for sentence, n in re.findall(r"\s*(.+?)\s*\[(\d+)\]", answer):
        assert sentence in quotes[int(n)]  # every cited sentence is verbatim in the passage it cites
    for c in body["citations"]:
        assert c["title"] and c["char_end"] - c["char_start"] == len(c["quote"])


def test_russia_promise_mali(mali: tuple[QuestionPipeline, AcceptanceCorpus]) -> None:
    pipeline, corpus = mali
    assert len(corpus.distractor_ids) >= 5  # the hard part: other articles about Mali, Wagner, Lavrov
    r = ask(pipeline, QUESTION)
    assert r.found
    assert_invariants(r)
    by_n = {c.n: c for c in r.citations}
    pieces = [(p.text, p.n) for p in r.pieces]
    military = [n for text, n in pieces if re.search(r"(support|help)\w*\b.*\bMali", text)
                and "military capabilities" in text]
    supplies = [n for text, n in pieces if all(w in text for w in ("wheat", "fertilizers", "petroleum products"))]
    assert military, r.answer
    assert supplies, r.answer
    for n in military + supplies:
        assert n is not None and by_n[n].doc_id == corpus.seed_doc_id
        assert by_n[n].title.startswith("Russia")


@pytest.mark.parametrize("question", ["What did France promise Chile?", "What did Russia promise Peru?"])
def test_no_answer_from_another_country(mali: tuple[QuestionPipeline, AcceptanceCorpus], question: str) -> None:
    pipeline, _ = mali
    r = ask(pipeline, question)
    assert not r.found and r.citations == [], r.answer


def test_many_questions_keep_the_invariants(mali: tuple[QuestionPipeline, AcceptanceCorpus], shared_data: Path) -> None:
    """The news-rtqa quiz questions (a fixed slice) over this corpus: found or not, every answer is sound."""
    import json

    with (shared_data / "news-rtqa-2023" / "queries.jsonl").open(encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    pipeline, _ = mali
    for q in queries[:40]:
        assert_invariants(ask(pipeline, q["text"]))
