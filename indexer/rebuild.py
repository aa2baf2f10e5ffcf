"""Zero-downtime re-index: build a complete new collection aside, verify it, then switch the name the service
reads (``NEWSDESK_COLLECTION``, a Qdrant alias) to it in one atomic alias operation.

``rebuild(settings, paths)`` (and ``python -m indexer rebuild PATH...``):

1. ingests ``paths`` into a new collection ``<alias>__<UTC timestamp>`` with the *current* settings (a new model,
   chunk size, BM25 parameters... whatever the environment says now), through the ordinary :class:`Indexer`;
2. verifies it (:func:`verify`): as many documents and chunks as the ingest reported, no incomplete document,
   and sample queries answered (each ``--verify-query`` and up to three queries made from ingested titles get
   dense hits straight from Qdrant; most title queries find their own article);
3. only then points the alias at it: one ``update_collection_aliases`` call holding delete + create, which Qdrant
   applies atomically, so every request sees either the old collection or the new one, never neither;
4. keeps the previous collection (a rollback is one alias switch) unless ``drop_old``.

A failed verification leaves the alias untouched and drops the new collection (``keep_failed`` keeps it for
inspection). A store made before aliases has a real collection under the configured name; Qdrant can neither
rename a collection nor let an alias shadow one, so the first rebuild of such a store deletes that collection
and creates the alias right after (:meth:`Store.point_alias`): the one moment, milliseconds long, in which the
name resolves to nothing. From then on every rebuild is a plain atomic switch.

The embedded store admits one process: ``rebuild`` there needs the service stopped (``Store.open`` refuses a
store in use), so the switch is atomic but not "live"; on a Qdrant server the service keeps answering throughout.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from indexer import payload as pl
from indexer.collection import Store, open_store
from indexer.embedding import Embedder
from indexer.pipeline import Indexer, IngestReport, ProgressHook
from indexer.settings import IndexerSettings

SEPARATOR = "__"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
TITLE_QUERIES = 3
"""Default sample queries made from the titles of ingested articles."""
VERIFY_LIMIT = 10
"""Hits asked for by each sample query; a title query 'finds its article' when it is among them."""
_TITLE_LOOKUPS = 30
"""At most this many documents are looked at to find titled ones (a corpus without titles falls back to text)."""


class RebuildError(RuntimeError):
    """The rebuild cannot start (nothing was built and the alias is untouched); the message says why."""


# --- naming -------------------------------------------------------------------------------------------------------
def _generation_pattern(alias: str) -> re.Pattern[str]:
    return re.compile(re.escape(alias + SEPARATOR) + r"\d{8}T\d{6}Z(?:_\d+)?")


def is_generation_of(alias: str, name: str) -> bool:
    """Whether ``name`` is one of ``alias``'s rebuilt collections (``<alias>__<timestamp>[_n]``)."""
    return _generation_pattern(alias).fullmatch(name) is not None


def new_collection_name(alias: str, now: datetime, taken: Collection[str]) -> str:
    """``<alias>__YYYYMMDDTHHMMSSZ`` (UTC), with ``_2``, ``_3``... when a rebuild in the same second made one."""
    base = f"{alias}{SEPARATOR}{now.astimezone(UTC).strftime(TIMESTAMP_FORMAT)}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


# --- verification -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class QueryCheck:
    query: str
    kind: Literal["given", "title"]
    hits: int
    article: str | None = None
    """For a title query: the document the title was taken from."""
    found_article: bool | None = None


