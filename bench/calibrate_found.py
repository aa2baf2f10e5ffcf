"""Calibrate ``service.answering.extractive.FOUND_THRESHOLD`` on real questions: answerable vs unanswerable.

    .venv/bin/python bench/calibrate_found.py --set rtqa-evidence-2023 --questions 300
    .venv/bin/python bench/calibrate_found.py --set news-rtqa-2023

Each run indexes (into a temp store, never ./data) a corpus from ../shared/data where the evidence of a
fixed-seed half of the questions is REMOVED, so those questions are unanswerable by construction; the other
half keep their evidence. For news-rtqa-2023 the questions with no qrels at all (no article holds the gold
answer) are unanswerable too. Every question is run through ``ask`` with the threshold disabled, recording
the best sentence score, then the threshold is swept offline (found = entity gate passed and score >= T).

Reported per threshold: found-rate on answerable and unanswerable questions, and among answerable found ones
the rate where the answer contains the gold answer (normalised substring, or all of its terms).
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
from service.retrieval import Retriever
from service.settings import ServiceSettings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED = 7


@dataclass
class Outcome:
    qid: str
    answerable: bool
    gate: bool
    """Entity gate passed and a sentence selected (with the threshold off)."""
    score: float
    gold: bool
    ms: float
    compose_ms: float


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
    args = ap.parse_args()

    docs, questions, answerable = build(args.set, args.questions, args.max_doc_chars)
    tmp = Path(tempfile.mkdtemp(prefix="calibrate-"))
    settings = ServiceSettings(_env_file=None, qdrant_path=tmp / "qdrant", qdrant_url=None,  # type: ignore[call-arg]
                        model_cache_dir=Path(__file__).resolve().parents[1] / "data" / "models",
                        collection="calibrate")
    embedder = Embedder(settings)
    corpus_file = tmp / "corpus.jsonl"
    corpus_file.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    t0 = time.perf_counter()
    indexer = Indexer(settings, embedder=embedder)
    report = indexer.ingest_paths([corpus_file])
    print(f"indexed {len(docs)} docs, {report.chunks_written} chunks in {time.perf_counter() - t0:.0f}s; "
          f"{len(questions)} questions, {len(answerable)} answerable", flush=True)
    retriever = Retriever.for_store(settings, indexer.store, embedder)
    pipeline = QuestionPipeline(retriever, ExtractiveComposer(embedder))

    answer_mod.FOUND_THRESHOLD = -1.0  # record every score; the threshold is applied below
    outcomes: list[Outcome] = []
    for q in questions:
        res = pipeline.ask(Ask(q["text"], top_k=args.top_k))
        golds = list(q.get("metadata", {}).get("answers") or [])
        outcomes.append(Outcome(q["_id"], q["_id"] in answerable, res.found, res.score,
                                res.found and contains_gold(res.answer, golds), res.timings_ms["total"],
                                res.timings_ms["compose"]))
    indexer.close()

    pos = [o for o in outcomes if o.answerable]
    neg = [o for o in outcomes if not o.answerable]
    print(f"ask total ms: p50 {statistics.median(o.ms for o in outcomes):.0f}, "
          f"p90 {sorted(o.ms for o in outcomes)[int(len(outcomes) * 0.9)]:.0f}; "
          f"compose p50 {statistics.median(o.compose_ms for o in outcomes):.0f}")
    print(f"entity gate passed: answerable {sum(o.gate for o in pos)}/{len(pos)}, "
          f"unanswerable {sum(o.gate for o in neg)}/{len(neg)}")
    print("threshold  found|answerable  found|unanswerable  gold|answerable&found  gold|answerable")
    for t in [x / 100 for x in range(20, 72, 2)]:
        fp = [o for o in pos if o.gate and o.score >= t]
        fn = [o for o in neg if o.gate and o.score >= t]
        gold = sum(o.gold for o in fp)
        print(f"{t:9.2f}  {len(fp) / len(pos):17.2f}  {len(fn) / max(1, len(neg)):19.2f}  "
              f"{gold / max(1, len(fp)):21.2f}  {gold / len(pos):15.2f}")


if __name__ == "__main__":
    main()
