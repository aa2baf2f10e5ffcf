"""Request and response bodies of the HTTP API (pydantic; the OpenAPI schema at /schema is built from these).

Field names are a contract with tools outside the project. Unknown fields in search/ask bodies are rejected
(400 naming the field) rather than silently ignored, so a typo such as ``"limt"`` does not pass unnoticed.
Numbers and booleans are strict (``"limit": true`` or ``"collapse": "yes"`` is a 400, not 1 or true:
:data:`StrictInt`, :data:`StrictBool`); dates in filters are ISO strings (``"2026-03-01"``), nothing else. A query or question
must contain a character that is not white space, which the OpenAPI schema states as ``minLength`` and
``pattern`` (:data:`NOT_BLANK`), so the published schema and the service agree on what is valid.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from indexer.payload import DocumentSummary, Hit
from indexer.pipeline import DocResult, IngestReport
from service.answering import Answer, Ask, Citation
from service.answering.types import Verification
from service.retrieval import SearchFilters
from service.retrieval.retriever import SearchResult
from service.settings import ComposerName


def json_type(value: Any) -> str:
    """A value's JSON type name, for error messages."""
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
                       (dict, "object")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def _exact_int(value: Any) -> Any:
    # Litestar validates with strict=False, which overrides pydantic's per-field strict mode; hence a validator
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON Schema's "integer" includes 5.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected an integer, got {json_type(value)}")
    return value


def _exact_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {json_type(value)}")
    return value


