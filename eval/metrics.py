"""Scoring glue: document-level IR metrics via ranx, answer recall and MultiHop-RAG fact hits over chunks.

* Document level: a document ranks by its best chunk (chunk hits collapsed to documents, order kept); ranx
  computes Recall@k, Hits@k (ranx ``hit_rate``: share of queries with a relevant document in the top k),
  MRR@10, nDCG@10 and MAP@10.
* Answer recall@k: share of questions where one of the top-k chunks contains a gold answer string,
  case-insensitively, either anywhere (``substr``) or as whole words (``word``).
* Fact hits (MultiHop-RAG): a chunk is a hit where, with all whitespace removed, it contains one of the
  question's evidence facts with all whitespace removed; Hits@k is the share of questions with a hit chunk in
  the top k, MRR@10 the mean reciprocal rank of the first hit chunk.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache

from numba.core.errors import NumbaTypeSafetyWarning
from ranx import Qrels, Run, evaluate

DOC_METRICS = ("recall@1", "recall@5", "recall@10", "hit_rate@1", "hit_rate@5", "hit_rate@10",
               "mrr@10", "ndcg@10", "map@10")
METRIC_LABELS = {"hit_rate@1": "Hits@1", "hit_rate@5": "Hits@5", "hit_rate@10": "Hits@10",
                 "recall@1": "R@1", "recall@5": "R@5", "recall@10": "R@10", "mrr@10": "MRR@10",
                 "ndcg@10": "nDCG@10", "map@10": "MAP@10"}
ANSWER_KS = (1, 5, 10)
FACT_KS = (4, 10)
_EMPTY = "__no_result__"


def collapse_docs(doc_ids: Iterable[str]) -> list[str]:
    """Chunk-ranked document ids to a document ranking: each document at the rank of its best chunk."""
    return list(dict.fromkeys(doc_ids))


def doc_metrics(qrels: dict[str, dict[str, int]], rankings: dict[str, Sequence[str]],
                metrics: Sequence[str] = DOC_METRICS) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query values of ``metrics`` for document rankings (best first) against ``qrels``.

    Only queries with a relevant document count; a query missing from ``rankings`` scores 0.
    """
    judged = {q: {d: s for d, s in docs.items() if s > 0} for q, docs in qrels.items()}
    judged = {q: docs for q, docs in judged.items() if docs}
    run: dict[str, dict[str, float]] = {}
    for q in judged:
        ranked = list(rankings.get(q, []))
        # scores from ranks: ranx sorts by score, so ties can never reorder a ranking
        run[q] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)} or {_EMPTY: 0.0}
    qrels_r, run_r = Qrels(judged), Run(run)
    with warnings.catch_warnings():
        # ranx's numba kernels cast qrels counts uint64 -> int64 (harmless, but an error under pytest)
        warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
        means = evaluate(qrels_r, run_r, list(metrics), make_comparable=True)
    if not isinstance(means, dict):  # ranx returns a bare float for a single metric
        means = {metrics[0]: means}
    scores = run_r.scores
    per_query = {q: {m: float(scores[m][q]) for m in metrics} for q in judged}
    return {m: float(v) for m, v in means.items()}, per_query


@lru_cache(maxsize=4096)
def _word_pattern(answer: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(answer.casefold()) + r"(?!\w)")


def contains_answer(text: str, answers: Sequence[str], word_boundary: bool = False) -> bool:
    folded = text.casefold()
    if word_boundary:
        return any(_word_pattern(a.strip()).search(folded) for a in answers if a.strip())
    return any(a.strip().casefold() in folded for a in answers if a.strip())


def first_rank(flags: Sequence[bool]) -> int | None:
    """1-based rank of the first true flag, or None."""
    return next((i + 1 for i, f in enumerate(flags) if f), None)


def answer_recall(chunk_texts: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
    """Per-question answer recall at each k, both variants (1.0 or 0.0)."""
    out: dict[str, float] = {}
    for variant, wb in (("substr", False), ("word", True)):
        rank = first_rank([contains_answer(t, answers, wb) for t in chunk_texts[: max(ANSWER_KS)]])
        for k in ANSWER_KS:
            out[f"ans_{variant}@{k}"] = float(rank is not None and rank <= k)
    return out


def squash(text: str) -> str:
    """The text with all whitespace removed (the MultiHop-RAG matching rule)."""
    return "".join(text.split())


def is_fact_hit(chunk_text: str, facts: Sequence[str]) -> bool:
    body = squash(chunk_text)
    return any(squash(f) in body for f in facts if squash(f))


def fact_hits(chunk_texts: Sequence[str], facts: Sequence[str]) -> dict[str, float]:
    """Per-question fact Hits@4/@10, MRR@10 and the share of the facts found in the top 10 chunks."""
    top = list(chunk_texts[:10])
    rank = first_rank([is_fact_hit(t, facts) for t in top])
    out = {f"fact_hits@{k}": float(rank is not None and rank <= k) for k in FACT_KS}
    out["fact_mrr@10"] = 1.0 / rank if rank is not None else 0.0
    bodies = [squash(t) for t in top]
    wanted = [squash(f) for f in facts if squash(f)]
    out["fact_cover@10"] = sum(any(f in b for b in bodies) for f in wanted) / len(wanted) if wanted else 0.0
    return out


def mean(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    rows = list(rows)
    if not rows:
        return {}
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
