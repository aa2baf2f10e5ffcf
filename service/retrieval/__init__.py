"""Passage retrieval: the retriever, its fusion arithmetic and the embedded store's in-memory index."""

from indexer.payload import Hit
from service.retrieval.retriever import Mode, Retriever, SearchFilters, SearchResult, collapse_by_document

__all__ = ["Hit", "Mode", "Retriever", "SearchFilters", "SearchResult", "collapse_by_document"]