@dataclass
class Verification:
    collection: str
    expected_documents: int
    expected_chunks: int
    documents: int = 0
    chunks: int = 0
    points: int = 0
    incomplete: list[str] = field(default_factory=list)
    queries: list[QueryCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def ingested(report: IngestReport) -> tuple[set[str], int]:
    """The document ids an ingest reported as stored, and their chunks."""
    stored = [r for r in report.results if r.status in ("indexed", "replaced", "unchanged") and r.doc_id]
    return {str(r.doc_id) for r in stored}, sum(r.chunks for r in stored)


def verify(
    store: Store, encoder: Embedder, report: IngestReport, queries: Sequence[str] = (),
    title_queries: int = TITLE_QUERIES, limit: int = VERIFY_LIMIT,
) -> Verification:
    """Check a freshly built collection against the ingest that built it; ``problems`` lists every failure."""
    doc_ids, chunks = ingested(report)
    v = Verification(store.collection, len(doc_ids), chunks)
    if not doc_ids:
        v.problems.append("no document was indexed (every input was skipped, or there was none)")
        return v
    state = store.scan_documents()
    v.documents, v.chunks, v.points = len(state), sum(len(s.point_ids) for s in state.values()), store.count()
    v.incomplete = sorted(d for d, s in state.items() if not s.consistent)
    if v.documents != v.expected_documents or set(state) != doc_ids:
        absent, extra = sorted(doc_ids - set(state)), sorted(set(state) - doc_ids)
        v.problems.append(f"documents: {v.documents} stored, {v.expected_documents} ingested"
                          + (f"; absent: {_few(absent)}" if absent else "") + (f"; extra: {_few(extra)}" if extra else ""))
    if v.chunks != v.expected_chunks or v.points != v.expected_chunks:
        v.problems.append(f"chunks: {v.chunks} stored ({v.points} counted by Qdrant), {v.expected_chunks} ingested")
    if v.incomplete:
        v.problems.append(f"incomplete documents: {_few(v.incomplete)}")

    def dense_hits(text: str) -> list[str]:
        points = store.query(encoder.encode_query(text).tolist(), pl.DENSE, limit, None)
        return [pl.doc_id_of(p.payload) for p in points]

    for text in queries:
        v.queries.append(QueryCheck(text, "given", len(dense_hits(text))))
    for text, doc_id in _title_queries(store, sorted(doc_ids), title_queries):
        hits = dense_hits(text)
        v.queries.append(QueryCheck(text, "title", len(hits), doc_id, doc_id in hits))
    v.problems += [f"query {q.query!r} returned no hits" for q in v.queries if q.hits == 0]
    titles = [q for q in v.queries if q.kind == "title"]
    found = sum(1 for q in titles if q.found_article)
    if titles and found < math.ceil(len(titles) / 2):
        v.problems.append(f"title queries found their own article {found} of {len(titles)} times "
                          f"(in the top {limit}): the stored vectors do not match the model's queries")
    return v


def _title_queries(store: Store, doc_ids: list[str], n: int) -> list[tuple[str, str]]:
    """Up to ``n`` (query, doc_id) pairs from titles of documents spread over the sorted ids; a document without
    a title gives the start of its first chunk instead when no titled one is found."""
    if n <= 0 or not doc_ids:
        return []
    spread = [doc_ids[round(k * (len(doc_ids) - 1) / max(n - 1, 1))] for k in range(n)]
    order = list(dict.fromkeys(spread + doc_ids))[:_TITLE_LOOKUPS]
    out: list[tuple[str, str]] = []
    untitled: list[str] = []
    for doc_id in order:
        summary = store.document(doc_id)
        if summary is not None and summary.title.strip():
            out.append((summary.title.strip(), doc_id))
            if len(out) == n:
                return out
        else:
            untitled.append(doc_id)
    first_chunks = store.payloads([pl.point_id(d, 0) for d in untitled[: n - len(out)]])
    for payload in first_chunks.values():
        hit = pl.hit_from_payload(payload, 0.0)
        if hit.text.strip():
            out.append((" ".join(hit.text.split()[:30]), hit.doc_id))
    return out


def _few(items: Sequence[str], shown: int = 5) -> str:
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


# --- the rebuild --------------------------------------------------------------------------------------------------
@dataclass
class RebuildResult:
    alias: str
    collection: str
    """The collection built by this run."""
    previous: str | None
    """What the alias (or, before the first rebuild, the real collection of that name) held before."""
    migrated: bool
    """The name was a real collection, deleted to become an alias (the one-time gap)."""
    swapped: bool
    ingest: dict[str, Any]
    skipped: list[str]
    verification: Verification
    switch_ms: float | None = None
    """How long the alias operation took (for a migration: delete + create)."""
    dropped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Earlier collections of this alias still present (drop them with ``--drop-old``)."""
    missing: list[str] = field(default_factory=list)
    """Documents of the previous collection that the new one lacks (e.g. added through the API)."""
    kept_failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verification": self.verification.to_dict()}


Say = Callable[[str], None]


def rebuild(
    settings: IndexerSettings,
    paths: Sequence[Path],
    verify_queries: Sequence[str] = (),
    drop_old: bool = False,
    keep_failed: bool = False,
    store: Store | None = None,
    embedder: Embedder | None = None,
    progress: ProgressHook | None = None,
    say: Say | None = None,
    now: datetime | None = None,
) -> RebuildResult:
    """Build ``paths`` into a new collection, verify it and point ``settings.collection`` (the alias) at it.

    ``store``: an open store over this location (its own collection name is ignored); by default one is opened
    from ``settings`` and closed at the end. ``embedder``: a loaded model to share. Raises :class:`RebuildError`
    when it cannot start; a failed verification returns a result with ``swapped=False``.
    """
    alias = settings.collection
    note = say or (lambda _message: None)
    base = store.with_collection(alias) if store is not None else open_store(settings)
    try:
        aliases = base.aliases()
        if alias not in aliases and base.resolve() == alias:
            held_by = sorted(a for a, c in aliases.items() if c == alias)
            if held_by:
                raise RebuildError(f"{alias!r} is a collection that the alias(es) {', '.join(held_by)} point at; "
                                   f"rebuild through {held_by[0]!r} instead (NEWSDESK_COLLECTION={held_by[0]})")
        name = new_collection_name(alias, now or datetime.now(UTC), set(base.collection_names()) | set(aliases))
        target = base.with_collection(name)
        indexer = Indexer(settings.model_copy(update={"collection": name}), store=target, embedder=embedder)
        note(f"building {name} from {', '.join(map(str, paths))} (chunks of {settings.chunk_tokens} tokens, "
             f"model {settings.embed_model})")
        try:
            report = indexer.ingest_paths(list(paths), progress=progress)
            note(f"verifying {name}")
            verification = verify(target, indexer.embedder, report, verify_queries)
        except BaseException:
            if not keep_failed:
                with contextlib.suppress(Exception):
                    target.drop()
            raise
        skipped = [f"{r.location or r.doc_id}: {r.error}" for r in report.skipped]
        result = RebuildResult(alias, name, None, False, False, report.summary(), skipped, verification)
        if not verification.ok:
            if keep_failed:
                result.kept_failed = True
            else:
                target.drop()
            return result

        current = base.resolve()  # read again: what the alias holds right now
        result.previous = current
        result.migrated = current == alias
        if current is not None:
            previous_ids = set(base.with_collection(current).scan_documents())
            result.missing = sorted(previous_ids - ingested(report)[0])
        t0 = time.perf_counter()
        base.point_alias(name, replace_collection=result.migrated)
        result.switch_ms = (time.perf_counter() - t0) * 1000
        result.swapped = True

        live = set(base.aliases().values())
        # the previous collection, and earlier rebuilds (or kept failures) that no alias points at
        older = [c for c in base.collection_names()
                 if c not in live and (c == current or (is_generation_of(alias, c) and c < name))]
        if drop_old:
            for old in older:
                base.with_collection(old).drop()
                result.dropped.append(old)
        else:
            result.kept = older
        return result
    finally:
        if store is None:
            base.close()
