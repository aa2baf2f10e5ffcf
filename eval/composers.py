"""Extractive vs generated answers on the same retrieved passages (issue 11, "Evals").

``python -m eval.composers --dataset ../shared/data/news-rtqa-2023 --limit 12 --unanswerable 6 --model qwen2.5-0.5b``

The subset is the quality gate's (``Dataset.subset``: the first ``--limit`` judged questions, their gold articles and
``--distractors`` fixed-seed others) plus the first ``--unanswerable`` questions with no relevant article (no qrels
row with a positive score; news-rtqa has 78). Each question is retrieved ONCE and the same passages are answered
by both composers (``Ask(composer="extractive"|"llm")`` through ``QuestionPipeline.answer``), so the difference
between the rows is the composer alone. A real ``llama_cpp.server`` is started for ``--model`` (a registry key of
``scripts/install_llm_model.py`` or a ``.gguf`` path), or ``--llm-url`` points at a running OpenAI-compatible server.

Per composer: gold answer in the answer (answerable questions with gold strings; ``found`` and
``eval.metrics.contains_answer``), found rate on answerable and on unanswerable questions, the verifier's kept
share of the model's ``[n]`` markers (``Answer.verification``), the share of sent citations whose article is
relevant, citations failing the independent verbatim check (``eval.answers.citation_checks``), time to first token
(the ``on_token`` callback) and total, and the fallback reasons. The raw model reply is kept per question and
scored too ("model reply has gold"), which separates what the model knows from what the verifier lets through.

MultiHop-RAG has no ``metadata.answers``; its ``metadata.answer`` (mostly yes/no, or a name) is used as the gold
string there, which makes "gold in answer" a weak signal on that set (a "no" matches many sentences).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.answers import ANSWER_TOP_K, article_texts, citation_checks
from eval.datasets import Dataset, Query, load_dataset
from eval.index import DEFAULT_CACHE, CachingEmbedder, open_index
from eval.metrics import contains_answer
from service.answering import Answer, Ask, QuestionPipeline
from service.answering.pipeline import Retrieved
from service.context import build_pipeline
from service.retrieval import Retriever
from service.settings import ServiceSettings

COMPOSERS = ("extractive", "llm")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "composers.json"


def relevant_docs(dataset: Dataset, qid: str) -> set[str]:
    return {d for d, s in dataset.qrels.get(qid, {}).items() if s > 0}


def gold_strings(q: Query) -> list[str]:
    """``metadata.answers`` (news-rtqa), else MultiHop-RAG's single ``metadata.answer``."""
    if q.answers:
        return q.answers
    answer = str(q.metadata.get("answer") or "").strip()
    return [answer] if answer else []


def eval_subset(full: Dataset, limit: int, unanswerable: int, distractors: int) -> tuple[Dataset, list[Query]]:
    """The quality gate's subset plus the first ``unanswerable`` questions no article answers (same corpus)."""
    sub = full.subset(limit, distractors)
    judged = {q.qid for q in full.judged}
    extra = [q for q in full.queries if q.qid not in judged][:unanswerable]
    return sub, interleave(sub.queries, extra)


