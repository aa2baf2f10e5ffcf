"""POST /v1/ask: an extractive answer with numbered citations (composed by service.answer)."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, post

from service.errors import FieldError, ServiceUnavailable
from service.routes import collection_missing, get_state
from service.schemas import AskRequest, AskResponse, CitationOut

TIMING_KEYS = ("embed", "retrieve", "compose", "total")


class AskController(Controller):
    path = "/ask"
    tags = ("query",)

    @post(sync_to_thread=True, status_code=200, summary="Answer a question with cited passages")
    def ask(self, request: Request[Any, Any, Any], data: AskRequest) -> AskResponse:
        state = get_state(request)
        limit = state.settings.max_question_chars
        if len(data.question) > limit:
            raise FieldError("question", f"longer than {limit} characters ({len(data.question)})")
        if data.stream:  # Server-Sent Events (service.streaming)
            from service.streaming import ask_stream
            return ask_stream(state, data)  # type: ignore[return-value]
        try:
            from service.answer import ask  # imported here so the rest of the API works without the composer
        except ImportError as exc:
            raise ServiceUnavailable("the answer composer (service.answer) is not installed") from exc

        t0 = time.perf_counter()
        filters = data.filters.to_search() if data.filters else None
        try:
            composed = ask(state.retriever, data.question, top_k=data.top_k, filters=filters)
        except Exception:
            if collection_missing(state):
                return AskResponse(answer="", citations=[], found=False,
                                   timings_ms={k: 0.0 for k in TIMING_KEYS} | {"total": _ms(t0)})
            raise
        timings = {k: 0.0 for k in TIMING_KEYS} | dict(composed.timings_ms)
        timings["total"] = max(float(timings.get("total") or 0.0), _ms(t0))
        citations = [
            CitationOut(
                n=c.n, doc_id=c.doc_id, chunk_id=c.chunk_id, title=c.title, url=c.url, source=c.source,
                published_at=c.published_at, quote=c.quote, char_start=c.char_start, char_end=c.char_end,
            )
            for c in composed.citations
        ]
        return AskResponse(answer=composed.answer, citations=citations, found=composed.found, timings_ms=timings)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
