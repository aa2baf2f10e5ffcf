"""Sweep the extractive composer's constants over one eval set, retrieving once: answer quality and cost.

    .venv/bin/python bench/compose_sweep.py --dataset ../shared/data/news-rtqa-2023 \\
        --grid TYPE_W=0,0.175,0.35 --grid COMPLETION_MARGIN=-1,0.24
    .venv/bin/python bench/compose_sweep.py --dataset ../shared/data/news-rtqa-2023 --by-type   # per question type
    .venv/bin/python bench/compose_sweep.py --dataset ../shared/data/news-rtqa-2023 --plain-encoder  # timing

It opens the index ``python -m eval run --dataset SET --config default`` built (``.eval-cache``; run that first,
a sweep never indexes), retrieves every question once through the service's own ``QuestionPipeline.retrieve``
(``top_k`` 8, as ``eval --answers``), then composes and verifies the answer for each combination of the
``--grid`` values (``NAME=v1,v2``: constants of ``service.answering.extractive``, set on the module). Scored as
``eval/answers.py`` scores: the answer contains a gold string (found answers only), it cites a relevant
document, ``found``. Questions of the set without relevant documents (news-rtqa: 78 that no article answers)
are reported apart: an answer to one of them is a false "found".

Sentence vectors are cached per text (the eval cache's embedder), so after the first combination composing
costs no model time; ``--plain-encoder`` composes with the uncached embedder to time what a user waits for.
Writes ``bench/results/compose_sweep-<set>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.configs import resolve
from eval.datasets import load_dataset
from eval.index import DEFAULT_CACHE, CachingEmbedder, index_key
from eval.metrics import contains_answer
from indexer.collection import open_store
from indexer.embedding import Embedder
from service.answering import Ask, ExtractiveComposer, QuestionPipeline, Retrieved
from service.answering import extractive as ex
from service.answering import question_type as qt
from service.retrieval import Retriever
from service.settings import ServiceSettings

RESULTS = Path(__file__).resolve().parent / "results"
TOP_K = 8


def _grid(specs: list[str]) -> list[dict[str, float]]:
    axes: list[list[tuple[str, float]]] = []
    for spec in specs:
        name, _, values = spec.partition("=")
        if not hasattr(ex, name):
            raise SystemExit(f"service.answering.extractive has no constant {name}")
        kind = type(getattr(ex, name))
        axes.append([(name, kind(float(v))) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] or [{}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="the eval subset (same --limit/--distractors)")
    ap.add_argument("--distractors", type=int, default=150)
    ap.add_argument("--grid", action="append", default=[], help="NAME=v1,v2 (repeatable: the product is run)")
    ap.add_argument("--by-type", action="store_true", help="also break the metrics down by question type")
    ap.add_argument("--plain-encoder", action="store_true", help="compose with the uncached embedder (timing)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--dump", type=Path, default=None, help="write every answer of the first combination here")
    args = ap.parse_args()

    full = load_dataset(args.dataset)
    dataset = full.subset(args.limit, args.distractors)
    settings = resolve(["default"])[0].settings(ServiceSettings.from_env())
    key = index_key(dataset, settings)
    path = next((args.cache / "indexes").glob(f"*-{key}"), None)
    if path is None or not (path / "complete.json").is_file():
        raise SystemExit(f"no cached index {key} for {dataset.name}: run `python -m eval run` on it first")
    local = settings.model_copy(update={"qdrant_path": path / "qdrant", "qdrant_url": None, "collection": "eval"})
    store = open_store(local)
    cached = CachingEmbedder(settings, args.cache)
    retriever = Retriever(local, store, cached)
    encoder = Embedder(settings) if args.plain_encoder else cached
    pipeline = QuestionPipeline(retriever, ExtractiveComposer(encoder))

    judged = {q.qid for q in dataset.judged}
    # the unjudged questions of the full set (no article holds a gold answer) are unanswerable on any subset
    questions = dataset.judged + [q for q in full.queries if q.qid not in full.qrels]
    retrieved: list[tuple[Any, Retrieved]] = []
    t0 = time.perf_counter()
    for q in questions:
        retrieved.append((q, pipeline.retrieve(Ask(q.text, top_k=TOP_K))))
    print(f"{dataset.name}: {len(judged)} judged + {len(questions) - len(judged)} unanswerable questions retrieved "
          f"in {time.perf_counter() - t0:.0f}s", flush=True)

    defaults = {name: getattr(ex, name) for spec in args.grid for name in [spec.partition("=")[0]]}
    rows = []
    for combo in _grid(args.grid):
        for name, value in combo.items():
            setattr(ex, name, value)
        per: list[dict[str, Any]] = []
        for q, got in retrieved:
            t = time.perf_counter()
            a = pipeline.answer(got)
            ms = (time.perf_counter() - t) * 1000
            relevant = {d for d, s in dataset.qrels.get(q.qid, {}).items() if s > 0}
            per.append({
                "qid": q.qid, "question": q.text, "type": qt.classify(q.text).value, "judged": q.qid in judged,
                "found": a.found, "gold": bool(a.found and q.answers and contains_answer(a.answer, q.answers)),
                "has_answers": bool(q.answers), "cites_relevant": any(c.doc_id in relevant for c in a.citations),
                "sentences": len(a.pieces) if a.found else 0, "ms": ms, "score": a.score, "answer": a.answer,
                "marked": [c.quote[c.answer_start : c.answer_end] for c in a.citations
                           if c.answer_start is not None],
                "golds": q.answers,
            })
        rows.append((combo, per))
        if args.dump and len(rows) == 1:
            args.dump.write_text("".join(json.dumps(r) + "\n" for r in per), encoding="utf-8")
    for name, value in defaults.items():
        setattr(ex, name, value)
    store.close()

    def summary(per: list[dict[str, Any]]) -> dict[str, float]:
        pos = [r for r in per if r["judged"]]
        neg = [r for r in per if not r["judged"]]
        with_gold = [r for r in pos if r["has_answers"]]
        found = [r for r in pos if r["found"]]
        return {
            "n": len(pos),
            "gold": sum(r["gold"] for r in with_gold) / max(1, len(with_gold)),
            "cites_relevant": sum(r["cites_relevant"] for r in pos) / max(1, len(pos)),
            "found": len(found) / max(1, len(pos)),
            "found_unanswerable": sum(r["found"] for r in neg) / len(neg) if neg else float("nan"),
            "sentences": statistics.mean(r["sentences"] for r in found) if found else 0.0,
            "marked": sum(bool(r["marked"]) for r in found) / max(1, len(found)),
            "ms_p50": statistics.median(r["ms"] for r in per),
            "ms_mean": statistics.mean(r["ms"] for r in per),
        }

    names = list(rows[0][0])
    print("| " + " | ".join([*names, "gold in answer", "cites relevant", "found", "found unanswerable",
                             "sentences", "span marked", "compose ms p50 / mean"]) + " |")
    print("|" + "---:|" * (len(names) + 7))
    out = []
    for combo, per in rows:
        s = summary(per)
        out.append({"combo": combo, "summary": s})
        print("| " + " | ".join([*(f"{v:g}" for v in combo.values()), f"{s['gold']:.3f}", f"{s['cites_relevant']:.3f}",
                                 f"{s['found']:.3f}", f"{s['found_unanswerable']:.3f}", f"{s['sentences']:.2f}",
                                 f"{s['marked']:.2f}", f"{s['ms_p50']:.1f} / {s['ms_mean']:.1f}"]) + " |")
        if args.by_type:
            by: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in per:
                by[r["type"]].append(r)
            for kind, rs in sorted(by.items(), key=lambda kv: -len(kv[1])):
                t = summary(rs)
                print(f"    {kind:13} n={t['n']:3.0f}+{len(rs) - t['n']:3.0f}  gold {t['gold']:.2f}  "
                      f"cites {t['cites_relevant']:.2f}  found {t['found']:.2f}  unans {t['found_unanswerable']:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"compose_sweep-{dataset.name.replace('[', '_').replace(':', '').replace(']', '')}.json"
    target.write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"(written: {target})")


if __name__ == "__main__":
    main()
