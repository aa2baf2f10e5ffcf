"""POST /v1/search: ranked chunks with their offsets in the article text."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, post

from service.routes import collection_missing, get_state
from service.schemas import HitOut, SearchRequest, SearchResponse


class SearchController(Controller):
    path = "/search"
    tags = ("query",)

    @post(sync_to_thread=True, status_code=200, summary="Search passages (hybrid, dense or BM25)")
    def search(self, request: Request[Any, Any, Any], data: SearchRequest) -> SearchResponse:
        state = get_state(request)
        t0 = time.perf_counter()
        filters = data.filters.to_search() if data.filters else None
        try:
            result = state.retriever.search(
                data.query, limit=data.limit, mode=data.mode, filters=filters, collapse=data.collapse
            )
        except Exception:
            if collection_missing(state):  # nothing indexed yet: an empty result, not an error
                return SearchResponse(hits=[], timings_ms={"total": _ms(t0)})
            raise
        hits = [
            HitOut(
                doc_id=h.doc_id, chunk_id=h.chunk_id, score=round(h.score, 6), title=h.title, url=h.url,
                source=h.source, published_at=h.published_at, text=h.text, char_start=h.char_start,
                char_end=h.char_end,
            )
            for h in result.hits
        ]
        timings = dict(result.timings_ms)
        timings["total"] = _ms(t0)
        return SearchResponse(hits=hits, timings_ms=timings)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)
