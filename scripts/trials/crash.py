#!/usr/bin/env python
"""Crash trials: ingests and the service killed with SIGKILL at random (seeded) moments, then run again.

Two trials, each against a clean run over the same records into a fresh store (the reference):

* ``ingest``: ``python -m indexer ingest corpus.jsonl`` killed at a random moment of its writing phase (drawn
  uniformly between its first stored point and the reference run's end), then a normal ingest over the same store.
* ``service``: ``python -m service`` killed while a client posts the records to ``POST /v1/documents`` in batches,
  then started again over the same store and every batch posted again.

Passes when every final collection equals the reference: the same point ids and the same payloads (a SHA-256
of each payload without ``indexed_at``), and no document half-written. Prints a table and writes JSON
(bench/results/crash.json unless --json-out).

    .venv/bin/python scripts/trials/crash.py                                  # full: 2,000 shared records, 10 kills each
    .venv/bin/python scripts/trials/crash.py --source samples --size 60 --kills 3 --small-chunks   # the CI size

``--stand-in-embedder`` replaces the embedding model in every subprocess by a deterministic one
(``scripts/trials/stand_in/sitecustomize.py``): vectors are not compared, and computing them is nearly all of
an ingest's time, so this makes the full size feasible on a small machine while every write is the real code's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    REPO,
    ServiceProcess,
    base_env,
    build_corpus,
    compare,
    document_consistency,
    print_rows,
    seeded,
    snapshot,
    write_json,
)

COLLECTION = "crash"
STAND_IN = Path(__file__).resolve().parent / "stand_in"
EXIT_SKIPPED = 3  # indexer ingest: done, but some input was skipped (each one listed on stderr)
SMALL_CHUNKS = {"NEWSDESK_CHUNK_TOKENS": "64", "NEWSDESK_CHUNK_OVERLAP": "16", "NEWSDESK_EMBED_BATCH_SIZE": "8"}


class FirstWrite:
    """Watches an ingest's progress lines (``--progress-interval 0``: one after every written batch) for the
    first chunks stored; the embedded store admits no second reader while the writer holds it."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.at: float | None = None
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                self.lines.append(line)
                m = _PROGRESS.match(line)
                if self.at is None and m and int(m.group(1)) > 0:
                    self.at = time.monotonic()

    def text(self) -> str:
        self._thread.join(60)
        return "".join(self.lines)


_PROGRESS = re.compile(r"^progress: .*?, (\d+) chunks, ")
INGEST = [sys.executable, "-m", "indexer", "ingest", "--progress-interval", "0"]


def rerun_summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The rerun's own counts (indexed / replaced / unchanged / chunks written) from its ``--json`` line."""
    for line in reversed(proc.stdout.splitlines()):
        try:
            summary = json.loads(line)
        except ValueError:
            continue
        if isinstance(summary, dict):
            return {k: summary.get(k) for k in ("indexed", "replaced", "unchanged", "skipped", "chunks_written")}
    return {}


