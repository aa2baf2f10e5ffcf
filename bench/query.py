"""Query service benchmark: /v1/search and /v1/ask over real HTTP, next to the floor costs they are made of.

1. Builds (once; cached in the git-ignored data/bench/) an embedded collection from the first ``--docs``
   articles of ../shared/data/news-rtqa-2023/corpus.jsonl with the real Indexer (all 983: about 10k chunks).
2. The floor, in this process: one query embedding, and the hybrid lookup in the store's engine
   (``Retriever.for_store``: ``timings_ms["retrieve"]``), over the same questions. Measured
   before and after the HTTP runs (samples pooled), so both see the machine as busy as the HTTP runs did.
3. Closes the store, starts ``python -m service`` on it (uvicorn subprocess; ``--service-repo`` runs another
   checkout's service on the same store, for before/after) and sends ``--requests`` real questions
   (queries.jsonl) per endpoint with 1, 2 and 4 concurrent clients (keep-alive connections).

Prints the issue-13 table (floor parts, search p50/p99, requests/s 4 clients vs 1, ask p50, service overhead =
search HTTP p50 - embed p50 - lookup p50) and the detailed one, and writes bench/results/query.json with the
CPU flags, usable CPUs, the model's thread/stream settings and ``uptime``.

    .venv/bin/python bench/query.py --requests 200             # full corpus (first build ~9 min)
    .venv/bin/python bench/query.py --docs 150                 # quick run
    .venv/bin/python bench/query.py --env NEWSDESK_EMBED_STREAMS=1   # a setting for the service under test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import machine_info, one_line  # noqa: E402
from indexer.articles import InputError, article_from_record  # noqa: E402
from indexer.collection import open_store  # noqa: E402
from indexer.embedding import Embedder  # noqa: E402
from indexer.pipeline import Indexer  # noqa: E402
from service.retrieval import Retriever  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from tests.service.helpers import free_port, service_env, wait_ready  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "news-rtqa-2023"
CACHE = REPO / "data" / "bench"
RESULTS = REPO / "bench" / "results" / "query.json"

TARGETS = {"search_p50": 15.0, "search_p99": 30.0, "scale_4_vs_1": 1.7, "ask_p50": 40.0, "ask_p50_c4": 100.0,
           "overhead": 4.0}


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


def existing(settings: ServiceSettings) -> dict[str, Any]:
    """Size of a store built elsewhere (``--qdrant-path``)."""
    st = open_store(settings)
    try:
        chunks = st.count()
    finally:
        st.close()
    return {"documents": None, "chunks": chunks, "store": str(settings.qdrant_path)}


def floor_costs(settings: ServiceSettings, questions: list[str]) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Per question: one query embedding; the hybrid (and dense, sparse) lookup in the store's engine."""
    store = open_store(settings)
    try:
        embedder = Embedder(settings)
        retriever = Retriever.for_store(settings, store, embedder)
        for q in questions[:5]:
            retriever.search(q)  # warm-up
        samples: dict[str, list[float]] = {"embed": [], "hybrid": [], "dense": [], "sparse": []}
        for q in questions:
            t0 = time.perf_counter()
            embedder.encode_query(q)
            samples["embed"].append((time.perf_counter() - t0) * 1000)
            for mode in ("hybrid", "dense", "sparse"):
                samples[mode].append(retriever.search(q, limit=10, mode=mode).timings_ms["retrieve"])  # type: ignore[arg-type]
        return samples, embedder.runtime_info()
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