StrictInt = Annotated[int, BeforeValidator(_exact_int)]
"""A JSON integer: not ``true`` (1 in lax mode), not ``"5"``."""
StrictBool = Annotated[bool, BeforeValidator(_exact_bool)]
"""A JSON boolean: not ``1``, not ``"yes"``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
NOT_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
r"""A character that is not white space in JavaScript's ``\s`` (JSON Schema patterns) nor Python's
``str.isspace`` (which the service strips): the schema's and the service's notion of "blank" coincide."""


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OneOrMany = Annotated[list[str], BeforeValidator(_one_or_many),
                      WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})]
"""A list of strings, or one string for a list of one."""


class Filters(_Strict):
    source: OneOrMany | None = Field(None, description="Keep chunks whose source is one of these.")
    doc_id: OneOrMany | None = Field(None, description="Keep chunks of these documents.")
    published_after: date | None = Field(None, description="Published on or after this day (UTC), an ISO "
                                         "date string such as 2026-03-01.")
    published_before: date | None = Field(None, description="Published on or before this day (UTC), an ISO "
                                          "date string.")

    @field_validator("published_after", "published_before", mode="before")
    @classmethod
    def _iso_string(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO date string such as 2026-03-01, got {type(value).__name__}")
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(f"expected an ISO date such as 2026-03-01 (YYYY-MM-DD), got {value[:40]!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("published_after is later than published_before")
        return self

    def to_search(self) -> SearchFilters:
        return SearchFilters(self.source, self.doc_id, self.published_after, self.published_before)


def too_long(field: str, value: str, limit: int) -> str | None:
    """The 400 message for a text over its limit (the setting named), or None."""
    if len(value) <= limit:
        return None
    return f"{field} is {len(value)} characters long; at most {limit} (NEWSDESK_MAX_QUESTION_CHARS)"


RECENCY = r"^(off|auto|\d{1,4}(\.\d{1,3})?[hdwy])$"


class RecencyFields(_Strict):
    recency: str | None = Field(
        None, pattern=RECENCY,
        description="Rank newer articles higher: 'off', a half-life such as '30d' (h, d, w, y), or 'auto' (the "
        "default: on at 30d when the question asks for the latest state, off when it states a date).")
    as_of: date | None = Field(None, description="Measure ages up to this day (ISO date; default: today).")

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_iso(cls, value: Any) -> Any:
        return Filters._iso_string(value)

    def as_of_time(self) -> datetime | None:
        return datetime.combine(self.as_of, time(23, 59, 59), UTC) if self.as_of else None


class SearchRequest(RecencyFields):
    query: str = Field(..., min_length=1, pattern=NOT_BLANK,
                       description="Free-text query, at most NEWSDESK_MAX_QUESTION_CHARS characters.")
    limit: StrictInt = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    filters: Filters | None = None
    collapse: StrictBool = Field(False, description="At most one (the best) chunk per article.")


class AskRequest(RecencyFields):
    question: str = Field(..., min_length=1, pattern=NOT_BLANK,
                          description="A question in natural language, at most NEWSDESK_MAX_QUESTION_CHARS characters.")
    top_k: StrictInt = Field(8, ge=1, le=50, description="Passages retrieved to compose the answer from.")
    filters: Filters | None = None
    stream: StrictBool = Field(False, description="Answer as Server-Sent Events (text/event-stream): "
                         "sources, delta..., done; see the 200 response's text/event-stream content.")
    composer: ComposerName | None = Field(
        None, description="Who writes the answer: 'extractive', 'llm' (a configured language model), or 'auto'; "
        "default: the service's NEWSDESK_COMPOSER.")

    def to_ask(self) -> Ask:
        return Ask(self.question.strip(), self.top_k, self.filters.to_search() if self.filters else None,
                   self.composer, self.recency, self.as_of_time())


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

    @classmethod
    def from_hit(cls, h: Hit) -> HitOut:
        return cls(doc_id=h.doc_id, chunk_id=h.chunk_id, score=round(h.score, 6), title=h.title, url=h.url,
                   source=h.source, published_at=h.published_at, text=h.text, char_start=h.char_start,
                   char_end=h.char_end)


class SearchResponse(BaseModel):
    hits: list[HitOut]
    timings_ms: dict[str, float]
    recency: str | None = Field(None, description="The half-life applied (None: relevance alone).")

    @classmethod
    def from_result(cls, result: SearchResult, total_ms: float) -> SearchResponse:
        recency = f"{result.recency.total_seconds() / 86400:g}d" if result.recency else None
        return cls(hits=[HitOut.from_hit(h) for h in result.hits], timings_ms=result.timings_ms | {"total": total_ms},
                   recency=recency)


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
    answer_start: int | None = Field(None, description="Start of the asked-for fact within `quote` (None: not marked).")
    answer_end: int | None = Field(None, description="End of the asked-for fact within `quote`: quote[answer_start:answer_end].")

    @classmethod
    def from_citation(cls, c: Citation) -> CitationOut:
        return cls(n=c.n, doc_id=c.doc_id, chunk_id=c.chunk_id, title=c.title, url=c.url, source=c.source,
                   published_at=c.published_at, quote=c.quote, char_start=c.char_start, char_end=c.char_end,
                   answer_start=c.answer_start, answer_end=c.answer_end)


class VerificationOut(BaseModel):
    """What the verifier did to a generated answer."""

    markers_seen: int
    markers_inferred: int
    markers_dropped: int
    sentences_removed: int
    sentences_marked: int

    @classmethod
    def from_verification(cls, v: Verification | None) -> VerificationOut | None:
        return None if v is None else cls(markers_seen=v.markers_seen, markers_inferred=v.markers_inferred,
                                          markers_dropped=v.markers_dropped,
                                          sentences_removed=v.sentences_removed, sentences_marked=v.sentences_marked)


class AskResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    found: bool
    timings_ms: dict[str, float]
    composer: str = Field(..., description="Who wrote the answer: 'extractive' or 'llm'.")
    fallback_reason: str | None = Field(None, description="Why the answer is not from the composer asked for.")
    verification: VerificationOut | None = Field(None, description="Generated answers only.")

    @classmethod
    def from_answer(cls, a: Answer) -> AskResponse:
        return cls(answer=a.answer, citations=[CitationOut.from_citation(c) for c in a.citations], found=a.found,
                   timings_ms=a.timings_ms, composer=a.composer, fallback_reason=a.fallback_reason,
                   verification=VerificationOut.from_verification(a.verification))


DocStatus = Literal["indexed", "replaced", "unchanged", "skipped"]


class DocumentResult(BaseModel):
    index: int = Field(..., description="Position of the record in the request (0 for a single object).")
    doc_id: str | None
    status: DocStatus
    chunks: int = 0
    error: str | None = None

    @classmethod
    def from_result(cls, index: int, r: DocResult) -> DocumentResult:
        status: DocStatus = "skipped" if r.status == "deleted" else r.status
        return cls(index=index, doc_id=r.doc_id, status=status, chunks=r.chunks, error=r.error)


class IngestResponse(BaseModel):
    results: list[DocumentResult]
    summary: dict[str, int]
    timings_ms: dict[str, float]

    @classmethod
    def from_report(cls, report: IngestReport) -> IngestResponse:
        results = [DocumentResult.from_result(i, r) for i, r in enumerate(report.results)]
        summary = {s: report.count(s) for s in ("indexed", "replaced", "unchanged", "skipped")}
        summary["chunks_written"] = report.chunks_written
        timings = {"total": round(report.seconds * 1000, 2), "embed": round(report.embed_seconds * 1000, 2),
                   "upsert": round(report.upsert_seconds * 1000, 2)}
        return cls(results=results, summary=summary, timings_ms=timings)


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
    text: str | None = Field(None, description="With `?text=true`: the cleaned article, rebuilt from its stored "
                             "chunks; every citation's `char_start`/`char_end` index into it.")

    @classmethod
    def from_summary(cls, d: DocumentSummary, text: str | None = None) -> DocumentOut:
        return cls(doc_id=d.doc_id, title=d.title, url=d.url, source=d.source, author=d.author,
                   published_at=d.published_at, metadata=d.metadata, chunk_count=d.chunk_count,
                   chunks_stored=d.chunks_stored, doc_hash=d.doc_hash, origin=d.origin, indexed_at=d.indexed_at,
                   text=text)


class DeleteResponse(BaseModel):
    doc_id: str
    status: Literal["deleted"]
    chunks: int
