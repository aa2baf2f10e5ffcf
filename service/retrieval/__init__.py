"""Passage retrieval: the retriever and its fusion and recency arithmetic."""

from indexer.payload import Hit
from service.retrieval.retriever import Mode, Retriever, SearchFilters, SearchResult, collapse_by_document

__all__ = ["Hit", "Mode", "Retriever", "SearchFilters", "SearchResult", "collapse_by_document"]
