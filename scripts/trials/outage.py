#!/usr/bin/env python
"""Outage trial: the Qdrant server stopped under load (reads and writes), then started again.

Starts a real Qdrant server (tests/qdrant_server.py; ``.tools/qdrant/qdrant`` from scripts/install-test-tools.sh)
and ``python -m service`` against it (``NEWSDESK_QDRANT_TIMEOUT_S``, default 3 s), posts the sample records and a
pool of generated ones, then runs clients on /v1/search and /v1/ask with a writer replacing pool documents:
``--before`` seconds up, ``--outage`` seconds with the server stopped (SIGTERM), then the server started again over
its storage and ``--after`` seconds more. The service is never restarted.

Passes when: every request started during the outage ends with 503 (reads: the median within ``--max-503-s``,
one second, and none waiting out the store timeout; the share within one second is reported;
writes with a message naming the store), none outlasts the store timeout plus a margin, none at all fails
otherwise (any status but 200/503, transport error, client timeout); searches succeed again within
``--recover-s`` of the server being ready; the same service process answered throughout; and after recovery every
stored document is whole (points == chunk_count, one content hash). Writes JSON (bench/results/outage.json).

    .venv/bin/python scripts/trials/outage.py                        # full: 4 clients, 20 s up, 20 s down, 20 s after
    .venv/bin/python scripts/trials/outage.py --before 4 --outage 6 --after 8   # the CI size
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from common import REPO, ServiceProcess, base_env, document_consistency, print_rows, write_json
from load import Recorder, percentile, populate, reader, writer

from tests.qdrant_server import QdrantServer

COLLECTION = "outage"


def _message(body: str) -> str:
    """The error body's ``message`` (its request id left out), or the raw start of the body."""
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--before", type=float, default=20)
    parser.add_argument("--outage", type=float, default=20)
    parser.add_argument("--after", type=float, default=20)
    parser.add_argument("--store-timeout", type=float, default=3.0, help="NEWSDESK_QDRANT_TIMEOUT_S")
    parser.add_argument("--client-timeout", type=float, default=60.0)
    parser.add_argument("--max-503-s", type=float, default=1.0)
    parser.add_argument("--recover-s", type=float, default=10.0)
    parser.add_argument("--json-out", type=Path, default=REPO / "bench" / "results" / "outage.json")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="newsdesk-outage-"))
    result: dict[str, Any] = {"clients": args.clients, "store_timeout_s": args.store_timeout,
                              "before_s": args.before, "outage_s": args.outage, "after_s": args.after,
                              "load_average_at_start": os.getloadavg()}
    try:
        with QdrantServer(workdir=workdir / "qdrant") as qdrant:
            env = base_env(None, COLLECTION, NEWSDESK_QDRANT_URL=qdrant.url,
                           NEWSDESK_QDRANT_TIMEOUT_S=str(args.store_timeout))
            with ServiceProcess(env, workdir / "service.log") as svc:
                populate(svc.url)
                pid = svc.pid
                rec = Recorder()
                total = args.before + args.outage + args.after + 120  # the after phase starts once Qdrant is ready
                deadline = time.monotonic() + total
                stop_all = threading.Event()
                threads = [threading.Thread(target=reader, args=(svc.url, n, deadline, rec, args.client_timeout,
                                                                 stop_all), daemon=True) for n in range(args.clients)]
                threads.append(threading.Thread(target=writer, args=(svc.url, deadline, rec, args.client_timeout,
                                                                     0.2, stop_all), daemon=True))
                for t in threads:
                    t.start()
                time.sleep(args.before)
                down_at = time.monotonic()
                qdrant.node.stop()
                stopped_at = time.monotonic()
                time.sleep(args.outage)
                restart_at = time.monotonic()
                qdrant.node.start()
                qdrant.node.wait_ready()
                ready_at = time.monotonic()
                time.sleep(args.after)
                stop_all.set()
                for t in threads:
                    t.join(timeout=args.client_timeout + 30)
                same_process = svc.proc is not None and svc.proc.poll() is None and svc.pid == pid
                stats = httpx.get(f"{svc.url}/v1/stats", timeout=30).json()
            consistency = document_consistency(None, COLLECTION, url=qdrant.url)

        samples = rec.samples
        before = [s for s in samples if s.started < down_at and s.started + s.seconds < down_at]
        # started while the server was down (after SIGTERM returned, before it was started again)
        during = [s for s in samples if stopped_at <= s.started < restart_at]
        after = [s for s in samples if s.started >= ready_at]
        straddling = [s for s in samples if s not in before and s not in during and s not in after]
        during_reads = [s for s in during if s.kind != "write"]
        during_writes = [s for s in during if s.kind == "write"]
        first_ok_after = min((s.started + s.seconds for s in after if s.kind == "search" and s.status == 200),
                             default=None)
        recovery = None if first_ok_after is None else first_ok_after - ready_at
        hang_limit = args.store_timeout * 2 + 5  # a read may wait on the store twice (retrieve, then fetch)
        longest = max((s.seconds for s in samples), default=0.0)
        write_messages = sorted({_message(s.message) for s in during_writes if s.status == 503})
        read_503_s = [s.seconds for s in during_reads if s.status == 503]
        bad = {
            "before_not_200": sum(1 for s in before if s.status != 200),
            "during_not_503": sum(1 for s in during if s.status != 503),
            # the median 503 within --max-503-s; none waits out the store timeout (a refused connection is
            # immediate; what remains is embedding the query on a busy CPU)
            "reads_503_median_over_limit": int(percentile(read_503_s, 0.5) > args.max_503_s),
            "reads_503_at_store_timeout": sum(1 for x in read_503_s if x >= args.store_timeout),
            "straddling_not_200_or_503": sum(1 for s in straddling if s.status not in (200, 503)),
            "after_not_200": sum(1 for s in after if s.status != 200),
            "over_hang_limit": sum(1 for s in samples if s.seconds > hang_limit),
            "half_written_documents": len(consistency["half_written"]),
            "incomplete_documents_stats": len(stats.get("incomplete_documents", []) or []),
        }
        passed = (not any(bad.values()) and bool(during_reads) and recovery is not None
                  and recovery <= args.recover_s and same_process
                  and all("store" in m.lower() or "qdrant" in m.lower() or "unreachable" in m.lower()
                          for m in write_messages))
        def phase(s: Any) -> str:
            return ("before" if s in before else "during" if s in during else "after" if s in after
                    else "straddling")

        # the slowest requests, with their phase and start relative to the stop, so a failure can be read
        slowest = [{"kind": s.kind, "status": s.status, "phase": phase(s), "seconds": round(s.seconds, 2),
                    "started_after_stop_s": round(s.started - down_at, 2)}
                   for s in sorted(samples, key=lambda s: -s.seconds)[:6]]
        result.update({
            "load_average_at_end": os.getloadavg(), "slowest": slowest,
            "requests": len(samples), "before": len(before), "during": len(during), "after": len(after),
            "straddling": len(straddling), "stop_seconds": round(stopped_at - down_at, 2),
            "during_reads_p50_ms": round(percentile([s.seconds * 1000 for s in during_reads], 0.5), 1),
            "during_reads_within_limit": sum(1 for x in read_503_s if x <= args.max_503_s),
            "during_reads_max_ms": round(max((s.seconds for s in during_reads), default=0) * 1000, 1),
            "during_writes": len(during_writes), "during_write_statuses": sorted({s.status for s in during_writes}),
            "write_503_messages": write_messages, "recovery_s": None if recovery is None else round(recovery, 2),
            "longest_request_s": round(longest, 2), "hang_limit_s": hang_limit, "same_service_process": same_process,
            "documents_after": consistency["documents"], "points_after": consistency["points"],
            "half_written": consistency["half_written"], "failures": bad, "passed": passed,
            "failure_examples": sorted({f"{s.kind} {s.status} {s.message[:150]}" for s in samples
                                        if s.status not in (200, 503)})[:8],
        })
        print_rows([
            ("requests (before / during / after / straddling)", f"{len(before)} / {len(during)} / {len(after)} / "
                                                                 f"{len(straddling)}"),
            ("reads during outage: 503 p50 / max", f"{result['during_reads_p50_ms']} ms / "
                                                    f"{result['during_reads_max_ms']} ms "
                                                    f"({result['during_reads_within_limit']}/{len(read_503_s)} "
                                                    f"within {args.max_503_s} s)"),
            ("writes during outage (statuses)", f"{len(during_writes)} {result['during_write_statuses']}"),
            ("longest request", f"{result['longest_request_s']} s (limit {hang_limit} s)"),
            ("recovery after Qdrant ready", f"{result['recovery_s']} s, same process: {same_process}"),
            ("documents whole after recovery", f"{consistency['documents'] - len(consistency['half_written'])}/"
                                               f"{consistency['documents']}"),
            ("failures", bad), ("passed", passed),
        ])
        write_json(args.json_out, result)
        return 0 if passed else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
