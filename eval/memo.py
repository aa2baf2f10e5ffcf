"""A Qdrant client proxy that remembers single-vector searches within one eval run.

Configurations that differ only in fusion weight (or mode) send the same dense and sparse candidate searches;
the retriever stays the real one, but each (vector space, query vector, limit, filter) is searched once per
run. Anything else (Qdrant-side RRF/DBSF prefetch queries, scrolls, writes) goes to the real client.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import QdrantClient, models


def _key(using: str | None, query: Any, limit: int, flt: Any) -> str:
    return repr((using, query, limit, flt))


class MemoClient:
    def __init__(self, client: QdrantClient) -> None:
        self._client = client
        self._memo: dict[str, models.QueryResponse] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query_points(self, collection_name: str, query: Any = None, using: str | None = None, limit: int = 10,
                     query_filter: Any = None, prefetch: Any = None, **kwargs: Any) -> models.QueryResponse:
        if prefetch is not None or kwargs.get("with_payload") is not True:
            return self._client.query_points(collection_name, query=query, using=using, limit=limit,
                                             query_filter=query_filter, prefetch=prefetch, **kwargs)
        k = _key(using, query, limit, query_filter)
        if k not in self._memo:
            self._memo[k] = self._client.query_points(collection_name, query=query, using=using, limit=limit,
                                                      query_filter=query_filter, with_payload=True)
        return self._memo[k]

    def query_batch_points(self, collection_name: str, requests: list[models.QueryRequest],
                           **kwargs: Any) -> list[models.QueryResponse]:
        keys = [_key(r.using, r.query, r.limit or 10, r.filter) for r in requests]
        missing = [(k, r) for k, r in zip(keys, requests, strict=True)
                   if k not in self._memo or r.prefetch is not None or r.with_payload is not True]
        if missing:
            fresh = self._client.query_batch_points(collection_name, requests=[r for _, r in missing], **kwargs)
            for (k, _), resp in zip(missing, fresh, strict=True):
                self._memo[k] = resp
        return [self._memo[k] for k in keys]
