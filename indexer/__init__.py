"""Newsdesk indexer: articles to chunks, vectors and a Qdrant collection."""
