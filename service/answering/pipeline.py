"""The one question pipeline: retrieve, compose, verify, time. Every question path calls it: JSON and SSE
``/v1/ask``, ``/v1/chat/completions`` (streamed or not), and ``eval/``.

It runs in two steps, :meth:`QuestionPipeline.retrieve` then :meth:`QuestionPipeline.answer`, so that a stream
can send the sources before the answer is composed; :meth:`QuestionPipeline.ask` runs both. A composer only
proposes a :class:`~service.answering.types.Draft`; the pipeline verifies it (``verify_citations``) and turns
an answer without a surviving citation into the not-found answer, whoever composed it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from indexer.payload import Hit
from service.answering.citations import verify_citations
from service.answering.types import NOT_FOUND_ANSWER, Answer, AnswerPiece, Draft, render
from service.retrieval import Retriever, SearchFilters
from service.timing import STAGES, ms_since

DEFAULT_TOP_K = 8


class Composer(Protocol):
    """Writes a cited draft from the retrieved passages (extractive today; a language model next)."""

    name: str

    def compose(self, question: str, hits: list[Hit], query_vector: list[float] | None = None) -> Draft: ...


@dataclass(frozen=True, slots=True)
class Ask:
    """One question as every path states it."""

    question: str
    top_k: int = DEFAULT_TOP_K
    filters: SearchFilters | None = None


@dataclass(slots=True)
class Retrieved:
    """The first step's result: the passages, the query vector (reused by composers) and the timings so far."""

    ask: Ask
    hits: list[Hit]
    query_vector: list[float] | None
    started: float
    timings_ms: dict[str, float] = field(default_factory=dict)


class QuestionPipeline:
    def __init__(self, retriever: Retriever, composer: Composer) -> None:
        self.retriever = retriever
        self.composer = composer

    def retrieve(self, ask: Ask) -> Retrieved:
        """Hybrid retrieval of ``ask.top_k`` passages (none for a blank question or an empty collection)."""
        t0 = time.perf_counter()
        if not ask.question.strip():
            return Retrieved(ask, [], None, t0)
        result = self.retriever.search(ask.question, limit=ask.top_k, filters=ask.filters)
        return Retrieved(ask, result.hits, result.query_vector, t0, dict(result.timings_ms))

    def answer(self, got: Retrieved) -> Answer:
        """Compose, verify and time the answer to a retrieved question."""
        t0 = time.perf_counter()
        draft = self.composer.compose(got.ask.question, got.hits, got.query_vector) if got.hits else Draft([], [])
        checked = verify_citations(draft, got.hits)
        timings = dict.fromkeys(STAGES, 0.0) | got.timings_ms | {"compose": ms_since(t0)}
        timings["total"] = ms_since(got.started)
        if not checked.citations:
            return Answer(NOT_FOUND_ANSWER, [], False, timings, got.hits, [AnswerPiece(NOT_FOUND_ANSWER, None)],
                          draft.score, self.composer.name)
        return Answer(render(checked.pieces), checked.citations, True, timings, got.hits, checked.pieces,
                      draft.score, self.composer.name)

    def ask(self, ask: Ask) -> Answer:
        return self.answer(self.retrieve(ask))
