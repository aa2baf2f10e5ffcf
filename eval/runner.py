"""One evaluation run: index (cached), query every configuration and the baselines, score, keep per-query rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.answers import article_texts, evaluate_answers
from eval.baselines import BM25Baseline, DenseBaseline
from eval.configs import EvalConfig
from eval.datasets import Dataset, Query
from eval.index import CachingEmbedder, EvalIndex, index_key, open_index
from eval.metrics import answer_recall, collapse_docs, doc_metrics, fact_hits, mean
from service.retrieval import Retriever
from service.settings import ServiceSettings

DOC_DEPTH = 10


@dataclass
class Row:
    name: str
    kind: str
    """``config`` (the project's retriever) or ``baseline``."""
    description: str
    index_key: str
    metrics: dict[str, float] = field(default_factory=dict)
    per_query: dict[str, dict[str, Any]] = field(default_factory=dict)
    ms_per_query: float = 0.0


@dataclass
class RunResult:
    dataset: str
    corpus_docs: int
    queries: int
    answer_queries: int
    fact_queries: int
    rows: list[Row]
    indexes: dict[str, dict[str, Any]]

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)


def _score_query(q: Query, chunk_texts: list[str], chunk_ids: list[str], doc_ids: list[str]) -> dict[str, Any]:
    rec: dict[str, Any] = {"chunks": chunk_ids[:DOC_DEPTH], "docs": collapse_docs(doc_ids)[:DOC_DEPTH]}
    if q.answers:
        rec.update(answer_recall(chunk_texts, q.answers))
    if q.facts:
        rec.update(fact_hits(chunk_texts, q.facts))
    return rec


def _finish(row: Row, dataset: Dataset, queries: list[Query]) -> Row:
    rankings = {qid: rec["docs"] for qid, rec in row.per_query.items()}
    qrels = {q.qid: dataset.qrels[q.qid] for q in queries}
    means, per_query = doc_metrics(qrels, rankings)
    for qid, values in per_query.items():
        row.per_query[qid].update(values)
    row.metrics.update(means)
    answer_rows = [{k: v for k, v in r.items() if k.startswith("ans_")} for r in row.per_query.values()
                   if any(k.startswith("ans_") for k in r)]
    fact_rows = [{k: v for k, v in r.items() if k.startswith("fact_")} for r in row.per_query.values()
                 if any(k.startswith("fact_") for k in r)]
    row.metrics.update(mean(answer_rows))
    row.metrics.update(mean(fact_rows))
    return row


def run(dataset: Dataset, configs: list[EvalConfig], base: ServiceSettings, cache_dir: Path,
        baselines: bool = True, answers: bool = False) -> RunResult:
    queries = dataset.judged
    embedders: dict[tuple[str, str], CachingEmbedder] = {}
    indexes: dict[str, EvalIndex] = {}
    rows: list[Row] = []
    baseline_done: set[str] = set()
    articles: dict[str, str] | None = None
    try:
        for cfg in configs:
            settings = cfg.settings(base)
            ekey = (settings.embed_model, settings.embed_backend)
            if ekey not in embedders:
                embedders[ekey] = CachingEmbedder(settings, cache_dir)
            embedder = embedders[ekey]
            key = index_key(dataset, settings)
            if key not in indexes:  # one store per folder: the embedded store admits one opener
                indexes[key] = open_index(dataset, settings, embedder, cache_dir)
            idx = indexes[key]
            query_settings = settings.model_copy(update={"qdrant_path": idx.settings.qdrant_path,
                                                         "collection": idx.settings.collection})
            retriever = Retriever(query_settings, idx.store, embedder)  # the service's own path
            limit = max(query_settings.prefetch_limit, DOC_DEPTH)
            row = Row(cfg.name, "config", cfg.describe(base), idx.key)
            t0 = time.perf_counter()
            for q in tqdm(queries, desc=f"{dataset.name} {cfg.name}", unit="q", leave=False):
                hits = retriever.search(q.text, limit=limit, mode=cfg.mode).hits
                row.per_query[q.qid] = _score_query(
                    q, [h.text for h in hits], [h.chunk_id for h in hits], [h.doc_id for h in hits])
            row.ms_per_query = (time.perf_counter() - t0) * 1000 / max(len(queries), 1)
            rows.append(_finish(row, dataset, queries))
            if answers and cfg.mode == "hybrid":  # ask() always retrieves in hybrid mode
                if articles is None:
                    articles = article_texts(dataset)
                ans_metrics, ans_rows = evaluate_answers(retriever, dataset, queries, articles, cfg.name)
                row.metrics.update(ans_metrics)
                for qid, rec in ans_rows.items():
                    row.per_query[qid]["answer"] = rec
            if baselines and idx.key not in baseline_done:
                baseline_done.add(idx.key)
                suffix = "" if len(baseline_done) == 1 else f"@{cfg.name}"  # first index: no suffix
                rows.extend(_baselines(dataset, queries, idx, embedder, limit, suffix))
            embedder.save()
    finally:
        for e in embedders.values():
            e.save()
        for idx in indexes.values():
            idx.store.close()
    return RunResult(
        dataset.name, len(dataset.corpus), len(queries),
        sum(1 for q in queries if q.answers), sum(1 for q in queries if q.facts), rows,
        {k: {"path": str(i.path), "built_seconds": i.built_seconds, **i.stats} for k, i in indexes.items()},
    )


def _baselines(dataset: Dataset, queries: list[Query], idx: EvalIndex, embedder: CachingEmbedder,
               limit: int, suffix: str) -> list[Row]:
    table = idx.chunk_table()
    texts = [q.text for q in queries]
    out: list[Row] = []
    t0 = time.perf_counter()
    bm25 = BM25Baseline(table).search(texts, limit)
    bm25_ms = (time.perf_counter() - t0) * 1000 / max(len(queries), 1)
    t0 = time.perf_counter()
    dense = DenseBaseline(table).search(embedder.encode(texts), limit)
    dense_ms = (time.perf_counter() - t0) * 1000 / max(len(queries), 1)
    for name, desc, ranked, ms in (
        ("bm25s", "bm25s BM25 (k1=1.5, b=0.75), stemmed, English stop words, over the same chunk texts", bm25,
         bm25_ms),
        ("dense-exact", "brute-force cosine over the same stored chunk vectors", dense, dense_ms),
    ):
        row = Row(name + suffix, "baseline", desc, idx.key, ms_per_query=ms)
        for q, ids in zip(queries, ranked, strict=True):
            row.per_query[q.qid] = _score_query(q, [table.texts[i] for i in ids], [table.chunk_ids[i] for i in ids],
                                                [table.doc_ids[i] for i in ids])
        out.append(_finish(row, dataset, queries))
    return out
