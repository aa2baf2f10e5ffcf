"""Calibrate ``service.answering.extractive.FOUND_THRESHOLD`` on real questions: answerable vs unanswerable.

    .venv/bin/python bench/calibrate_found.py --set rtqa-evidence-2023 --questions 240 --store /tmp/cal-rtqa
    .venv/bin/python bench/calibrate_found.py --set news-rtqa-2023 --store /tmp/cal-news

Each run indexes (into a temp store, never ./data; ``--store DIR`` keeps it there and reuses it on the next run
with the same arguments) a corpus from ../shared/data where the evidence of a fixed-seed half of the questions
is REMOVED, so those questions are unanswerable by construction; the other half keep their evidence. For
news-rtqa-2023 the questions with no qrels at all (no article holds the gold answer) are unanswerable too.
Every question is retrieved once and composed with the threshold disabled, once per entity-gate value
(``--entity`` sweeps ``ENTITY_COVERAGE``), recording the best sentence score; the threshold is then swept
offline (found = entity gate passed and score >= T).

Reported per threshold (at the composer's ``ENTITY_COVERAGE``): found-rate on answerable and unanswerable
questions, and among answerable found ones the rate where the answer contains the gold answer (normalised
substring, or all of its terms); per entity-gate value, the operating point with at most ``--max-false``
found on unanswerable questions; per question type (``question_type.classify``), the same at the composer's
threshold. Per-question records: ``bench/results/calibrate_found-<set>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.sparse import terms
from service.answering import Ask, ExtractiveComposer, QuestionPipeline
from service.answering import extractive as answer_mod
from service.answering import question_type as qt
from service.retrieval import Retriever
from service.settings import ServiceSettings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"
SEED = 7
THRESHOLDS = [x / 100 for x in range(20, 82, 2)]


@dataclass
class Outcome:
    qid: str
    answerable: bool
    kind: str
    """The question's type (``question_type.classify``)."""
    gate: dict[float, bool]
    """Per entity-gate value: entity gate passed and a sentence selected (with the threshold off)."""
    score: float
    gold: dict[float, bool]
    ms: float
    compose_ms: float
    """The first composition (sentence vectors not yet cached)."""


