"""Ingest throughput: raw model encode (PyTorch and the configured backend) vs the indexer end to end.

    .venv/bin/python bench/ingest.py [--docs 150] [--seed 0]

Samples ``--docs`` articles of ../shared/data/news-rtqa-2023/corpus.jsonl, builds exactly the texts the pipeline
embeds (title + chunk), and times, in one process and on the same texts:

1. ``SentenceTransformer.encode`` with the PyTorch backend;
2. the same with the configured backend (``NEWSDESK_EMBED_BACKEND``, default OpenVINO), through ``Embedder``;
3. ``Indexer.ingest_paths`` end to end (read, clean, chunk, embed, BM25, upsert) into a fresh temp embedded store.

Models are loaded (and warmed up) before timing. Prints a table and writes bench/results/ingest.json with the
CPU model and flags (AVX2/AVX-512/VNNI/BF16/AMX), the CPUs the process may use, torch's and OpenVINO's thread,
stream and precision settings, ``uptime``, and the resident memory sampled at every progress step of the end to
end run (flat in corpus size: documents are streamed and upserted in batches).

``--variants`` also times the raw OpenVINO encode under other settings in the same run, interleaved (two
rounds, alternating order): one stream on all threads (the pre-issue-13 default), CPU pinning off, and slices
of 32 texts per inference (16 is the default); this is how the defaults were chosen.

Targets (issue 13): end-to-end chunks/s >= 2.5x raw PyTorch encode on every machine; pipeline overhead
(end-to-end minus embed time) < 15% of the run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import indexer.embedding as embedding  # noqa: E402
from bench.machine import machine_info, one_line  # noqa: E402
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


def rss_mb() -> float:
    """Resident memory of this process (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover
        pass
    return float("nan")


VARIANTS: dict[str, tuple[dict[str, Any], int]] = {
    # name: (settings update, texts per inference)
    "default": ({}, 16),
    "1 stream x all threads (old default)": ({"embed_streams": 1}, 16),
    "pinning off": ({"embed_ov_config": {"ENABLE_CPU_PINNING": "NO"}}, 16),
    "slices of 32": ({}, 32),
}


def time_variants(settings: IndexerSettings, texts: list[str], rounds: int = 2) -> list[dict[str, Any]]:
    """Raw OpenVINO encode per variant, interleaved: round r runs the variants in (alternately reversed) order."""
    models: dict[tuple[str, ...], Embedder] = {}
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for r in range(rounds):
        names = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
        for name in names:
            update, slice_size = VARIANTS[name]
            key = tuple(sorted(f"{k}={v}" for k, v in update.items()))
            if key not in models:
                models[key] = Embedder(settings.model_copy(update=update))
            previous, embedding.ENCODE_SLICE = embedding.ENCODE_SLICE, slice_size
            try:
                seconds[name].append(time_encode(lambda t, e=models[key], b=slice_size: e.encode(t, batch_size=b), texts))
            finally:
                embedding.ENCODE_SLICE = previous
    return [{"variant": name, "seconds": s, "chunks_per_s": [len(texts) / x for x in s],
             "runtime": models[tuple(sorted(f"{k}={v}" for k, v in VARIANTS[name][0].items()))].runtime_info()}
            for name, s in seconds.items()]


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
    parser.add_argument("--variants", action="store_true", help="also time OpenVINO settings variants")
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

        machine = machine_info()
        import torch

        torch_default_threads = torch.get_num_threads()  # before Embedder sets it to the usable CPUs
        rows: list[dict[str, Any]] = []
        runtime: dict[str, Any] = {"torch_default_threads": torch_default_threads}
        torch_rate = None
        if not args.skip_torch:
            torch_embedder = Embedder(settings.model_copy(update={"embed_backend": "torch"}))
            runtime["torch"] = torch_embedder.runtime_info()
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
        runtime[settings.embed_backend] = embedder.runtime_info()
        variants = time_variants(settings, texts) if args.variants else []

        corpus_file = Path(tmp) / "input" / "sample.jsonl"
        corpus_file.parent.mkdir()
        corpus_file.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        indexer = Indexer(settings, embedder=embedder)
        memory: list[tuple[int, float]] = [(0, rss_mb())]
        try:
            report = indexer.ingest_paths([corpus_file.parent],
                                          progress=lambda docs, chunks: memory.append((chunks, rss_mb())))
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
            "end_to_end_ge_2_5x_torch": (rows[-1]["x_torch"] or 0) >= 2.5,
            "overhead_lt_15pct": overhead < 0.15,
        },
        "rss_mb_by_chunks_written": memory,
        "variants": variants,
        "runtime": runtime,
        "machine": {**machine, "uptime_after": machine_info()["uptime"]},
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
    print(f"model load {load_seconds:.1f} s (not in the timings); RSS during end to end: "
          f"{', '.join(f'{c} chunks {m:.0f} MB' for c, m in memory)}")
    for v in variants:
        rates = ", ".join(f"{r:.1f}" for r in v["chunks_per_s"])
        print(f"variant {v['variant']:38} chunks/s per round: {rates}")
    print(f"{one_line(result['machine'])}\ntorch: {runtime.get('torch')}\n{settings.embed_backend}: "
          f"{runtime[settings.embed_backend]}\nuptime before: {machine['uptime']}\nuptime after:  "
          f"{result['machine']['uptime_after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
