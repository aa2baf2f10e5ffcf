#!/usr/bin/env python
"""API fuzzing trial: schemathesis over every operation of /schema/openapi.json, every check.

By default it starts its own service on a free loopback port, over a fresh embedded store holding the sample
articles, with a read key and a write key set (so schemathesis also checks that leaving the key out is refused),
runs schemathesis (examples, coverage, fuzzing and stateful phases; ``--max-examples`` per operation and phase)
and stops the service. With ``--url`` it fuzzes a service that is already running instead (the test suite's
small version does that), sending ``--key`` if given.

Passes when schemathesis reports no failure (every check: no 5xx, status codes, content types, headers and
bodies as documented, schema-invalid requests refused, schema-valid ones accepted but for the few refusals
JSON Schema cannot state, see fuzz_hooks.py) and the service's own metrics count no 5xx. Prints a table and
writes JSON (to bench/results/fuzz.json unless --json-out).

    .venv/bin/python scripts/trials/fuzz.py                        # the full run (README "Reliability")
    .venv/bin/python scripts/trials/fuzz.py --max-examples 5       # a quick one
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
READ_KEY = "fuzz-read-key"
WRITE_KEY = "fuzz-write-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def requests_by_status(url: str, key: str | None) -> Counter[str]:
    """The service's own count of answered requests by status (``/metrics``), all routes."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "newsdesk_http_requests_total":
                counts[s.labels["status"]] += int(s.value)
    return counts


class Service:
    """``python -m service`` over a fresh store with the samples, on loopback; stopped by its pid."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        self.env.update(NEWSDESK_QDRANT_PATH=str(workdir / "qdrant"), NEWSDESK_COLLECTION="fuzz",
                        NEWSDESK_MODEL_CACHE_DIR=str(REPO / "data" / "models"), NEWSDESK_HOST="127.0.0.1",
                        NEWSDESK_PORT=str(self.port), NEWSDESK_API_KEY=READ_KEY, NEWSDESK_WRITE_API_KEY=WRITE_KEY,
                        NEWSDESK_LOG_LEVEL="WARNING")
        self.log = workdir / "service.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Service:
        subprocess.run([sys.executable, "-m", "indexer", "ingest", str(REPO / "samples")], cwd=REPO, env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=self.env, stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise TimeoutError("the service did not get ready in 180 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_schemathesis(url: str, key: str | None, max_examples: int, seed: int, workdir: Path) -> dict[str, Any]:
    report_dir = workdir / "report"
    accepted_log = workdir / "accepted.jsonl"
    accepted_log.unlink(missing_ok=True)
    command = [str(Path(sys.executable).with_name("st")), "run", f"{url}/schema/openapi.json", "--checks", "all",
               "--max-examples", str(max_examples), "--seed", str(seed), "--workers", "1",
               "--request-timeout", "60", "--report", "json", "--report-dir", str(report_dir), "--no-shrink"]
    if key:
        command += ["--header", f"Authorization: Bearer {key}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz_hooks", "FUZZ_ACCEPTED_LOG": str(accepted_log),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]), "NO_COLOR": "1"}
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=workdir)
    seconds = time.monotonic() - started
    (workdir / "schemathesis.txt").write_text(done.stdout + done.stderr)
    reports = sorted(report_dir.glob("*.json"))
    report = json.loads(reports[-1].read_text()) if reports else {}
    accepted = Counter()
    if accepted_log.exists():
        for line in accepted_log.read_text().splitlines():
            item = json.loads(line)
            accepted[f"{item['operation']}: {item['reason']}"] += 1
    return {"exit_code": done.returncode, "seconds": round(seconds, 1), "report": report,
            "accepted_400": dict(accepted), "output_tail": (done.stdout + done.stderr)[-6000:]}


def fuzz(url: str, key: str | None, max_examples: int, seed: int, workdir: Path) -> dict[str, Any]:
    before = requests_by_status(url, key)
    st = run_schemathesis(url, key, max_examples, seed, workdir)
    after = requests_by_status(url, key)
    statuses = {s: after[s] - before.get(s, 0) for s in sorted(after) if after[s] - before.get(s, 0)}
    statuses = {s: n - (1 if s == "200" else 0) for s, n in statuses.items()}  # the first /metrics scrape
    report = st["report"]
    server_errors = sum(n for s, n in statuses.items() if s.startswith("5"))
    return {
        "command": report.get("command"),
        "max_examples": max_examples, "seed": seed,
        "operations": report.get("operations", {}).get("tested"),
        "test_cases": report.get("test_cases", {}).get("generated"),
        "requests": sum(statuses.values()),
        "requests_by_status": statuses,
        "server_errors": server_errors,
        "failures": report.get("failures", []),
        "errors": report.get("errors", []),
        "warnings": {k: v for k, v in report.get("warnings", {}).items() if v},
        "accepted_400": st["accepted_400"],
        "schemathesis_exit_code": st["exit_code"],
        "seconds": st["seconds"],
        "passed": st["exit_code"] == 0 and server_errors == 0 and not report.get("failures"),
        "output_tail": st["output_tail"],
    }


def print_table(result: dict[str, Any]) -> None:
    rows = [("operations tested", result["operations"]), ("test cases generated", result["test_cases"]),
            ("HTTP requests served", result["requests"]), ("server errors (5xx)", result["server_errors"]),
            ("schemathesis failures", len(result["failures"])), ("schemathesis errors", len(result["errors"])),
            ("accepted semantic 400s", sum(result["accepted_400"].values())), ("seconds", result["seconds"]),
            ("passed", result["passed"])]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print("by status:", ", ".join(f"{s}: {n}" for s, n in result["requests_by_status"].items()))
    for reason, n in result["accepted_400"].items():
        print(f"accepted 400 x{n}: {reason}")
    if not result["passed"]:
        print(result["output_tail"], file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=60, help="per operation and phase (default 60)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--url", help="fuzz this running service instead of starting one")
    parser.add_argument("--key", help="with --url: the API key to send (the write key when there is one)")
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "fuzz.json")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (store, logs, report)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-fuzz-"))
    try:
        if args.url:
            result = fuzz(args.url.rstrip("/"), args.key, args.max_examples, args.seed, workdir)
        else:
            with Service(workdir) as service:
                result = fuzz(service.url, WRITE_KEY, args.max_examples, args.seed, workdir)
        print_table(result)
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json_out}")
        return 0 if result["passed"] else 1
    finally:
        if args.keep:
            print(f"work folder: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
