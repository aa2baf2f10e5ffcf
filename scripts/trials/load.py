#!/usr/bin/env python
"""Load trial: concurrent clients on /v1/search and /v1/ask while a writer posts documents; then a memory soak.

Starts ``python -m service`` on a free loopback port over a fresh embedded store holding the sample records and
a pool of generated ones. For each client count (default 4 and 16) it runs that many client threads for
``--seconds``, each alternating a search and a question, while one writer thread re-posts pool records in two
alternating versions (so every write replaces a document and the store keeps its size). Every loop stops at its
deadline or its request cap. Then, unless ``--soak 0``: a warm-up, the service's RSS, a soak of ``--soak``
seconds under the same mix, the RSS again.

Passes when no request fails (transport error, timeout or any status but 200) and the RSS after the soak is
within ``--rss-tolerance`` (10 %) of its value after warm-up. Prints a table, writes JSON
(bench/results/load.json unless --json-out).

    .venv/bin/python scripts/trials/load.py                                 # full: 4 and 16 clients x 60 s, 10 min soak
    .venv/bin/python scripts/trials/load.py --seconds 10 --soak 0           # the CI size
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, ServiceProcess, base_env, generated_record, print_rows, sample_records, write_json

QUERIES = ["rail strike pay deal", "Lavrov visit to Mali", "volcano alert level", "harbour reopens",
           "library funding cut", "solar farm approved", "French troops leave Mali", "river works cost"]
QUESTIONS = ["Why did rail workers call off the strike?", "Who visited Mali?", "What did the volcano alert say?",
             "When does the harbour reopen?", "How much will the river works cost?", "What happened to the library?"]
MAX_REQUESTS_PER_CLIENT = 100_000
POOL = 20


@dataclass
class Sample:
    kind: str
    started: float  # time.monotonic()
    seconds: float
    status: int  # 0: transport error or timeout
    message: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, s: Sample) -> None:
        with self.lock:
            self.samples.append(s)


def timed(client: httpx.Client, kind: str, path: str, body: Any, rec: Recorder) -> None:
    t0 = time.monotonic()
    try:
        r = client.post(path, json=body)
        status, message = r.status_code, ("" if r.status_code == 200 else r.text[:300])
    except httpx.HTTPError as exc:
        status, message = 0, f"{type(exc).__name__}: {exc}"
    rec.add(Sample(kind, t0, time.monotonic() - t0, status, message))


def reader(url: str, n: int, deadline: float, rec: Recorder, timeout: float,
           stop: threading.Event | None = None) -> None:
    with httpx.Client(base_url=url, timeout=timeout) as client:
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return
            if (i + n) % 2 == 0:
                timed(client, "search", "/v1/search", {"query": QUERIES[(i + n) % len(QUERIES)], "limit": 5}, rec)
            else:
                timed(client, "ask", "/v1/ask", {"question": QUESTIONS[(i + n) % len(QUESTIONS)]}, rec)


def writer(url: str, deadline: float, rec: Recorder, timeout: float, pause: float = 0.2,
           stop: threading.Event | None = None) -> None:
    """Re-posts pool records in alternating versions: every write replaces a document's chunks."""
    with httpx.Client(base_url=url, timeout=timeout) as client:
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return
            timed(client, "write", "/v1/documents", [generated_record(i % POOL, version=1 + (i // POOL) % 2)], rec)
            time.sleep(pause)


def run_mix(url: str, clients: int, seconds: float, timeout: float = 120, with_writer: bool = True) -> Recorder:
    rec = Recorder()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=reader, args=(url, n, deadline, rec, timeout), daemon=True)
               for n in range(clients)]
    if with_writer:
        threads.append(threading.Thread(target=writer, args=(url, deadline, rec, timeout), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + timeout + 30)
    return rec


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarize(rec: Recorder, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("search", "ask", "write"):
        xs = [s for s in rec.samples if s.kind == kind]
        lat = [s.seconds * 1000 for s in xs]
        errors = [s for s in xs if s.status != 200]
        out[kind] = {"requests": len(xs), "errors": len(errors), "per_s": round(len(xs) / seconds, 2),
                     "p50_ms": round(percentile(lat, 0.5), 1), "p99_ms": round(percentile(lat, 0.99), 1),
                     "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
                     "error_examples": sorted({f"{s.status} {s.message}" for s in errors})[:5]}
    out["errors"] = sum(out[k]["errors"] for k in ("search", "ask", "write"))
    out["reads_per_s"] = round((out["search"]["requests"] + out["ask"]["requests"]) / seconds, 2)
    return out


def populate(url: str) -> None:
    records = sample_records() + [generated_record(n) for n in range(POOL)]
    r = httpx.post(f"{url}/v1/documents", json=records, timeout=600)
    r.raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=30, help="seconds of warm-up before the first RSS reading")
    parser.add_argument("--soak", type=float, default=600, help="soak seconds (0: no soak)")
    parser.add_argument("--soak-clients", type=int, default=4)
    parser.add_argument("--rss-tolerance", type=float, default=0.10)
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "load.json")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-load-"))
    result: dict[str, Any] = {"seconds": args.seconds, "phases": {}}
    try:
        with ServiceProcess(base_env(workdir / "qdrant", "load"), workdir / "service.log") as svc:
            populate(svc.url)
            result["rss_mb_start"] = round(svc.rss_mb(), 1)
            for clients in args.clients:
                phase = summarize(run_mix(svc.url, clients, args.seconds), args.seconds)
                result["phases"][str(clients)] = phase
                print(f"{clients} clients: {phase['reads_per_s']} reads/s, errors {phase['errors']}", flush=True)
            if args.soak > 0:
                run_mix(svc.url, args.soak_clients, args.warmup)
                warm = svc.rss_mb()
                soak = summarize(run_mix(svc.url, args.soak_clients, args.soak), args.soak)
                after = svc.rss_mb()
                result["soak"] = {"clients": args.soak_clients, "seconds": args.soak, "rss_mb_after_warmup":
                                  round(warm, 1), "rss_mb_after_soak": round(after, 1),
                                  "growth": round(after / warm - 1, 4), "errors": soak["errors"],
                                  "reads_per_s": soak["reads_per_s"], "writes": soak["write"]["requests"]}
            result["rss_mb_end"] = round(svc.rss_mb(), 1)
        errors = sum(p["errors"] for p in result["phases"].values()) + result.get("soak", {}).get("errors", 0)
        rss_ok = "soak" not in result or abs(result["soak"]["growth"]) <= args.rss_tolerance
        result.update(errors=errors, rss_ok=rss_ok, passed=errors == 0 and rss_ok)
        rows: list[tuple[str, Any]] = []
        for clients, p in result["phases"].items():
            for kind in ("search", "ask", "write"):
                k = p[kind]
                rows.append((f"{clients} clients {kind}", f"{k['requests']} req, {k['per_s']}/s, p50 {k['p50_ms']} ms, "
                                                         f"p99 {k['p99_ms']} ms, errors {k['errors']}"))
        if "soak" in result:
            s = result["soak"]
            rows.append(("soak RSS", f"{s['rss_mb_after_warmup']} MB -> {s['rss_mb_after_soak']} MB "
                                     f"({s['growth']:+.1%}) over {s['seconds']:.0f} s, errors {s['errors']}"))
        rows.append(("passed", result["passed"]))
        print_rows(rows)
        write_json(args.json_out, result)
        return 0 if result["passed"] else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
