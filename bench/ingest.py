"""Ingest throughput: raw model encode (PyTorch and the configured backend) vs the indexer end to end.

    .venv/bin/python bench/ingest.py [--docs 150] [--seed 0]

Samples ``--docs`` articles of ../shared/data/news-rtqa-2023/corpus.jsonl, builds exactly the texts the pipeline
embeds (title + chunk), and times, in one process and on the same texts:

1. ``SentenceTransformer.encode`` with the PyTorch backend;
2. the same with the configured backend (``NEWSDESK_EMBED_BACKEND``, default OpenVINO), through ``Embedder``;
3. ``Indexer.ingest_paths`` end to end (read, clean, chunk, embed, BM25, upsert) into a fresh temp embedded store.

Models are loaded (and warmed up) before timing. Prints a table and writes bench/results/ingest.json.
Targets (issue 2): end-to-end chunks/s >= 2x raw PyTorch encode; pipeline overhead (end-to-end minus embed
time) < 15% of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.articles import Article, InputError, article_from_record  # noqa: E402
from indexer.chunking import Chunker  # noqa: E402
from indexer.embedding import Embedder  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from indexer.settings import IndexerSettings  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "news-rtqa-2023" / "corpus.jsonl"
RESULTS = REPO / "bench" / "results" / "ingest.json"


def sample_records(path: Path, docs: int, seed: int) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    usable = []
    for record in records:
        try:
            article_from_record(record)
        except InputError:  # pages that are all boilerplate: the indexer skips them too
            continue
        usable.append(record)
    random.Random(seed).shuffle(usable)
    return usable[:docs]


def embed_texts(records: list[dict[str, Any]], settings: IndexerSettings) -> list[str]:
    """Exactly the strings the pipeline sends to the model."""
    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap, settings.tokenizer_encoding)
    texts: list[str] = []
    for record in records:
        article: Article = article_from_record(record)
        prefix = f"{article.title}\n" if settings.embed_title and article.title else ""
        texts += [prefix + c.text for c in chunker.chunk(article.text)]
    return texts


def time_encode(encode: Any, texts: list[str]) -> float:
    encode(texts[:16])  # warm-up: first-call allocations and compilation
    t0 = time.perf_counter()
    encode(texts)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--skip-torch", action="store_true", help="do not time the PyTorch baseline")
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"no corpus at {args.corpus} (needs ../shared/data)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-") as tmp:
        settings = IndexerSettings(qdrant_path=Path(tmp) / "qdrant", qdrant_url=None, collection="bench")
        if settings.model_cache_dir == Path("./data/models"):
            settings = settings.model_copy(update={"model_cache_dir": REPO / "data" / "models"})
        records = sample_records(args.corpus, args.docs, args.seed)
        texts = embed_texts(records, settings)
        batch = settings.embed_batch_size
        print(f"{len(records)} articles, {len(texts)} chunks (<= {settings.chunk_tokens} tokens), "
              f"batch size {batch}, backend {settings.embed_backend}", file=sys.stderr)

        rows: list[dict[str, Any]] = []
        torch_rate = None
        if not args.skip_torch:
            torch_embedder = Embedder(settings.model_copy(update={"embed_backend": "torch"}))
            seconds = time_encode(lambda t: torch_embedder.encode(t, batch_size=batch), texts)
            torch_rate = len(texts) / seconds
            rows.append({"what": "raw encode, torch", "seconds": seconds, "chunks_per_s": torch_rate})
            del torch_embedder

        t0 = time.perf_counter()
        embedder = Embedder(settings)
        load_seconds = time.perf_counter() - t0
        seconds = time_encode(embedder.encode, texts)
        rows.append({"what": f"raw encode, {settings.embed_backend}", "seconds": seconds,
                     "chunks_per_s": len(texts) / seconds})

        corpus_file = Path(tmp) / "input" / "sample.jsonl"
        corpus_file.parent.mkdir()
        corpus_file.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        indexer = Indexer(settings, embedder=embedder)
        try:
            report = indexer.ingest_paths([corpus_file.parent])
        finally:
            indexer.close()
        written = report.chunks_written
        assert report.count("indexed") == len(records) and written == len(texts), report.summary()
        overhead = (report.seconds - report.embed_seconds) / report.seconds
        rows.append({"what": "indexer end to end", "seconds": report.seconds, "chunks_per_s": written / report.seconds,
                     "docs_per_s": len(records) / report.seconds})

    for row in rows:
        row["x_torch"] = row["chunks_per_s"] / torch_rate if torch_rate else None
    result = {
        "docs": len(records),
        "chunks": len(texts),
        "seed": args.seed,
        "backend": settings.embed_backend,
        "embed_batch_size": batch,
        "chunk_tokens": settings.chunk_tokens,
        "model_load_seconds": round(load_seconds, 2),
        "rows": rows,
        "end_to_end": {
            "seconds": report.seconds,
            "embed_seconds": report.embed_seconds,
            "upsert_seconds": report.upsert_seconds,
            "other_seconds": report.seconds - report.embed_seconds - report.upsert_seconds,
            "overhead_pct": 100 * overhead,
        },
        "targets": {
            "end_to_end_vs_torch_x": rows[-1]["x_torch"],
            "end_to_end_ge_2x_torch": (rows[-1]["x_torch"] or 0) >= 2,
            "overhead_lt_15pct": overhead < 0.15,
        },
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "python": platform.python_version()},
    }
    print(f"\n{'':24} {'seconds':>8} {'chunks/s':>9} {'docs/s':>7} {'x torch':>8}")
    for row in rows:
        docs = f"{row['docs_per_s']:.1f}" if "docs_per_s" in row else "-"
        x = f"{row['x_torch']:.2f}" if row["x_torch"] else "-"
        print(f"{row['what']:24} {row['seconds']:8.1f} {row['chunks_per_s']:9.1f} {docs:>7} {x:>8}")
    e2e = result["end_to_end"]
    print(f"\nend to end {e2e['seconds']:.1f} s = embed {e2e['embed_seconds']:.1f} s + upsert "
          f"{e2e['upsert_seconds']:.1f} s + read/clean/chunk/BM25 {e2e['other_seconds']:.1f} s; "
          f"pipeline overhead {e2e['overhead_pct']:.1f}% (target < 15%)")
    print(f"model load {load_seconds:.1f} s (not in the timings); 1-min load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
