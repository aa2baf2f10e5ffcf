"""Answer quality of the extractive composers, the rules baseline against the learned reader, in one run.

    python -m eval.answer_quality --dataset ../shared/data/news-rtqa-2023
    python -m eval.answer_quality --dataset ../shared/data/news-rtqa-2023 --candidates 8 16 24

Every question of the set (answerable or not: a question with no relevant article in the qrels is unanswerable)
is retrieved ONCE through the default pipeline over the cached eval index (``eval.index``); the same hits are
then answered by each composer through ``QuestionPipeline.answer``, which verifies every citation as the
service does. So the rows differ by the composer alone.

Per composer: gold answer in the answer and in its first sentence (answerable questions with gold strings),
median words of found answers, found on answerable and on unanswerable questions, answers citing a relevant
article (answerable), citations failing the verbatim check against the article text, and compose time.
Results (summary and per question) go to ``eval/results/answer-quality-<set>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.answers import ANSWER_TOP_K, article_texts, citation_checks
from eval.composers import gold_strings, relevant_docs
from eval.datasets import load_dataset
from eval.index import DEFAULT_CACHE, CachingEmbedder, open_index
from eval.metrics import contains_answer
from service.answering import Ask, QuestionPipeline
from service.answering.extractive import ExtractiveComposer
from service.answering.learned import LearnedComposer
from service.answering.pipeline import Composer, Retrieved
from service.answering.scorer import AnswerScorer
from service.retrieval import Retriever
from service.settings import ServiceSettings

RESULTS = Path(__file__).resolve().parent / "results"


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    gold = [r for r in ans if r["gold"] is not None]
    words = [r["words"] for r in rows if r["found"]]

    def share(rs: list[dict[str, Any]], key: str) -> float | None:
        return round(sum(bool(r[key]) for r in rs) / len(rs), 4) if rs else None

    return {
        "questions": len(rows), "answerable": len(ans), "unanswerable": len(una), "with_gold_strings": len(gold),
        "gold_in_answer": share(gold, "gold"), "gold_in_first_sentence": share(gold, "gold_first"),
        "median_words_found": statistics.median(words) if words else None,
        "found_answerable": share(ans, "found"), "found_unanswerable": share(una, "found"),
        "cites_relevant": share(ans, "cites_relevant"),
        "citations_failing_verbatim": sum(r["citations"] - r["citations_ok"] for r in rows),
        "compose_ms_median": round(statistics.median(r["compose_ms"] for r in rows), 2) if rows else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.answer_quality", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--limit", type=int, default=None, help="first N questions only")
    p.add_argument("--candidates", type=int, nargs="*", default=None,
                   help="learned composer candidate counts to compare (default: the setting)")
    p.add_argument("--scorer-model", type=Path, default=None, help="an exported scorer folder (default: bundled)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    dataset = load_dataset(args.dataset)
    queries = dataset.queries[: args.limit] if args.limit else dataset.queries
    settings = ServiceSettings.from_env()
    embedder = CachingEmbedder(settings, args.cache)
    idx = open_index(dataset, settings, embedder, args.cache)
    query_settings = settings.model_copy(update={"qdrant_path": idx.settings.qdrant_path,
                                                 "collection": idx.settings.collection})
    retriever = Retriever.for_store(query_settings, idx.store, embedder)
    scorer = AnswerScorer(args.scorer_model) if args.scorer_model else AnswerScorer()
    composers: dict[str, Composer] = {"rules": ExtractiveComposer(embedder)}
    for k in args.candidates or [settings.answer_candidates]:
        composers[f"learned-{k}"] = LearnedComposer(scorer, k)
    pipelines = {name: QuestionPipeline(retriever, c, prefer="extractive") for name, c in composers.items()}
    articles = article_texts(dataset)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in composers}
    try:
        for q in tqdm(queries, desc=f"answers {dataset.name}", unit="q"):
            got = pipelines["rules"].retrieve(Ask(q.text, top_k=ANSWER_TOP_K))
            relevant = relevant_docs(dataset, q.qid)
            golds = gold_strings(q) if relevant else []
            for name, pipeline in pipelines.items():
                t0 = time.perf_counter()
                answer = pipeline.answer(Retrieved(replace(got.ask), got.hits, got.query_vector, t0, {}))
                compose_ms = (time.perf_counter() - t0) * 1000
                ok = citation_checks(answer, articles)
                first = answer.pieces[0].text if answer.found and answer.pieces else ""
                rows[name].append({
                    "qid": q.qid, "question": q.text, "answerable": bool(relevant), "found": answer.found,
                    "answer": answer.answer, "confidence": round(answer.score, 4),
                    "gold": (answer.found and contains_answer(answer.answer, golds)) if golds else None,
                    "gold_first": bool(golds) and contains_answer(first, golds),
                    "words": len(" ".join(pc.text for pc in answer.pieces).split()) if answer.found else 0,
                    "cites_relevant": any(c.doc_id in relevant for c in answer.citations),
                    "citations": len(ok), "citations_ok": sum(ok), "compose_ms": compose_ms,
                })
            embedder.save()
    except KeyboardInterrupt:
        print("stopped: reporting the questions done so far", file=sys.stderr)
    finally:
        embedder.save()
        idx.store.close()
    result = {"dataset": dataset.name, "questions": len(rows["rules"]), "top_k": ANSWER_TOP_K,
              "scorer": {"path": str(scorer.path), "precision": scorer.precision,
                         "found_threshold": scorer.found_threshold},
              "summary": {name: summarise(rs) for name, rs in rows.items()}, "per_question": rows}
    out = args.out or RESULTS / f"answer-quality-{dataset.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    keys = list(next(iter(result["summary"].values())).keys())
    print("| measure | " + " | ".join(result["summary"]) + " |")
    print("|---|" + "---:|" * len(result["summary"]))
    for key in keys:
        print(f"| {key} | " + " | ".join(str(s[key]) for s in result["summary"].values()) + " |")
    print(f"\n(per-question results: {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
