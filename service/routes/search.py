"""POST /v1/search: ranked chunks with their offsets in the article text."""

from __future__ import annotations

import time

from litestar import Controller, post

from service.errors import FieldError
from service.metrics import observe_search
from service.retrieval import Retriever
from service.schemas import SearchRequest, SearchResponse, too_long
from service.settings import ServiceSettings
from service.timing import ms_since


class SearchController(Controller):
    path = "/search"
    tags = ("query",)

    @post(sync_to_thread=True, status_code=200, summary="Search passages (hybrid, dense or BM25)")
    def search(self, data: SearchRequest, retriever: Retriever, settings: ServiceSettings) -> SearchResponse:
        if message := too_long("query", data.query, settings.max_question_chars):
            raise FieldError("query", message)
        t0 = time.perf_counter()
        filters = data.filters.to_search() if data.filters else None
        result = retriever.search(data.query.strip(), limit=data.limit, mode=data.mode, filters=filters,
                                  collapse=data.collapse, recency=data.recency, as_of=data.as_of_time())
        observe_search(result.timings_ms)
        return SearchResponse.from_result(result, ms_since(t0))
