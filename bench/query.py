"""Query service benchmark: /v1/search and /v1/ask over real HTTP, next to the bare costs they are made of.

1. Builds (once; cached in the git-ignored data/bench/) an embedded collection from the first ``--docs``
   articles of ../shared/data/news-rtqa-2023/corpus.jsonl with the real Indexer (all 983: about 10k chunks).
2. Bare costs in this process: one query embedding; one Qdrant query per mode (dense, sparse, hybrid), as
   ``Retriever`` runs them (``timings_ms["retrieve"]``), over the same questions.
3. Closes the store, starts ``python -m service`` on it (uvicorn subprocess) and sends ``--requests`` real
   questions (queries.jsonl) per endpoint with 1 and 4 concurrent clients.

Prints p50/p95/p99 and req/s, the service overhead (HTTP p50 minus embed p50 minus Qdrant p50), and writes
bench/results/query.json.

    .venv/bin/python bench/query.py               # full corpus (first build ~9 min)
    .venv/bin/python bench/query.py --docs 150    # quick run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.articles import InputError, article_from_record  # noqa: E402
from indexer.collection import Store  # noqa: E402
from indexer.embedding import Embedder  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from service.retrieval import Retriever  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from tests.service.helpers import free_port, service_env, start_service_process, wait_ready  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "news-rtqa-2023"
CACHE = REPO / "data" / "bench"
RESULTS = REPO / "bench" / "results" / "query.json"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": round(statistics.median(ordered), 2), "p95": pick(0.95), "p99": pick(0.99), "n": len(ordered)}


def build(settings: ServiceSettings, docs: int) -> dict[str, Any]:
    marker = settings.qdrant_path.parent / "built.json"
    if marker.exists():
        return json.loads(marker.read_text())
    records = []
    with (DATA / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if len(records) >= docs:
                break
            try:
                records.append(article_from_record(json.loads(line), "bench"))
            except InputError:
                continue
    print(f"building the bench collection from {len(records)} articles (once) ...", file=sys.stderr)
    indexer = Indexer(settings)
    report = indexer.ingest(records, progress=lambda d, c: print(f"  {d} docs, {c} chunks", file=sys.stderr))
    stats = indexer.stats()
    indexer.close()
    info = {"documents": stats["documents"], "chunks": stats["chunks"], "build_s": round(report.seconds, 1)}
    marker.write_text(json.dumps(info))
    return info


def bare_costs(settings: ServiceSettings, questions: list[str]) -> dict[str, Any]:
    store = Store.open(settings)
    try:
        embedder = Embedder(settings)
        retriever = Retriever.for_store(settings, store, embedder)
        for q in questions[:5]:
            retriever.search(q)  # warm-up
        embed, per_mode = [], {"dense": [], "sparse": [], "hybrid": []}
        for q in questions:
            t0 = time.perf_counter()
            embedder.encode_query(q)
            embed.append((time.perf_counter() - t0) * 1000)
            for mode, out in per_mode.items():
                out.append(retriever.search(q, limit=10, mode=mode).timings_ms["retrieve"])  # type: ignore[arg-type]
        return {"embed": percentiles(embed), **{f"qdrant_{m}": percentiles(v) for m, v in per_mode.items()}}
    finally:
        store.close()


def drive(url: str, path: str, bodies: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    server: dict[str, list[float]] = {}
    errors = 0
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=120) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop()
                t0 = time.perf_counter()
                r = c.post(path, json=body)
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if r.status_code != 200:
                        errors += 1
                        continue
                    latencies.append(ms)
                    for k, v in r.json()["timings_ms"].items():
                        server.setdefault(k, []).append(v)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {**percentiles(latencies), "req_per_s": round(len(latencies) / wall, 1), "errors": errors,
            "server_p50": {k: round(statistics.median(v), 2) for k, v in server.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=983, help="articles to index (default: all 983)")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint and concurrency")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    store = CACHE / f"news-rtqa-{args.docs}"
    settings = ServiceSettings(_env_file=None, qdrant_path=store / "qdrant", qdrant_url=None, collection="bench",
                        model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]
    corpus = build(settings, args.docs)
    questions = [json.loads(line)["text"] for line in (DATA / "queries.jsonl").open(encoding="utf-8")]
    picked = [questions[i % len(questions)] for i in range(args.requests)]
    bare = bare_costs(settings, questions[: min(len(questions), 100)])

    port = free_port()
    env = service_env(settings, NEWSDESK_PORT=str(port), NEWSDESK_LOG_LEVEL="WARNING")
    proc = start_service_process(env, store / "service.log")
    url = f"http://127.0.0.1:{port}"
    runs: dict[str, Any] = {}
    try:
        wait_ready(url, proc)
        with httpx.Client(base_url=url, timeout=120) as c:
            for q in questions[:10]:
                c.post("/v1/search", json={"query": q})
                c.post("/v1/ask", json={"question": q})
        for path, key in (("/v1/search", "query"), ("/v1/ask", "question")):
            bodies = [{key: q} for q in picked]
            for conc in (1, 4):
                runs[f"{path} c={conc}"] = drive(url, path, bodies, conc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    base = bare["embed"]["p50"] + bare["qdrant_hybrid"]["p50"]
    overhead = {
        "search_http_p50_minus_embed_and_qdrant": round(runs["/v1/search c=1"]["p50"] - base, 2),
        "search_http_p50_minus_server_total": round(
            runs["/v1/search c=1"]["p50"] - runs["/v1/search c=1"]["server_p50"]["total"], 2),
    }
    result = {"corpus": corpus, "docs_arg": args.docs, "requests": args.requests, "bare_ms": bare, "http_ms": runs,
              "overhead_ms": overhead, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                   "load_avg": os.getloadavg()}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))

    print(f"\ncorpus: {corpus['documents']} articles, {corpus['chunks']} chunks (embedded Qdrant)")
    print("| measure | p50 ms | p95 ms | p99 ms | req/s |\n|---|---|---|---|---|")
    for name, p in bare.items():
        print(f"| bare {name} | {p['p50']} | {p['p95']} | {p['p99']} | |")
    for name, r in runs.items():
        print(f"| POST {name} | {r['p50']} | {r['p95']} | {r['p99']} | {r['req_per_s']} |")
    print(f"\nservice overhead (search p50 - embed p50 - qdrant hybrid p50): "
          f"{overhead['search_http_p50_minus_embed_and_qdrant']} ms; HTTP p50 - server-side total p50: "
          f"{overhead['search_http_p50_minus_server_total']} ms")
    print(f"written: {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
