"""Compose cost with stored sentence vectors vs embedding the candidates per request (issue 13), interleaved.

Uses bench/query.py's cached collection (``data/bench/news-rtqa-DOCS``, built with sentence vectors). For each
question: retrieve once (not timed), then, alternating which goes first, time

* ``stored``: ``Retriever.attach_sentences`` (the one store call) + ``ExtractiveComposer.compose``: the path
  ``QuestionPipeline.answer`` takes now;
* ``encode``: the same hits without sentence vectors + ``compose``: the composer embeds its candidates, as
  before (and still, for collections indexed before sentence vectors were stored);

and checks that both give the same answer. Prints p50/p90 of each and of the fetch alone, the load average, and
writes bench/results/compose_sentences.json. Interleaving makes the difference robust to a busy machine; the
absolute figures are not.

    .venv/bin/python bench/compose_sentences.py --docs 30 --questions 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.collection import open_store  # noqa: E402
from indexer.embedding import Embedder  # noqa: E402
from service.answering import ExtractiveComposer  # noqa: E402
from service.retrieval import Retriever  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "news-rtqa-2023"
RESULTS = REPO / "bench" / "results" / "compose_sentences.json"


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
            "n": len(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=30, help="bench/query.py's --docs (its cached collection)")
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    path = REPO / "data" / "bench" / f"news-rtqa-{args.docs}" / "qdrant"
    if not path.is_dir():
        print(f"{path} is absent: run bench/query.py --docs {args.docs} first", file=sys.stderr)
        return 1
    settings = ServiceSettings(_env_file=None, qdrant_path=path, qdrant_url=None, collection="bench",
                               model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]
    questions = [json.loads(line)["text"] for line in (DATA / "queries.jsonl").open(encoding="utf-8")]
    store = open_store(settings)
    load_before = os.getloadavg()
    try:
        embedder = Embedder(settings)
        retriever = Retriever.for_store(settings, store, embedder)
        composer = ExtractiveComposer(embedder)
        times: dict[str, list[float]] = {"stored": [], "encode": [], "fetch": []}
        same = 0
        for i, q in enumerate(questions[: args.questions]):
            result = retriever.search(q, limit=8)
            if not result.hits:
                continue
            drafts = {}
            for name in (("stored", "encode") if i % 2 else ("encode", "stored")):
                hits = [h.__class__(**{f: getattr(h, f) for f in h.__slots__}) for h in result.hits]
                for h in hits:
                    h.sentences = None
                t0 = time.perf_counter()
                if name == "stored":
                    retriever.attach_sentences(hits)
                    times["fetch"].append((time.perf_counter() - t0) * 1000)
                drafts[name] = composer.compose(q, hits, result.query_vector)
                times[name].append((time.perf_counter() - t0) * 1000)
            same += [p.text for p in drafts["stored"].pieces] == [p.text for p in drafts["encode"].pieces]
    finally:
        store.close()
    out = {name: stats(v) for name, v in times.items()}
    out |= {"same_answer": same, "questions": len(times["stored"]), "docs": args.docs,
            "load_avg": {"before": load_before, "after": os.getloadavg()}, "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2))
    print("| compose path | p50 ms | p90 ms |\n|---|---:|---:|")
    for name, label in (("encode", "embed candidates per request (before)"),
                        ("stored", "stored sentence vectors, fetch included (now)"),
                        ("fetch", "of which the store call")):
        print(f"| {label} | {out[name]['p50']} | {out[name]['p90']} |")
    print(f"\nsame answer on {same}/{len(times['stored'])} questions; load average {load_before} -> {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
