"""Qdrant server at up to a million points: upsert rate, HNSW build, search p50/p99, RAM, disk and recall@10.

Embedding a million real chunks would take hours on this machine, so the points are **real embeddings plus
perturbed copies**: the base set is every dense vector in the eval embedding cache (``.eval-cache/embeddings``,
all-MiniLM-L6-v2 vectors of chunks of the shared corpora, ~2.2k; ``--base-cache`` points elsewhere), and point
``i`` is ``normalise(base[i % B] + N(0, sigma^2 I))`` with a fixed seed (sigma 0.03: a copy keeps cosine ~0.86
with its original, about the similarity of a real chunk to its nearest real neighbour). Vectors equal to a query
vector are dropped from the base. The queries are real question embeddings (``queries.jsonl`` of the shared
sets, embedded once with the project's ``Embedder``, cached in data/bench/scale/).

One run = one collection on one server (the Qdrant 1.16.3 binary the tests use, ``.tools/qdrant/qdrant``):

1. create the collection (cosine, HNSW m=16 ef_construct=100 as ``indexer.settings``; ``--quant int8``: scalar
   int8 quantization kept in RAM, original vectors on disk, which is what one would run to save RAM);
2. upsert ``--points`` in batches over gRPC, timed (points/s = upsert calls only, the index builds behind);
3. wait for status green (HNSW build time), restart the server and wait until ready (so RAM is what a server
   that opened the collection holds, not what the build left behind), then run queries once to warm up;
4. RSS of the server process, disk of the collection folder, search p50/p99 (limit 10, hnsw_ef 128, over HTTP
   and gRPC; with int8 also without rescoring) and recall@10 against ``exact=True`` search of the same points.

Results merge into bench/results/scale_server.json keyed by ``<points>/<quant>``; ``uptime`` goes with each.

    nice -n 10 .venv/bin/python bench/scale_server.py --points 1000000 --quant none
    nice -n 10 .venv/bin/python bench/scale_server.py --points 1000000 --quant int8
    .venv/bin/python bench/scale_server.py --table        # print the table of what is recorded
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.qdrant_server import QdrantNode, require_binary  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
CACHE = REPO / "data" / "bench" / "scale"
RESULTS = REPO / "bench" / "results" / "scale_server.json"
QUERY_SETS = ("news-rtqa-2023", "multihop-rag-70", "rtqa-evidence-2023")
DIM = 384


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2),
            "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2), "n": len(ordered)}


def query_vectors() -> np.ndarray:
    """Every question of the shared sets, embedded once with the project's Embedder (cached)."""
    path = CACHE / "queries.npy"
    if path.exists():
        return np.load(path)
    from indexer.embedding import Embedder
    from indexer.settings import IndexerSettings

    texts = [json.loads(line)["text"] for name in QUERY_SETS
             for line in (SHARED / name / "queries.jsonl").read_text().splitlines() if line.strip()]
    settings = IndexerSettings(_env_file=None, model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]
    vectors = Embedder(settings).encode(texts).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def base_vectors(cache_glob: str, queries: np.ndarray) -> np.ndarray:
    """Real chunk vectors from the eval embedding cache, minus any that is a query's own vector."""
    files = sorted(glob.glob(cache_glob))
    if not files:
        raise SystemExit(f"no embedding cache at {cache_glob} (run an eval once, or pass --base-cache)")
    vectors = np.concatenate([np.load(f)["vectors"] for f in files]).astype(np.float32)
    vectors = np.unique(vectors, axis=0)
    is_query = (vectors @ queries.T).max(axis=1) > 0.9999
    return vectors[~is_query]


def synth_batch(base: np.ndarray, start: int, count: int, sigma: float) -> np.ndarray:
    """Points ``start .. start+count``: base[i % B] plus Gaussian noise, renormalised; deterministic per batch."""
    idx = np.arange(start, start + count) % len(base)
    rng = np.random.default_rng(start)
    out = base[idx] + rng.normal(0.0, sigma, (count, base.shape[1])).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def rss_parts(pid: int) -> dict[str, float]:
    """VmRSS split into anonymous memory (heap: what the server allocated) and file pages (mmap'd segments)."""
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            for key, name in (("VmRSS:", "rss"), ("RssAnon:", "anon"), ("RssFile:", "file")):
                if line.startswith(key):
                    out[name] = round(int(line.split()[1]) / 1024, 1)
    return out


