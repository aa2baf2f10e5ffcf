"""Ingest at scale: 1, 2 and 4 ``python -m indexer ingest --shard k/P`` processes writing to one Qdrant server at
once, on the same subset of a shared corpus; then the service's search over HTTP vs gRPC on the result.

1. Starts the Qdrant 1.16.3 server the tests use (``.tools/qdrant/qdrant``) and writes the first ``--docs``
   articles of ../shared/data/news-rtqa-2023/corpus.jsonl to a temp JSONL file.
2. For P in ``--procs``: a fresh collection, P processes ``ingest <file> --shard k/P`` started together (each
   loads the real model and embeds its own share). Wall time from launch until the last exits (model loads
   included), the slowest process's own ingest seconds (``summary.seconds``: read, chunk, embed, upsert), and
   the CPU seconds the processes used (``RUSAGE_CHILDREN``) are recorded; then a check that every article was
   indexed exactly once.
3. gRPC vs HTTP: the service's ``Retriever`` (``Retriever.for_store``, as the service builds it on a server)
   over the last collection with ``NEWSDESK_QDRANT_PREFER_GRPC`` off and on, real questions, hybrid lookups
   (``timings_ms.retrieve``: Qdrant query + payloads), interleaved; the top hits must be the same.

Prints tables; writes bench/results/scale_ingest.json with ``uptime`` and the thread settings.

    nice -n 10 .venv/bin/python bench/scale_ingest.py --docs 120 --procs 1 2 4
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psutil  # noqa: E402
from qdrant_client import QdrantClient  # noqa: E402
from scale_server import percentiles, uptime  # noqa: E402

from tests.qdrant_server import QdrantNode, require_binary  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "news-rtqa-2023"
RESULTS = REPO / "bench" / "results" / "scale_ingest.json"


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_round(procs: int, corpus: Path, node: QdrantNode, workdir: Path) -> dict[str, Any]:
    collection = f"ingest-p{procs}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_QDRANT_URL=node.url, NEWSDESK_COLLECTION=collection, PYTHONPATH=str(REPO),
               NEWSDESK_MODEL_CACHE_DIR=str(REPO / "data" / "models"))
    server = psutil.Process(node.process.pid)  # type: ignore[union-attr]
    server0 = sum(server.cpu_times()[:2])
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-m", "indexer", "ingest", str(corpus), "--shard", f"{k}/{procs}",
                                 "--json", "--no-progress"], env=env, cwd=workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for k in range(1, procs + 1)]
    summaries = []
    for proc in running:
        out, err = proc.communicate(timeout=7200)
        if proc.returncode != 0:
            raise RuntimeError(f"ingest shard failed ({proc.returncode}): {err[-2000:]}")
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    cpu = children_cpu() - cpu0
    server_cpu = sum(server.cpu_times()[:2]) - server0
    client = QdrantClient(url=node.url, check_compatibility=False)
    try:
        points = client.count(collection, exact=True).count
    finally:
        client.close()
    chunks = sum(s["chunks_written"] for s in summaries)
    docs = sum(s["indexed"] for s in summaries)
    ingest_s = max(s["seconds"] for s in summaries)
    return {"procs": procs, "docs": docs, "chunks": chunks, "points_in_collection": points,
            "wall_s": round(wall, 1), "slowest_ingest_s": round(ingest_s, 1),
            "chunks_per_s_wall": round(chunks / wall, 1), "chunks_per_s_ingest": round(chunks / ingest_s, 1),
            "cpu_s": round(cpu, 1), "chunks_per_cpu_s": round(chunks / cpu, 2),
            "server_cpu_s": round(server_cpu, 1),
            "per_process_s": [s["seconds"] for s in summaries], "uptime": uptime()}


def grpc_vs_http(node: QdrantNode, collection: str, questions: list[str]) -> dict[str, Any]:
    from indexer.collection import open_store
    from indexer.embedding import Embedder
    from service.retrieval import Retriever
    from service.settings import ServiceSettings

    base = ServiceSettings(_env_file=None, qdrant_url=node.url, qdrant_grpc_port=node.grpc_port,  # type: ignore[call-arg]
                           collection=collection, model_cache_dir=REPO / "data" / "models")
    embedder = Embedder(base)
    retrievers = {}
    for proto, grpc in (("http", False), ("grpc", True)):
        settings = base.model_copy(update={"qdrant_prefer_grpc": grpc})
        retrievers[proto] = Retriever.for_store(settings, open_store(settings), embedder)
    lat: dict[str, list[float]] = {"http": [], "grpc": []}
    same = 0
    for q in questions[:5]:
        for r in retrievers.values():
            r.search(q)
    for q in questions:
        tops = {}
        for proto, r in retrievers.items():
            res = r.search(q, limit=10)
            lat[proto].append(res.timings_ms["retrieve"])
            tops[proto] = [h.chunk_id for h in res.hits]
        same += tops["http"] == tops["grpc"]
    for r in retrievers.values():
        r.store.close()
    return {proto: percentiles(v) for proto, v in lat.items()} | {"same_top10": f"{same}/{len(questions)}",
                                                                   "uptime": uptime()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=120)
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--questions", type=int, default=100)
    args = p.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-scale-ingest-"))
    lines = [line for line in (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    corpus = workdir / "subset.jsonl"
    corpus.write_text("\n".join(lines[: args.docs]) + "\n", encoding="utf-8")
    node = QdrantNode(require_binary(), workdir / "qdrant", "bench")
    node.start()
    result: dict[str, Any] = {"docs_arg": args.docs, "cpus": os.cpu_count(),
                              "threads": {k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")}}
    try:
        node.wait_ready(120)
        rounds = [run_round(n, corpus, node, workdir) for n in args.procs]
        result["rounds"] = rounds
        questions = [json.loads(line)["text"] for line in (DATA / "queries.jsonl").open(encoding="utf-8")]
        result["search_http_vs_grpc"] = grpc_vs_http(node, f"ingest-p{args.procs[-1]}", questions[: args.questions])
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    one = result["rounds"][0]
    print("| processes | chunks | wall s (with model loads) | slowest ingest s | chunks/s (wall) | speedup | "
          "indexer CPU s | chunks per CPU s | Qdrant CPU s | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in result["rounds"]:
        print(f"| {r['procs']} | {r['chunks']} | {r['wall_s']} | {r['slowest_ingest_s']} | {r['chunks_per_s_wall']} | "
              f"{one['wall_s'] / r['wall_s']:.2f}x | {r['cpu_s']} | {r['chunks_per_cpu_s']} | {r['server_cpu_s']} | "
              f"{r['uptime'].split('load average:')[-1].strip()} |")
    s = result["search_http_vs_grpc"]
    print("\n| service -> Qdrant | lookup p50 ms | p99 ms |\n|---|---:|---:|")
    for proto in ("http", "grpc"):
        print(f"| {proto} | {s[proto]['p50']} | {s[proto]['p99']} |")
    print(f"same top 10: {s['same_top10']}; {s['uptime']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