class _CachedEncoder:
    """The embedder with a per-run text cache: recomposing a question for another gate value embeds nothing."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.cache: dict[str, object] = {}

    def encode_query(self, text: str):  # type: ignore[no-untyped-def]
        return self.embedder.encode_query(text)

    def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.embedder.encode(missing), strict=True))
        return np.stack([self.cache[t] for t in texts]) if texts else self.embedder.encode([])


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        q, d, _ = line.split("\t")
        out.setdefault(q, set()).add(d)
    return out


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def contains_gold(answer: str, golds: list[str]) -> bool:
    a_norm, a_terms = _norm(answer), set(terms(answer))
    for g in golds:
        if _norm(g) and _norm(g) in a_norm:
            return True
        g_terms = set(terms(g))
        if g_terms and g_terms <= a_terms:
            return True
    return False


def build(name: str, n_questions: int, max_doc_chars: int) -> tuple[list[dict], list[dict], set[str]]:
    """(corpus records to index, questions, ids of answerable questions)."""
    root = SHARED / name
    corpus = _read(root / "corpus.jsonl")
    queries = _read(root / "queries.jsonl")
    qrels = _qrels(root / "qrels" / "test.tsv")
    rng = random.Random(SEED)
    by_id = {d["_id"]: d for d in corpus}
    with_rel = [q for q in queries if q["_id"] in qrels and all(
        len(by_id[d]["text"]) <= max_doc_chars for d in qrels[q["_id"]] if d in by_id)]
    rng.shuffle(with_rel)
    with_rel = with_rel[:n_questions]
    keep, removed = with_rel[: len(with_rel) // 2], with_rel[len(with_rel) // 2 :]
    drop = set().union(*(qrels[q["_id"]] for q in removed)) if removed else set()
    need = set().union(*(qrels[q["_id"]] for q in keep)) - drop
    if name == "rtqa-evidence-2023":
        docs = [d for d in corpus if d["_id"] not in drop]
        no_rel: list[dict] = []
    else:
        # the answerable half's articles, plus random short-enough others as distractors
        others = [d for d in corpus if d["_id"] not in drop and d["_id"] not in need
                  and len(d["text"]) <= max_doc_chars]
        docs = [by_id[d] for d in sorted(need)] + rng.sample(others, min(len(others), 80))
        no_rel = [q for q in queries if q["_id"] not in qrels]
    return docs, keep + removed + no_rel, {q["_id"] for q in keep}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="rtqa-evidence-2023", choices=["rtqa-evidence-2023", "news-rtqa-2023"])
    ap.add_argument("--questions", type=int, default=300, help="questions with evidence to draw (half removed)")
    ap.add_argument("--max-doc-chars", type=int, default=30_000)
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--store", type=Path, default=None, help="keep the index here and reuse it (same arguments)")
    ap.add_argument("--entity", default="", help="ENTITY_COVERAGE values to sweep, e.g. 0,0.34,0.5,0.67")
    ap.add_argument("--max-false", type=float, default=0.10, help="operating point: found on unanswerable at most")
    args = ap.parse_args()

    docs, questions, answerable = build(args.set, args.questions, args.max_doc_chars)
    tmp = args.store or Path(tempfile.mkdtemp(prefix="calibrate-"))
    settings = ServiceSettings(_env_file=None, qdrant_path=tmp / "qdrant", qdrant_url=None,  # type: ignore[call-arg]
                        model_cache_dir=Path(__file__).resolve().parents[1] / "data" / "models",
                        collection="calibrate")
    embedder = Embedder(settings)
    marker = tmp / "complete.json"
    built_for = {"set": args.set, "questions": args.questions, "max_doc_chars": args.max_doc_chars, "seed": SEED,
                 "docs": sorted(d["_id"] for d in docs)}
    indexer = Indexer(settings, embedder=embedder)
    if marker.is_file() and json.loads(marker.read_text()) == built_for:
        print(f"reusing the index in {tmp}", flush=True)
    else:
        corpus_file = tmp / "corpus.jsonl"
        tmp.mkdir(parents=True, exist_ok=True)
        corpus_file.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
        t0 = time.perf_counter()
        report = indexer.ingest_paths([corpus_file])
        marker.write_text(json.dumps(built_for))
        print(f"indexed {len(docs)} docs, {report.chunks_written} chunks in {time.perf_counter() - t0:.0f}s", flush=True)
    print(f"{len(questions)} questions, {len(answerable)} answerable", flush=True)
    retriever = Retriever.for_store(settings, indexer.store, embedder)
    pipeline = QuestionPipeline(retriever, ExtractiveComposer(_CachedEncoder(embedder)))  # type: ignore[arg-type]

    current = answer_mod.ENTITY_COVERAGE
    entity_values = sorted({current, *(float(v) for v in args.entity.split(",") if v)})
    found_threshold = answer_mod.FOUND_THRESHOLD
    answer_mod.FOUND_THRESHOLD = -1.0  # record every score; the threshold is applied below
    outcomes: list[Outcome] = []
    for q in questions:
        got = pipeline.retrieve(Ask(q["text"], top_k=args.top_k))
        golds = list(q.get("metadata", {}).get("answers") or [])
        gate: dict[float, bool] = {}
        gold: dict[float, bool] = {}
        for i, e in enumerate(sorted(entity_values, key=lambda v: v != current)):  # the current value first
            answer_mod.ENTITY_COVERAGE = e
            res = pipeline.answer(got)
            gate[e], gold[e] = res.found, res.found and contains_gold(res.answer, golds)
            if i == 0:
                first = res
        outcomes.append(Outcome(q["_id"], q["_id"] in answerable, qt.classify(q["text"]).value, gate, first.score,
                                gold, first.timings_ms["total"], first.timings_ms["compose"]))
    answer_mod.ENTITY_COVERAGE = current
    answer_mod.FOUND_THRESHOLD = found_threshold
    indexer.close()

    pos = [o for o in outcomes if o.answerable]
    neg = [o for o in outcomes if not o.answerable]
    print(f"ask total ms: p50 {statistics.median(o.ms for o in outcomes):.0f}, "
          f"p90 {sorted(o.ms for o in outcomes)[int(len(outcomes) * 0.9)]:.0f}; "
          f"compose p50 {statistics.median(o.compose_ms for o in outcomes):.0f}, "
          f"mean {statistics.mean(o.compose_ms for o in outcomes):.0f}")
    print(f"entity gate passed (ENTITY_COVERAGE {current:g}): answerable {sum(o.gate[current] for o in pos)}/"
          f"{len(pos)}, unanswerable {sum(o.gate[current] for o in neg)}/{len(neg)}")
    print("threshold  found|answerable  found|unanswerable  gold|answerable&found  gold|answerable")
    for t in THRESHOLDS:
        fa, fu, g = _rates(pos, neg, t, current)
        print(f"{t:9.2f}  {fa:17.2f}  {fu:19.2f}  {g / max(fa, 1e-9):21.2f}  {g:15.2f}")
    print(f"\nper entity gate: the lowest threshold with found|unanswerable <= {args.max_false:g}")
    print("ENTITY_COVERAGE  threshold  found|answerable  found|unanswerable  gold|answerable")
    for e in entity_values:
        t = next((t for t in THRESHOLDS if _rates(pos, neg, t, e)[1] <= args.max_false), None)
        if t is not None:
            fa, fu, g = _rates(pos, neg, t, e)
            print(f"{e:15g}  {t:9.2f}  {fa:16.2f}  {fu:18.2f}  {g:15.2f}")
    print(f"\nper question type at FOUND_THRESHOLD {found_threshold:g}, ENTITY_COVERAGE {current:g} "
          "(answerable / unanswerable questions; found; gold)")
    for kind in sorted({o.kind for o in outcomes}, key=lambda k: -sum(o.kind == k for o in outcomes)):
        p = [o for o in pos if o.kind == kind]
        n = [o for o in neg if o.kind == kind]
        fa, fu, g = _rates(p, n, found_threshold, current)
        print(f"  {kind:13} {len(p):4d} / {len(n):4d}   found {fa:.2f} / {fu:.2f}   gold|answerable {g:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"calibrate_found-{args.set}.json"
    out.write_text(json.dumps([vars(o) for o in outcomes], indent=0), encoding="utf-8")
    print(f"(per question: {out})")


def _rates(pos: list[Outcome], neg: list[Outcome], t: float, e: float) -> tuple[float, float, float]:
    """(found|answerable, found|unanswerable, gold|answerable) at threshold ``t`` and entity gate ``e``."""
    fa = sum(o.gate[e] and o.score >= t for o in pos) / max(1, len(pos))
    fu = sum(o.gate[e] and o.score >= t for o in neg) / max(1, len(neg))
    g = sum(o.gold[e] and o.score >= t for o in pos) / max(1, len(pos))
    return fa, fu, g


if __name__ == "__main__":
    main()