def du_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_blocks * 512
    return round(total / 2**20, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from qdrant_client import QdrantClient, models

    queries = query_vectors()
    base = base_vectors(args.base_cache, queries)
    rng = np.random.default_rng(7)
    qsel = queries[rng.choice(len(queries), size=min(args.queries, len(queries)), replace=False)]
    workdir = Path(args.workdir) / f"{args.points}-{args.quant}"
    if workdir.exists():
        shutil.rmtree(workdir)
    node = QdrantNode(require_binary(), workdir, "bench")
    node.start()
    node.wait_ready(120)
    name = "scale"
    out: dict[str, Any] = {"points": args.points, "quant": args.quant, "base_vectors": len(base),
                           "sigma": args.sigma, "queries": len(qsel), "uptime_start": uptime()}
    try:
        client = QdrantClient(url=node.url, grpc_port=node.grpc_port, prefer_grpc=True, timeout=600,
                              check_compatibility=False)
        quant = None
        if args.quant == "int8":
            quant = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=True))
        client.create_collection(
            name,
            vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE,
                                               on_disk=args.quant == "int8"),
            hnsw_config=models.HnswConfigDiff(m=16, ef_construct=100),
            quantization_config=quant,
        )
        t0 = time.perf_counter()
        done = 0
        next_report = time.monotonic() + 30
        while done < args.points:
            n = min(args.batch, args.points - done)
            vecs = synth_batch(base, done, n, args.sigma)
            client.upsert(name, points=models.Batch(ids=list(range(done, done + n)), vectors=vecs.tolist()),
                          wait=False)
            done += n
            if time.monotonic() >= next_report:
                next_report += 30
                el = time.perf_counter() - t0
                print(f"upserted {done}/{args.points} ({done / el:.0f} points/s)", file=sys.stderr, flush=True)
        # the last wait=False batch is queued; count only when the server has applied everything
        while client.count(name, exact=True).count < args.points:
            time.sleep(0.5)
        upsert_s = time.perf_counter() - t0
        out.update(upsert_seconds=round(upsert_s, 1), points_per_s=round(args.points / upsert_s))
        print(f"upsert: {upsert_s:.0f} s, {args.points / upsert_s:.0f} points/s; building the index",
              file=sys.stderr, flush=True)
        t1 = time.perf_counter()
        green = 0  # green on 3 polls in a row: the optimizer may not have picked the last segment up yet
        while green < 3:
            info = client.get_collection(name)
            green = green + 1 if info.status == models.CollectionStatus.GREEN else 0
            if time.perf_counter() - t1 > args.index_timeout:
                out["index_timeout"] = True
                break
            time.sleep(2)
        out.update(index_seconds=round(time.perf_counter() - t1, 1), indexed_vectors=info.indexed_vectors_count,
                   segments=info.segments_count, rss_mb_after_build=rss_mb(node.process.pid))  # type: ignore[union-attr]
        client.close()
        # restart: RAM as a server that opened this collection holds it
        node.stop()
        t2 = time.perf_counter()
        node.start()
        node.wait_ready(600)
        out["restart_ready_s"] = round(time.perf_counter() - t2, 1)
        grpc = QdrantClient(url=node.url, grpc_port=node.grpc_port, prefer_grpc=True, timeout=600,
                            check_compatibility=False)
        http = QdrantClient(url=node.url, timeout=600, check_compatibility=False)
        while grpc.get_collection(name).status != models.CollectionStatus.GREEN:
            time.sleep(1)

        def search(client: QdrantClient, q: np.ndarray, params: models.SearchParams) -> list[int]:
            res = client.query_points(name, query=q.tolist(), limit=10, search_params=params, with_payload=False)
            return [int(p.id) for p in res.points]

        variants: dict[str, models.SearchParams] = {}
        for ef in args.ef:  # the first ef is the headline; more show the recall / latency trade-off
            tag = "" if ef == args.ef[0] else f"@ef{ef}"
            if args.quant == "int8":
                variants[f"hnsw{tag}"] = models.SearchParams(
                    hnsw_ef=ef, quantization=models.QuantizationSearchParams(ignore=True))
                variants[f"hnsw_int8_rescore{tag}"] = models.SearchParams(
                    hnsw_ef=ef, quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.0))
                variants[f"hnsw_int8_no_rescore{tag}"] = models.SearchParams(
                    hnsw_ef=ef, quantization=models.QuantizationSearchParams(rescore=False))
            else:
                variants[f"hnsw{tag}"] = models.SearchParams(hnsw_ef=ef)
        pid = node.process.pid  # type: ignore[union-attr]
        out["rss_ready"] = rss_parts(pid)
        for q in qsel[:20]:  # warm-up: page the index (and, on disk, the vectors) in
            search(grpc, q, next(iter(variants.values())))
        searches: dict[str, Any] = {}
        found: dict[str, list[list[int]]] = {}
        for label, params in variants.items():
            for proto, client in (("grpc", grpc), ("http", http)):
                lat, got = [], []
                for q in qsel:
                    s = time.perf_counter()
                    got.append(search(client, q, params))
                    lat.append((time.perf_counter() - s) * 1000)
                searches[f"{label}/{proto}"], found[f"{label}/{proto}"] = percentiles(lat), got
        # RAM of a server that has answered HNSW searches only (exact search below touches every vector)
        out["rss_after_hnsw"] = rss_parts(pid)
        out["rss_mb"] = out["rss_after_hnsw"]["rss"]
        t3 = time.perf_counter()
        exact = [search(grpc, q, models.SearchParams(exact=True)) for q in qsel]
        out["exact_search_ms_mean"] = round((time.perf_counter() - t3) * 1000 / len(qsel), 1)
        for key, got in found.items():
            searches[key]["recall_at_10"] = round(float(np.mean(
                [len(set(g) & set(t)) / 10 for g, t in zip(got, exact, strict=True)])), 4)
        out["search"] = searches
        out["rss_after_exact"] = rss_parts(pid)
        out["disk_mb"] = du_mb(workdir / "storage" / "collections" / name)
        out["uptime_end"] = uptime()
        grpc.close()
        http.close()
    finally:
        node.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return out