def interleave(answerable: list[Query], unanswerable: list[Query]) -> list[Query]:
    """Both kinds spread evenly over the run, so that a run stopped early still has some of each."""
    if not unanswerable:
        return list(answerable)
    step = max(len(answerable) // len(unanswerable), 1)
    out: list[Query] = []
    rest = list(unanswerable)
    for i, q in enumerate(answerable):
        out.append(q)
        if (i + 1) % step == 0 and rest:
            out.append(rest.pop(0))
    return out + rest


@dataclass
class Tally:
    """One composer's counters over the run."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ans = [r for r in self.rows if r["answerable"]]
        una = [r for r in self.rows if not r["answerable"]]
        gold = [r for r in ans if r["gold"] is not None]
        seen = sum(r["markers_seen"] for r in self.rows)
        dropped = sum(r["markers_dropped"] for r in self.rows)
        cites = sum(r["citations"] for r in ans)
        ttft = [r["ttft_s"] for r in self.rows if r["ttft_s"] is not None]
        total = [r["total_s"] for r in self.rows]

        def share(num: float, den: float) -> float | None:
            return num / den if den else None

        return {
            "questions": len(self.rows),
            "answerable": len(ans),
            "unanswerable": len(una),
            "gold_in_answer": share(sum(bool(r["gold"]) for r in gold), len(gold)),
            "model_reply_has_gold": share(sum(bool(r["reply_gold"]) for r in gold), len(gold)) if ttft else None,
            "found_answerable": share(sum(r["found"] for r in ans), len(ans)),
            "found_unanswerable": share(sum(r["found"] for r in una), len(una)),
            "markers_seen": seen,
            "markers_dropped": dropped,
            "markers_kept_share": share(seen - dropped, seen),
            "citations_sent": sum(r["citations"] for r in self.rows),
            "cited_relevant_share": share(sum(r["citations_relevant"] for r in ans), cites),
            "citations_failing_verbatim": sum(r["citations"] - r["citations_ok"] for r in self.rows),
            "ttft_s_median": statistics.median(ttft) if ttft else None,
            "total_s_median": statistics.median(total) if total else None,
            "total_s_mean": statistics.fmean(total) if total else None,
            "answered_by": dict(Counter(r["composer"] for r in self.rows)),
            "fallback_reasons": dict(Counter(r["fallback_reason"] for r in self.rows if r["fallback_reason"])),
        }


def answer_once(pipeline: QuestionPipeline, got: Retrieved, composer: str) -> tuple[Answer, str, float | None, float]:
    """The answer of ``composer`` to already retrieved passages, the raw streamed reply, TTFT and total seconds."""
    tokens: list[str] = []
    first: list[float] = []
    t0 = time.perf_counter()

    def sink(token: str) -> None:
        if not first:
            first.append(time.perf_counter() - t0)
        tokens.append(token)

    mine = Retrieved(replace(got.ask, composer=composer), got.hits, got.query_vector, t0, {})  # type: ignore[arg-type]
    answer = pipeline.answer(mine, on_token=sink)
    return answer, "".join(tokens), (first[0] if first else None), time.perf_counter() - t0


def run(dataset: Dataset, queries: list[Query], settings: ServiceSettings, cache: Path,
        top_k: int = ANSWER_TOP_K, progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Both composers on every question; ``progress`` gets the result so far after each question. Ctrl-C (or
    SIGTERM) stops after the questions done so far, which are reported as a partial run."""
    embedder = CachingEmbedder(settings, cache)
    idx = open_index(dataset, settings, embedder, cache)
    try:
        query_settings = settings.model_copy(update={"qdrant_path": idx.settings.qdrant_path,
                                                     "collection": idx.settings.collection})
        retriever = Retriever(query_settings, idx.store, embedder)
        pipeline = build_pipeline(query_settings, retriever)
        if pipeline.generated is None:
            raise SystemExit("no language model configured (llm_base_url)")
        articles = article_texts(dataset)
        tallies = {c: Tally() for c in COMPOSERS}

        def result(partial: bool) -> dict[str, Any]:
            return {"dataset": dataset.name, "docs": len(dataset.corpus), "top_k": top_k,
                    "llm_model": settings.llm_model, "llm_context_tokens": settings.llm_context_tokens,
                    "llm_timeout_s": settings.llm_timeout_s, "partial": partial,
                    "summary": {c: t.summary() for c, t in tallies.items()},
                    "per_question": {c: t.rows for c, t in tallies.items()}}

        try:
            for q in tqdm(queries, desc="questions", unit="q"):
                _one(pipeline, dataset, q, articles, tallies, top_k)
                embedder.save()
                if progress is not None:
                    progress(result(True))
        except KeyboardInterrupt:
            print("stopped: reporting the questions done so far", file=sys.stderr)
            return result(True)
        return result(False)
    finally:
        embedder.save()
        idx.store.close()


def _one(pipeline: QuestionPipeline, dataset: Dataset, q: Query, articles: dict[str, str],
         tallies: dict[str, Tally], top_k: int) -> None:
    """Retrieve once, answer with each composer (all or none of them are recorded)."""
    got = pipeline.retrieve(Ask(q.text, top_k=top_k))
    relevant = relevant_docs(dataset, q.qid)
    golds = gold_strings(q) if relevant else []
    rows: dict[str, dict[str, Any]] = {}
    for composer in COMPOSERS:
        answer, reply, ttft, total = answer_once(pipeline, got, composer)
        ok = citation_checks(answer, articles)
        v = answer.verification
        rows[composer] = {
            "qid": q.qid, "question": q.text, "answerable": bool(relevant), "gold_strings": golds,
            "answer": answer.answer, "reply": reply, "found": answer.found,
            "gold": (answer.found and contains_answer(answer.answer, golds)) if golds else None,
            "reply_gold": bool(golds and reply and contains_answer(reply, golds)),
            "composer": answer.composer, "fallback_reason": answer.fallback_reason,
            "markers_seen": v.markers_seen if v else 0, "markers_dropped": v.markers_dropped if v else 0,
            "markers_inferred": v.markers_inferred if v else 0,
            "sentences_removed": v.sentences_removed if v else 0,
            "citations": len(ok), "citations_ok": sum(ok),
            "citations_relevant": sum(c.doc_id in relevant for c in answer.citations),
            "retrieved_relevant": any(h.doc_id in relevant for h in got.hits),
            "ttft_s": ttft, "total_s": total,
        }
    for composer, row in rows.items():
        tallies[composer].rows.append(row)


def _fmt(v: Any, pct: bool = True) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if pct else f"{v:.1f}"
    return str(v)


def table(result: dict[str, Any]) -> str:
    s = result["summary"]
    rows = [
        ("gold answer in answer (answerable)", "gold_in_answer", True),
        ("raw model reply has gold (answerable)", "model_reply_has_gold", True),
        ("found, answerable", "found_answerable", True),
        ("found, unanswerable (lower is better)", "found_unanswerable", True),
        ("model [n] markers kept by the verifier", "markers_kept_share", True),
        ("citations sent", "citations_sent", True),
        ("sent citations whose article is relevant", "cited_relevant_share", True),
        ("citations failing the verbatim check", "citations_failing_verbatim", True),
        ("time to first token, median (s)", "ttft_s_median", False),
        ("total, median (s)", "total_s_median", False),
        ("total, mean (s)", "total_s_mean", False),
    ]
    partial = " (PARTIAL run)" if result.get("partial") else ""
    head = f"| {result['dataset']}{partial} ({s['extractive']['answerable']} answerable + " \
           f"{s['extractive']['unanswerable']} unanswerable) | extractive | llm ({result['llm_model']}) |"
    out = [head, "|---|---:|---:|"]
    for label, key, pct in rows:
        out.append(f"| {label} | {_fmt(s['extractive'][key], pct)} | {_fmt(s['llm'][key], pct)} |")
    out.append(f"| answered by | {s['extractive']['answered_by']} | {s['llm']['answered_by']} |")
    reasons = "; ".join(f"{k}: {n}" for k, n in s["llm"]["fallback_reasons"].items()) or "none"
    out.append(f"\nllm fallbacks: {reasons}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.composers", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--limit", type=int, default=12, help="first N judged (answerable) questions")
    p.add_argument("--unanswerable", type=int, default=None, help="questions with no relevant article (default N/2)")
    p.add_argument("--distractors", type=int, default=40)
    p.add_argument("--model", default="qwen2.5-0.5b", help="registry key (scripts/install_llm_model.py) or .gguf")
    p.add_argument("--llm-url", default=None, help="a running OpenAI-compatible server instead of starting one")
    p.add_argument("--timeout", type=float, default=180.0, help="NEWSDESK_LLM_TIMEOUT_S for this run")
    p.add_argument("--nice", type=int, default=0, help="nice level of the started llama.cpp server")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    unanswerable = args.limit // 2 if args.unanswerable is None else args.unanswerable
    dataset, queries = eval_subset(load_dataset(args.dataset), args.limit, unanswerable, args.distractors)
    base = ServiceSettings.from_env().model_copy(update={"llm_timeout_s": args.timeout})
    out = args.out
    if out == DEFAULT_OUT and "news-rtqa" not in args.dataset.name:
        out = out.with_name(f"composers-{args.dataset.name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(result: dict[str, Any]) -> None:
        out.write_text(json.dumps(result | {"table": table(result)}, indent=2, default=str))

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill reports what is done, like Ctrl-C

    if args.llm_url:
        settings = base.model_copy(update={"llm_base_url": args.llm_url, "llm_model": args.model})
        result = run(dataset, queries, settings, args.cache, progress=save)
    else:
        # imports pytest: only when this script starts the server itself
        from tests.llm_server import LlamaServer, model_path, served_model_name

        with LlamaServer(model_path(args.model), served_model_name(args.model), nice=args.nice) as server:
            settings = base.model_copy(update={"llm_base_url": server.url, "llm_model": server.alias,
                                               "llm_api_key": "none"})
            result = run(dataset, queries, settings, args.cache, progress=save)
    save(result)
    print(table(result))
    print(f"\n(per-question results: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
