"""POST /v1/search: ranked chunks with their offsets in the article text."""

from __future__ import annotations

import time

from litestar import Controller, post

from service.retrieval import Retriever
from service.schemas import SearchRequest, SearchResponse
from service.timing import ms_since


class SearchController(Controller):
    path = "/search"
    tags = ("query",)

    @post(sync_to_thread=True, status_code=200, summary="Search passages (hybrid, dense or BM25)")
    def search(self, data: SearchRequest, retriever: Retriever) -> SearchResponse:
        t0 = time.perf_counter()
        filters = data.filters.to_search() if data.filters else None
        result = retriever.search(data.query, limit=data.limit, mode=data.mode, filters=filters, collapse=data.collapse)
        return SearchResponse.from_result(result, ms_since(t0))