def start_service(env: dict[str, str], repo: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen([sys.executable, "-m", "service"], cwd=repo, env=env, stdout=err, stderr=err,
                                stdin=subprocess.DEVNULL)


def issue_table(floor: dict[str, Any], runs: dict[str, Any], overhead: float) -> list[str]:
    s1, s4 = runs.get("/v1/search c=1"), runs.get("/v1/search c=4")
    a1, a4 = runs.get("/v1/ask c=1"), runs.get("/v1/ask c=4")
    rows = ["| measure | this run | target |", "|---|---:|---:|",
            f"| one query embedding (floor part 1) | {floor['embed']['p50']} ms | - |",
            f"| hybrid lookup in the engine (floor part 2) | {floor['hybrid']['p50']} ms | - |"]
    if s1:
        rows.append(f"| `POST /v1/search` p50, 1 client | {s1['p50']} ms (p99 {s1['p99']} ms) | <= 15 ms, p99 <= 30 ms |")
    if s1 and s4:
        rows.append(f"| `POST /v1/search` requests/s, 4 clients vs 1 | {s4['req_per_s']} vs {s1['req_per_s']} "
                    f"({s4['req_per_s'] / s1['req_per_s']:.2f}x) | >= 1.7x |")
    rows.append(f"| service overhead (search p50 - embed - lookup) | {overhead} ms | < 4 ms |")
    if a1:
        rows.append(f"| `POST /v1/ask` p50, 1 client (extractive) | {a1['p50']} ms | <= 40 ms |")
    if a4:
        rows.append(f"| `POST /v1/ask` p50, 4 clients | {a4['p50']} ms | <= 100 ms |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=983, help="articles to index (default: all 983)")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint and concurrency")
    parser.add_argument("--clients", default="1,2,4", help="concurrency levels for /v1/search (default 1,2,4)")
    parser.add_argument("--ask-clients", default="1,4", help="concurrency levels for /v1/ask ('' skips ask)")
    parser.add_argument("--service-repo", type=Path, default=REPO,
                        help="checkout whose `python -m service` is measured (default: this one)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the service (repeatable), e.g. NEWSDESK_EMBED_STREAMS=1")
    parser.add_argument("--label", default="", help="a name for this run in the JSON and the output file")
    parser.add_argument("--qdrant-path", type=Path, default=None,
                        help="bench an existing embedded store instead of building one (e.g. the full news-rtqa "
                             "index `python -m eval run` left in .eval-cache/indexes/news-rtqa-2023-*/qdrant)")
    parser.add_argument("--collection", default="bench", help="its collection (eval's indexes: 'eval')")
    parser.add_argument("--floor-questions", type=int, default=100, help="questions for the floor (x2: before/after)")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"{DATA} is absent", file=sys.stderr)
        return 1
    store = CACHE / f"news-rtqa-{args.docs}"
    qdrant_path = args.qdrant_path.resolve() if args.qdrant_path else store / "qdrant"
    settings = ServiceSettings(_env_file=None, qdrant_path=qdrant_path, qdrant_url=None, collection=args.collection,
                               model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]
    if args.qdrant_path:
        store = CACHE / f"existing-{args.collection}"
        store.mkdir(parents=True, exist_ok=True)
        corpus = existing(settings)
    else:
        corpus = build(settings, args.docs)
    questions = [json.loads(line)["text"] for line in (DATA / "queries.jsonl").open(encoding="utf-8")]
    picked = [questions[i % len(questions)] for i in range(args.requests)]
    floor_questions = questions[: min(len(questions), args.floor_questions)]
    machine_before = machine_info()
    samples, embed_runtime = floor_costs(settings, floor_questions)

    extra = dict(kv.split("=", 1) for kv in args.env)
    port = free_port()
    env = service_env(settings, NEWSDESK_PORT=str(port), NEWSDESK_LOG_LEVEL="WARNING", **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(args.service_repo.resolve()), extra.get("PYTHONPATH")) if p)
    proc = start_service(env, args.service_repo.resolve(), store / "service.log")
    url = f"http://127.0.0.1:{port}"
    runs: dict[str, Any] = {}
    try:
        wait_ready(url, proc)
        with httpx.Client(base_url=url, timeout=120) as c:
            for q in questions[:10]:
                c.post("/v1/search", json={"query": q})
                if args.ask_clients:
                    c.post("/v1/ask", json={"question": q})
        plan = [("/v1/search", "query", args.clients), ("/v1/ask", "question", args.ask_clients)]
        for path, key, levels in plan:
            bodies = [{key: q} for q in picked]
            for conc in [int(c) for c in levels.split(",") if c]:
                runs[f"{path} c={conc}"] = drive(url, path, bodies, conc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    after, _ = floor_costs(settings, floor_questions)
    for k, v in after.items():
        samples[k] += v
    floor = {k: percentiles(v) for k, v in samples.items()}
    machine_after = machine_info()

    s1 = runs.get("/v1/search c=1")
    overhead = round(s1["p50"] - floor["embed"]["p50"] - floor["hybrid"]["p50"], 2) if s1 else float("nan")
    overhead_server = round(s1["p50"] - s1["server_p50"]["total"], 2) if s1 else float("nan")
    s4 = runs.get("/v1/search c=4")
    scale = round(s4["req_per_s"] / s1["req_per_s"], 2) if s1 and s4 else None
    met = {
        "search_p50": bool(s1 and s1["p50"] <= TARGETS["search_p50"]),
        "search_p99": bool(s1 and s1["p99"] <= TARGETS["search_p99"]),
        "scale_4_vs_1": bool(scale and scale >= TARGETS["scale_4_vs_1"]),
        "overhead": overhead < TARGETS["overhead"],
    }
    result = {"label": args.label, "corpus": corpus, "docs_arg": args.docs, "requests": args.requests,
              "service_repo": str(args.service_repo.resolve()), "service_env": extra,
              "floor_ms": floor, "http_ms": runs, "search_4_vs_1": scale,
              "overhead_ms": {"search_http_p50_minus_embed_and_lookup": overhead,
                              "search_http_p50_minus_server_total": overhead_server},
              "targets": TARGETS, "met": met, "embedder": embed_runtime,
              "machine": {**machine_before, "uptime_after": machine_after["uptime"],
                          "load_avg_after": machine_after["load_avg"]}}
    out = RESULTS.with_name(f"query-{args.label}.json") if args.label else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))

    where = f"{corpus['documents']} articles" if corpus.get("documents") else corpus.get("store")
    print(f"\ncorpus: {where}, {corpus['chunks']} chunks (embedded Qdrant); "
          f"{one_line(machine_before)}")
    print(f"model: {embed_runtime}")
    print(f"uptime before: {machine_before['uptime']}\nuptime after:  {machine_after['uptime']}\n")
    print("\n".join(issue_table(floor, runs, overhead)))
    print("\n| measure | p50 ms | p95 ms | p99 ms | req/s |\n|---|---:|---:|---:|---:|")
    for name, p in floor.items():
        print(f"| floor: {name} | {p['p50']} | {p['p95']} | {p['p99']} | |")
    for name, r in runs.items():
        print(f"| POST {name} | {r['p50']} | {r['p95']} | {r['p99']} | {r['req_per_s']} |")
    print(f"\nHTTP p50 - server-side total p50: {overhead_server} ms; server p50 parts (1 client): "
          f"{s1['server_p50'] if s1 else '-'}")
    print(f"written: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
