"""Streamed answers: ``POST /v1/ask`` with ``"stream": true`` as Server-Sent Events, and the shared pipeline.

Event sequence (each ``data`` is one JSON object)::

    event: sources   data: {"passages": [HitOut, ...]}            the retrieved chunks, best first
    event: delta     data: {"text": "sentence [n]"}               answer pieces; concatenated they are ``answer``
    event: done      data: {"answer", "citations", "found", "timings_ms"}   as the non-streaming AskResponse
    event: error     data: {"error", "message"}                   instead of ``done`` when composing failed

Retrieval and composition run in worker threads, between events, so ``sources`` reaches the client before
the answer is composed. Litestar cancels the response task when the client disconnects; the generator then
stops at its next checkpoint (after the thread it is waiting for returns), sends nothing more and logs
``stream stopped: client disconnected``. The citations of ``done`` are the composer's verified ones
(``service.answer.compose`` runs ``verify_citations``), so they obey the non-streaming invariants.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
from litestar.response import Stream

from service.answer import ComposedAnswer, compose, not_found
from service.retrieval import Hit, SearchFilters
from service.schemas import AskRequest, CitationOut, HitOut
from service.state import AppState

log = logging.getLogger("newsdesk.stream")

SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no"}
"""Content type set as a header: Litestar gives the handler's media type (JSON) precedence over the Stream's."""
TIMING_KEYS = ("embed", "retrieve", "compose", "total")


# --- the pipeline, step by step (shared with the OpenAI-compatible chat route) -----------------------------------
@dataclass(slots=True)
class Retrieved:
    hits: list[Hit]
    query_vector: list[float] | None
    timings_ms: dict[str, float]


async def retrieve(state: AppState, question: str, top_k: int, filters: SearchFilters | None) -> Retrieved:
    """Hybrid retrieval in a worker thread; an empty result when nothing has been indexed yet."""
    try:
        result = await anyio.to_thread.run_sync(
            partial(state.retriever.search, question, limit=top_k, filters=filters)
        )
    except Exception:
        exists = await anyio.to_thread.run_sync(_collection_exists, state)
        if exists:
            raise
        return Retrieved([], None, {})
    return Retrieved(result.hits, result.query_vector, dict(result.timings_ms))


def _collection_exists(state: AppState) -> bool:
    try:
        return bool(state.client.collection_exists(state.settings.collection))
    except Exception:
        return True  # unknown: let the original error surface


async def compose_answer(state: AppState, question: str, got: Retrieved, t0: float) -> ComposedAnswer:
    """Compose (worker thread) and fill the same timing keys as the non-streaming answer."""
    if got.hits:
        composed = await anyio.to_thread.run_sync(
            compose, question, got.hits, state.retriever.embedder, got.query_vector
        )
    else:
        composed = not_found([], {"compose": 0.0})
    composed.timings_ms = {k: 0.0 for k in TIMING_KEYS} | {
        "embed": got.timings_ms.get("embed", 0.0),
        "retrieve": got.timings_ms.get("retrieve", 0.0),
        "compose": composed.timings_ms.get("compose", 0.0),
        "total": _ms(t0),
    }
    return composed


def answer_pieces(composed: ComposedAnswer) -> Iterator[str]:
    """The answer sentence by sentence with its ``[n]``; the pieces concatenate to ``composed.answer``."""
    if not composed.found:
        yield composed.answer
        return
    for i, (text, n) in enumerate(composed.sentences()):
        yield ("" if i == 0 else " ") + (f"{text} [{n}]" if n is not None else text)


def hit_out(h: Hit) -> HitOut:
    return HitOut(
        doc_id=h.doc_id, chunk_id=h.chunk_id, score=round(h.score, 6), title=h.title, url=h.url, source=h.source,
        published_at=h.published_at, text=h.text, char_start=h.char_start, char_end=h.char_end,
    )


def citations_out(composed: ComposedAnswer) -> list[CitationOut]:
    return [
        CitationOut(
            n=c.n, doc_id=c.doc_id, chunk_id=c.chunk_id, title=c.title, url=c.url, source=c.source,
            published_at=c.published_at, quote=c.quote, char_start=c.char_start, char_end=c.char_end,
        )
        for c in composed.citations
    ]


# --- Server-Sent Events ---------------------------------------------------------------------------------------
def sse(event: str, data: Any) -> bytes:
    """One SSE event; ``data`` as compact JSON on one line (JSON never holds a raw newline)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def ask_events(state: AppState, req: AskRequest) -> AsyncIterator[bytes]:
    """The SSE body of a streamed ``/v1/ask``; stops (and logs) when the client goes away."""
    t0 = time.perf_counter()
    filters = req.filters.to_search() if req.filters else None
    sent = 0
    try:
        got = await retrieve(state, req.question, req.top_k, filters)
        yield sse("sources", {"passages": [hit_out(h).model_dump(mode="json") for h in got.hits]})
        sent += 1
        try:
            composed = await compose_answer(state, req.question, got, t0)
        except Exception as exc:
            log.exception("streamed answer failed")
            yield sse("error", {"error": "internal", "message": f"composing the answer failed ({type(exc).__name__})"})
            return
        for piece in answer_pieces(composed):
            await anyio.sleep(0)  # checkpoint: a disconnected client cancels us here, between pieces
            yield sse("delta", {"text": piece})
            sent += 1
        composed.timings_ms["total"] = _ms(t0)
        yield sse("done", {
            "answer": composed.answer,
            "citations": [c.model_dump(mode="json") for c in citations_out(composed)],
            "found": composed.found,
            "timings_ms": composed.timings_ms,
        })
        sent += 1
        log.info("stream done", extra={"events": sent, "found": composed.found, "ms": _ms(t0)})
    except (anyio.get_cancelled_exc_class(), GeneratorExit):
        log.info("stream stopped: client disconnected", extra={"events": sent, "ms": _ms(t0)})
        raise


def ask_stream(state: AppState, req: AskRequest) -> Stream:
    """The response the ask controller returns for ``"stream": true``."""
    return Stream(ask_events(state, req), media_type="text/event-stream", headers=SSE_HEADERS)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
