"""Request and response bodies of the HTTP API (pydantic; the OpenAPI schema at /schema is built from these).

Field names are a contract with tools outside the project. Unknown fields in search/ask bodies are rejected
(400 naming the field) rather than silently ignored, so a typo such as ``"limt"`` does not pass unnoticed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.retrieval import SearchFilters


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Filters(_Strict):
    source: list[str] | None = Field(None, description="Keep chunks whose source is one of these.")
    doc_id: list[str] | None = Field(None, description="Keep chunks of these documents.")
    published_after: date | None = Field(None, description="Published on or after this day (UTC).")
    published_before: date | None = Field(None, description="Published on or before this day (UTC).")

    @field_validator("source", "doc_id", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("published_after is later than published_before")
        return self

    def to_search(self) -> SearchFilters:
        return SearchFilters(self.source, self.doc_id, self.published_after, self.published_before)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace")
    return value.strip()


class SearchRequest(_Strict):
    query: str = Field(..., description="Free-text query.")
    limit: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    filters: Filters | None = None
    collapse: bool = Field(False, description="At most one (the best) chunk per article.")

    _query = field_validator("query")(_not_blank)


class AskRequest(_Strict):
    question: str = Field(..., description="A question in natural language.")
    top_k: int = Field(8, ge=1, le=50, description="Passages retrieved to compose the answer from.")
    filters: Filters | None = None
    stream: bool = Field(False, description="Answer as Server-Sent Events: sources, delta..., done.")

    _question = field_validator("question")(_not_blank)


class HitOut(BaseModel):
    doc_id: str
    chunk_id: str
    score: float
    title: str
    url: str | None
    source: str | None
    published_at: str | None
    text: str
    char_start: int
    char_end: int


class SearchResponse(BaseModel):
    hits: list[HitOut]
    timings_ms: dict[str, float]


class CitationOut(BaseModel):
    n: int
    doc_id: str
    chunk_id: str
    title: str
    url: str | None
    source: str | None
    published_at: str | None
    quote: str
    char_start: int
    char_end: int


class AskResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    found: bool
    timings_ms: dict[str, float]


DocStatus = Literal["indexed", "replaced", "unchanged", "skipped"]


class DocumentResult(BaseModel):
    index: int = Field(..., description="Position of the record in the request (0 for a single object).")
    doc_id: str | None
    status: DocStatus
    chunks: int = 0
    error: str | None = None


class IngestResponse(BaseModel):
    results: list[DocumentResult]
    summary: dict[str, int]
    timings_ms: dict[str, float]


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    url: str | None
    source: str | None
    author: str | None
    published_at: str | None
    metadata: dict[str, Any]
    chunk_count: int
    chunks_stored: int
    doc_hash: str | None
    origin: str | None
    indexed_at: str | None


class DeleteResponse(BaseModel):
    doc_id: str
    status: Literal["deleted"]
    chunks: int


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    error: str
    message: str
    detail: list[ErrorDetail] | None = None
    request_id: str | None = None