def ingest(corpus: Path, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "indexer", "ingest", "--no-progress", "--json", str(corpus)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def timed_ingest(corpus: Path, env: dict[str, str], store: Path, cwd: Path,
                 timeout: float) -> tuple[float, float, int, int]:
    """A clean ingest; returns (seconds to its first stored point, seconds in all, exit code, records skipped).

    Exit 3 (some records skipped, e.g. empty once boilerplate is removed) is a finished run: the killed runs'
    reruns must then end the same way, skipping the same records."""
    started = time.monotonic()
    proc = subprocess.Popen([*INGEST, str(corpus)], env=env,
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watch = FirstWrite(proc)
    try:
        while proc.poll() is None and time.monotonic() - started < timeout:
            time.sleep(0.05)
        if proc.poll() is None:
            raise TimeoutError(f"the reference ingest took more than {timeout} s")
        err = watch.text()
        first = None if watch.at is None else watch.at - started
        if proc.returncode not in (0, EXIT_SKIPPED):
            raise RuntimeError(f"the reference ingest failed ({proc.returncode}): {err}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    total = time.monotonic() - started
    skipped = sum(1 for line in err.splitlines() if line.startswith("skipped "))
    return (first if first is not None else total), total, proc.returncode, skipped


def run_kills(kills: int, parallel: int, one: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """``one(i)`` for every kill, ``parallel`` at a time (each kill has its own store and processes)."""
    if parallel <= 1:
        return [one(i) for i in range(kills)]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(one, range(kills)))


def ingest_trial(corpus: Path, workdir: Path, kills: int, seed: int, extra_env: dict[str, str],
                 timeout: float, parallel: int = 1) -> dict[str, Any]:
    rng = seeded(seed)
    ref_store = workdir / "ingest-ref"
    first_write, total, ref_exit, ref_skipped = timed_ingest(
        corpus, base_env(ref_store, COLLECTION, **extra_env), ref_store, workdir, timeout)
    reference = snapshot(ref_store, COLLECTION)
    # drawn up front, in kill order: the same moments whether the kills run one by one or in parallel
    delays = [rng.uniform(0, max(total - first_write, 0.1)) for _ in range(kills)]

    def one(i: int) -> dict[str, Any]:
        store = workdir / f"ingest-kill-{i}"
        env = base_env(store, COLLECTION, **extra_env)
        run_started = time.monotonic()
        proc = subprocess.Popen([*INGEST, str(corpus)], env=env, cwd=workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        watch = FirstWrite(proc)
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and watch.at is None and time.monotonic() < deadline:
                time.sleep(0.02)
            delay = delays[i]
            end = time.monotonic() + delay
            while proc.poll() is None and time.monotonic() < end:
                time.sleep(0.01)
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        killed_run_s = time.monotonic() - run_started
        partial = len(snapshot(store, COLLECTION))
        rerun_started = time.monotonic()
        rerun = ingest(corpus, env, workdir, timeout)
        rerun_s = time.monotonic() - rerun_started
        final = snapshot(store, COLLECTION)
        consistency = document_consistency(store, COLLECTION)
        diff = compare(reference, final)
        trial = {"kill_after_first_write_s": round(delay, 2), "killed": killed, "points_at_kill": partial,
                 "killed_run_s": round(killed_run_s, 1), "rerun_s": round(rerun_s, 1),
                 "rerun": rerun_summary(rerun), "rerun_exit": rerun.returncode, **diff,
                 "half_written": len(consistency["half_written"]),
                 "equal": rerun.returncode == ref_exit and rerun_summary(rerun).get("skipped") == ref_skipped
                 and not any(diff.values()) and not consistency["half_written"]}
        print(f"ingest kill {i}: {trial}", flush=True)
        shutil.rmtree(store, ignore_errors=True)
        return trial

    trials = run_kills(kills, parallel, one)
    return {"reference_points": len(reference), "reference_seconds": round(total, 1),
            "reference_exit": ref_exit, "reference_skipped_records": ref_skipped,
            "first_write_seconds": round(first_write, 1), "trials": trials,
            "mid_write_kills": sum(1 for t in trials if t["killed"] and 0 < t["points_at_kill"] < len(reference)),
            "passed": bool(trials) and all(t["equal"] for t in trials)}


def post_all(url: str, batches: list[list[dict[str, Any]]], stop: threading.Event | None = None,
             counts: dict[str, int] | None = None) -> list[int]:
    """POST every batch in turn; the statuses. A transport error (the service killed) ends it quietly.
    ``counts`` (if given) gathers the per-record statuses the service answered (indexed, unchanged, ...)."""
    statuses: list[int] = []
    with httpx.Client(base_url=url, timeout=300) as client:
        for batch in batches:
            if stop is not None and stop.is_set():
                break
            try:
                r = client.post("/v1/documents", json=batch)
            except httpx.TransportError:
                break
            statuses.append(r.status_code)
            if r.status_code != 200:
                raise RuntimeError(f"POST /v1/documents answered {r.status_code}: {r.text[:500]}")
            if counts is not None:
                for res in r.json().get("results", []):
                    counts[res["status"]] = counts.get(res["status"], 0) + 1
    return statuses


def _post_into(outcome: dict[str, Any], url: str, batches: list[list[dict[str, Any]]]) -> None:
    outcome["statuses"] = post_all(url, batches)


def service_trial(records: list[dict[str, Any]], workdir: Path, kills: int, seed: int, batch: int,
                  extra_env: dict[str, str], parallel: int = 1) -> dict[str, Any]:
    rng = seeded(seed + 1)
    batches = [records[i:i + batch] for i in range(0, len(records), batch)]
    ref_store = workdir / "service-ref"
    with ServiceProcess(base_env(ref_store, COLLECTION, **extra_env), workdir / "service-ref.log") as svc:
        started = time.monotonic()
        post_all(svc.url, batches)
        post_seconds = time.monotonic() - started
    reference = snapshot(ref_store, COLLECTION)
    # drawn up front, in kill order: the same moments whether the kills run one by one or in parallel
    delays = [rng.uniform(0.05, max(post_seconds * 0.95, 0.1)) for _ in range(kills)]

    def one(i: int) -> dict[str, Any]:
        store = workdir / f"service-kill-{i}"
        env = base_env(store, COLLECTION, **extra_env)
        run_started = time.monotonic()
        svc = ServiceProcess(env, workdir / f"service-kill-{i}.log").start()
        outcome: dict[str, Any] = {}
        poster = threading.Thread(target=_post_into, args=(outcome, svc.url, batches), daemon=True)
        delay = delays[i]
        try:
            poster.start()
            poster.join(timeout=delay)
            killed = poster.is_alive()
            svc.kill()
            poster.join(timeout=60)
        finally:
            svc.kill()
        killed_run_s = time.monotonic() - run_started
        partial = len(snapshot(store, COLLECTION))
        repost: dict[str, int] = {}
        rerun_started = time.monotonic()
        with ServiceProcess(env, workdir / f"service-rerun-{i}.log") as again:
            post_all(again.url, batches, counts=repost)
        rerun_s = time.monotonic() - rerun_started
        final = snapshot(store, COLLECTION)
        consistency = document_consistency(store, COLLECTION)
        diff = compare(reference, final)
        trial = {"kill_after_s": round(delay, 2), "killed_mid_post": killed,
                 "batches_answered_before_kill": len(outcome.get("statuses", [])), "points_at_kill": partial,
                 "killed_run_s": round(killed_run_s, 1), "rerun_s": round(rerun_s, 1), "repost": repost,
                 **diff, "half_written": len(consistency["half_written"]),
                 "equal": not any(diff.values()) and not consistency["half_written"]}
        print(f"service kill {i}: {trial}", flush=True)
        shutil.rmtree(store, ignore_errors=True)
        return trial

    trials = run_kills(kills, parallel, one)
    return {"reference_points": len(reference), "post_seconds": round(post_seconds, 1), "batches": len(batches),
            "trials": trials,
            "mid_write_kills": sum(1 for t in trials if t["killed_mid_post"] and 0 < t["points_at_kill"] < len(reference)),
            "passed": bool(trials) and all(t["equal"] for t in trials)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["shared", "samples"], default="shared",
                        help="shared: ../shared/data records; samples: samples/*.jsonl (both topped up with generated ones)")
    parser.add_argument("--size", type=int, default=2000, help="records (default 2,000)")
    parser.add_argument("--kills", type=int, default=10, help="kills per trial (default 10)")
    parser.add_argument("--service-size", type=int, help="records for the service trial (default --size)")
    parser.add_argument("--batch", type=int, default=20, help="records per POST /v1/documents")
    parser.add_argument("--trial", choices=["ingest", "service", "both"], default="both")
    parser.add_argument("--small-chunks", action="store_true", help="64-token chunks, batches of 8: more flushes")
    parser.add_argument("--stand-in-embedder", action="store_true",
                        help="a deterministic stand-in for the embedding model in every subprocess (see above)")
    parser.add_argument("--parallel", type=int, default=1,
                        help="kills run at the same time, each in its own store (the reference runs alone first)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed for one ingest run")
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "crash.json")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-crash-"))
    extra = dict(SMALL_CHUNKS) if args.small_chunks else {}
    if args.stand_in_embedder:
        extra["PYTHONPATH"] = os.pathsep.join([str(STAND_IN), str(REPO)])
    started = time.monotonic()
    try:
        records = build_corpus(workdir / "corpus", args.size, args.source)
        result: dict[str, Any] = {"source": args.source, "records": len(records), "kills": args.kills,
                                  "seed": args.seed, "small_chunks": args.small_chunks,
                                  "stand_in_embedder": args.stand_in_embedder, "parallel": args.parallel,
                                  "load_average_at_start": os.getloadavg()}
        if args.trial in ("ingest", "both"):
            t0 = time.monotonic()
            result["ingest"] = ingest_trial(workdir / "corpus" / "corpus.jsonl", workdir, args.kills, args.seed,
                                            extra, args.timeout, args.parallel)
            result["ingest"]["trial_seconds"] = round(time.monotonic() - t0, 1)
            result["ingest"]["load_average_at_end"] = os.getloadavg()
        if args.trial in ("service", "both"):
            t0 = time.monotonic()
            result["service"] = service_trial(records[:args.service_size or args.size], workdir, args.kills,
                                              args.seed, args.batch, extra, args.parallel)
            result["service"]["trial_seconds"] = round(time.monotonic() - t0, 1)
            result["service"]["load_average_at_end"] = os.getloadavg()
        result["passed"] = all(result[t]["passed"] for t in ("ingest", "service") if t in result)
        rows: list[tuple[str, Any]] = [("records", len(records))]
        for t in ("ingest", "service"):
            if t in result:
                r = result[t]
                rows += [(f"{t}: reference points", r["reference_points"]),
                         (f"{t}: kills (mid-write)", f"{len(r['trials'])} ({r['mid_write_kills']})"),
                         (f"{t}: final == clean run", f"{sum(x['equal'] for x in r['trials'])}/{len(r['trials'])}")]
        result["seconds"] = round(time.monotonic() - started, 1)
        rows += [("seconds", result["seconds"]), ("passed", result["passed"])]
        print_rows(rows)
        write_json(args.json_out, result)
        return 0 if result["passed"] else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
