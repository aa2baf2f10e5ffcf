"""The one question pipeline: retrieve, compose, verify, time. Every question path calls it: JSON and SSE
``/v1/ask``, ``/v1/chat/completions`` (streamed or not), and ``eval/``.

Before composing, the retrieved chunks' sentence vectors (stored at ingest) are attached to the hits in one
store call, so the extractive composer's only per-request embedding is the query's, done for retrieval.

It runs in two steps, :meth:`QuestionPipeline.retrieve` then :meth:`QuestionPipeline.answer`, so that a stream
can send the sources before the answer is composed; :meth:`QuestionPipeline.ask` runs both. A composer only
proposes a :class:`~service.answering.types.Draft`; the pipeline verifies it (``verify_citations``) and turns
an answer without a surviving citation into the not-found answer, whoever composed it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from indexer.payload import Hit
from service.answering.citations import SupportCheck, verify_citations
from service.answering.followup import Rewrite, standalone_query
from service.answering.types import NOT_FOUND_ANSWER, Answer, AnswerPiece, Draft, render
from service.retrieval import Retriever, SearchFilters
from service.settings import ComposerName
from service.timing import STAGES, ms_since

TokenSink = Callable[[str], None]

DEFAULT_TOP_K = 8


class Rewriter(Protocol):
    def rewrite(self, turns: list[str]) -> Rewrite: ...


class Composer(Protocol):
    """Writes a cited draft from the retrieved passages: ``ExtractiveComposer`` (no model) or
    ``GeneratedComposer`` (a language model). ``on_token`` receives a generating composer's raw tokens."""

    name: str

    def compose(self, question: str, hits: list[Hit], query_vector: list[float] | None = None,
                on_token: TokenSink | None = None) -> Draft: ...


@dataclass(frozen=True, slots=True)
class Ask:
    """One question as every path states it."""

    question: str
    top_k: int = DEFAULT_TOP_K
    filters: SearchFilters | None = None
    composer: ComposerName | None = None
    """None: the service's setting (``NEWSDESK_COMPOSER``)."""
    recency: str | None = None
    """'off', a half-life ('30d') or None/'auto' (see ``service.retrieval.recency``)."""
    as_of: datetime | None = None


@dataclass(slots=True)
class Retrieved:
    """The first step's result: the passages, the query vector (reused by composers) and the timings so far."""

    ask: Ask
    hits: list[Hit]
    query_vector: list[float] | None
    started: float
    timings_ms: dict[str, float] = field(default_factory=dict)


class QuestionPipeline:
    """``extractive`` always exists; ``generated`` when a language model is configured. ``prefer`` is the
    default choice (``auto``: the model when there is one). ``support`` lets the verifier accept generated
    sentences that paraphrase their quote."""

    def __init__(self, retriever: Retriever, extractive: Composer, generated: Composer | None = None,
                 prefer: ComposerName = "auto", support: SupportCheck | None = None,
                 rewriter: Rewriter | None = None) -> None:
        self.retriever = retriever
        self.extractive = extractive
        self.generated = generated
        self.prefer = prefer
        self.support = support
        self.rewriter = rewriter

    def standalone(self, turns: list[str]) -> Rewrite:
        """The last of a conversation's user turns as a standalone query: by the model when one is configured
        (``service.answering.rewrite``), else by carrying the earlier turns' subject (``followup``)."""
        return self.rewriter.rewrite(turns) if self.rewriter else standalone_query(turns)

    def composer_for(self, ask: Ask) -> tuple[Composer, str | None]:
        """The composer for this question, and why it is not the one asked for (None when it is)."""
        choice = ask.composer or self.prefer
        if choice == "extractive":
            return self.extractive, None
        if self.generated is None:
            return self.extractive, "llm_not_configured" if choice == "llm" else None
        return self.generated, None

    def retrieve(self, ask: Ask) -> Retrieved:
        """Hybrid retrieval of ``ask.top_k`` passages (none for a blank question or an empty collection)."""
        t0 = time.perf_counter()
        if not ask.question.strip():
            return Retrieved(ask, [], None, t0)
        result = self.retriever.search(ask.question, limit=ask.top_k, filters=ask.filters, recency=ask.recency,
                                       as_of=ask.as_of)
        return Retrieved(ask, result.hits, result.query_vector, t0, dict(result.timings_ms))

    def answer(self, got: Retrieved, on_token: TokenSink | None = None) -> Answer:
        """Compose, verify and time the answer to a retrieved question."""
        t0 = time.perf_counter()
        composer, reason = self.composer_for(got.ask)
        if got.hits:
            # the chunks' sentence vectors, stored at ingest: the composer then embeds no sentence itself
            self.retriever.attach_sentences(got.hits)
            draft = composer.compose(got.ask.question, got.hits, got.query_vector, on_token)
        else:
            draft = Draft([], [], composer=composer.name)
        draft.fallback_reason = draft.fallback_reason or reason
        checked = verify_citations(draft, got.hits, self.support)
        timings = dict.fromkeys(STAGES, 0.0) | got.timings_ms | {"compose": ms_since(t0)}
        timings["total"] = ms_since(got.started)
        found = bool(checked.citations)
        pieces = checked.pieces if found else [AnswerPiece(NOT_FOUND_ANSWER, None)]
        return Answer(render(pieces), checked.citations, found, timings, got.hits, pieces, draft.score,
                      checked.composer, checked.fallback_reason, checked.verification)

    def ask(self, ask: Ask, on_token: TokenSink | None = None) -> Answer:
        return self.answer(self.retrieve(ask), on_token)