def table(results: dict[str, Any]) -> str:
    rows = ["| points | quant | upsert points/s | index build s | RSS MB | disk MB | search | p50 ms | p99 ms "
            "| recall@10 |", "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in sorted(results.values(), key=lambda r: (r["points"], r["quant"])):
        for label, s in r.get("search", {}).items():
            rows.append(f"| {r['points']:,} | {r['quant']} | {r.get('points_per_s', '-')} | "
                        f"{r.get('index_seconds', '-')} | {r.get('rss_mb', '-')} | {r.get('disk_mb', '-')} | {label} | "
                        f"{s['p50']} | {s['p99']} | {s['recall_at_10']:.3f} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--quant", choices=("none", "int8"), default="none")
    p.add_argument("--sigma", type=float, default=0.03)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--ef", type=int, nargs="+", default=[128], help="hnsw_ef at search time (several: a sweep)")
    p.add_argument("--index-timeout", type=float, default=5400)
    p.add_argument("--base-cache", default=str(REPO / ".eval-cache" / "embeddings" / "*" / "*.npz"))
    p.add_argument("--workdir", default=str(CACHE / "server"))
    p.add_argument("--keep", action="store_true", help="keep the server's storage afterwards")
    p.add_argument("--table", action="store_true", help="only print the recorded table")
    args = p.parse_args()
    if not args.table:
        r = run(args)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        # one file per run too: runs of other sizes may be going on at the same time
        (RESULTS.parent / f"scale_server-{r['points']}-{r['quant']}.json").write_text(json.dumps(r, indent=2))
        print(json.dumps(r, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for path in sorted(RESULTS.parent.glob("scale_server-*-*.json")):
        r = json.loads(path.read_text())
        results[f"{r['points']}/{r['quant']}"] = r
    RESULTS.write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
