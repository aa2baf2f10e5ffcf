"""Answer evals through the question pipeline (the service's own), with the same retriever as a configuration.

Per question: does the answer text contain a gold answer string (case-insensitive substring), does it cite a
relevant document, was it ``found: false``; per citation: is the quote verbatim, checked independently of the
composer's own check, both in the cited chunk (at ``char_start - chunk.char_start``) and in the article text
rebuilt from the corpus record (``article[char_start:char_end] == quote``).
"""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from eval.datasets import Dataset, Query
from eval.metrics import contains_answer
from indexer.articles import InputError, article_from_record
from service.answering import Answer, Ask, QuestionPipeline
from service.context import build_extractive
from service.retrieval import Retriever

ANSWER_TOP_K = 8


def article_texts(dataset: Dataset) -> dict[str, str]:
    out: dict[str, str] = {}
    for rec in dataset.corpus:
        try:
            a = article_from_record(rec)
        except InputError:
            continue
        out[a.doc_id] = a.text
    return out


def citation_checks(result: Answer, articles: dict[str, str]) -> list[bool]:
    hits = {h.chunk_id: h for h in result.hits}
    out: list[bool] = []
    for c in result.citations:
        h = hits.get(c.chunk_id)
        ok = h is not None and h.doc_id == c.doc_id and bool(c.quote) and c.char_end - c.char_start == len(c.quote)
        if ok and h is not None:
            off = c.char_start - h.char_start
            ok = off >= 0 and h.text[off : off + len(c.quote)] == c.quote
        ok = ok and articles.get(c.doc_id, "")[c.char_start : c.char_end] == c.quote
        out.append(ok)
    return out


def evaluate_answers(retriever: Retriever, dataset: Dataset, queries: list[Query], articles: dict[str, str],
                     label: str = "") -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    pipeline = QuestionPipeline(retriever, build_extractive(retriever.settings, retriever.encoder))
    per_query: dict[str, dict[str, Any]] = {}
    checks: list[bool] = []
    gold_rows: list[float] = []
    for q in tqdm(queries, desc=f"answers {label}", unit="q", leave=False):
        result = pipeline.ask(Ask(q.text, top_k=ANSWER_TOP_K))
        relevant = {d for d, s in dataset.qrels.get(q.qid, {}).items() if s > 0}
        ok = citation_checks(result, articles)
        checks.extend(ok)
        rec: dict[str, Any] = {
            "answer": result.answer,
            "found": result.found,
            "cited_docs": sorted({c.doc_id for c in result.citations}),
            "citations_ok": sum(ok),
            "citations": len(ok),
            "cites_relevant": float(any(c.doc_id in relevant for c in result.citations)),
        }
        if q.answers:
            rec["answer_contains_gold"] = float(result.found and contains_answer(result.answer, q.answers))
            gold_rows.append(rec["answer_contains_gold"])
        per_query[q.qid] = rec
    n = max(len(queries), 1)
    metrics = {
        "citations_verbatim": sum(checks) / len(checks) if checks else 1.0,
        "citations_total": float(len(checks)),
        "answer_cites_relevant": sum(r["cites_relevant"] for r in per_query.values()) / n,
        "not_found": sum(1 for r in per_query.values() if not r["found"]) / n,
    }
    if gold_rows:
        metrics["answer_contains_gold"] = sum(gold_rows) / len(gold_rows)
    return metrics, per_query
