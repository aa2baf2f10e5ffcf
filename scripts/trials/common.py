"""Shared parts of the fault and load trials: corpora, the service and CLI as subprocesses, store snapshots.

Everything runs on 127.0.0.1; every process started here is stopped by its own pid; every wait is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SHARED = REPO.parent / "shared" / "data"
SHARED_SETS = ("news-rtqa-2023", "rtqa-evidence-2023")
VOLATILE = {"indexed_at"}  # payload fields that differ between two runs over the same input

_PLACES = ["river", "council", "hospital", "airport", "school", "bridge", "forest", "harbour"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def generated_record(n: int, version: int = 0, paragraphs: int = 5) -> dict[str, Any]:
    """A distinct news-like record (``gen-{n}``); another ``version`` changes its text (a replace)."""
    place = _PLACES[n % len(_PLACES)]
    body = "\n\n".join(
        f"On day {p + 1} of the review, officials said the {place} works in district {n} would cost "
        f"{n * 7 + p + version * 1000} million. Residents met the board {p + 2} times and logged {n + p} "
        f"complaints. A spokesperson, Dana Reyes {n}, said work would start within {p + 3 + version} weeks."
        for p in range(paragraphs)
    )
    return {"id": f"gen-{n}", "title": f"Story {n}: the {place} works (v{version})", "text": body,
            "published_at": "2026-03-01"}


def sample_records() -> list[dict[str, Any]]:
    """The JSONL records of samples/ (the other sample files are ingested as files, not records)."""
    out: list[dict[str, Any]] = []
    for path in sorted(SAMPLES.glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def shared_records(limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` records of the shared sets (news articles first, then evidence paragraphs)."""
    out: list[dict[str, Any]] = []
    for name in SHARED_SETS:
        path = SHARED / name / "corpus.jsonl"
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                if len(out) >= limit:
                    return out
                if line.strip():
                    out.append(json.loads(line))
    return out


def build_corpus(folder: Path, size: int, source: str) -> list[dict[str, Any]]:
    """Write ``size`` records to ``folder/corpus.jsonl`` and return them.

    ``source="shared"``: the shared sets, topped up with generated records; ``"samples"``: the sample records
    topped up with generated ones (the small version, runnable in any checkout)."""
    records = shared_records(size) if source == "shared" else sample_records()[:size]
    if source == "shared" and not records:
        raise FileNotFoundError(f"no shared data at {SHARED}")
    n = 0
    while len(records) < size:
        records.append(generated_record(n))
        n += 1
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return records


def base_env(store: Path | None, collection: str, **extra: str) -> dict[str, str]:
    """An environment for `python -m indexer` / `python -m service` with no NEWSDESK_* leaking from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_COLLECTION=collection, NEWSDESK_MODEL_CACHE_DIR=str(REPO / "data" / "models"),
               NEWSDESK_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
    if store is not None:
        env["NEWSDESK_QDRANT_PATH"] = str(store)
    env.update(extra)
    return env


def payload_hash(payload: dict[str, Any], ignore: tuple[str, ...] = ()) -> str:
    kept = {k: v for k, v in payload.items() if k not in VOLATILE and k not in ignore}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _payloads(store: Path | None, collection: str, url: str | None) -> list[tuple[str, dict[str, Any]]]:
    """(point id, payload) of every point, through the project's store interface (Edge embedded at ``store``, or
    a server ``url``); the embedded store must not be open in another process."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from indexer.collection import open_store
    from indexer.settings import IndexerSettings

    settings = IndexerSettings(_env_file=None, qdrant_path=store or REPO / "data" / "unused",  # type: ignore[call-arg]
                               qdrant_url=url, collection=collection, qdrant_check_compatibility=False)
    opened = open_store(settings)
    try:
        if not opened.exists():
            return []
        return [(p.id, p.payload) for p in opened.scan_points(with_vectors=False)]
    finally:
        opened.close()


def snapshot(store: Path | None, collection: str, url: str | None = None,
             ignore: tuple[str, ...] = ()) -> dict[str, str]:
    """{point id: payload hash without indexed_at (nor the ``ignore`` keys)} of a collection (embedded at
    ``store``, or a server ``url``). The embedded store must not be open in another process."""
    return {pid: payload_hash(payload, ignore) for pid, payload in _payloads(store, collection, url)}


def document_consistency(store: Path | None, collection: str, url: str | None = None) -> dict[str, Any]:
    """Per document: points stored vs its chunk_count and the number of content hashes; the half-written ones."""
    docs: dict[str, dict[str, Any]] = {}
    for _, pl in _payloads(store, collection, url):
        d = docs.setdefault(pl["doc_id"], {"points": 0, "chunk_counts": set(), "hashes": set(), "idx": set()})
        d["points"] += 1
        d["chunk_counts"].add(pl["chunk_count"])
        d["hashes"].add(pl["doc_hash"])
        d["idx"].add(pl["chunk_index"])
    bad = sorted(doc for doc, d in docs.items()
                 if len(d["chunk_counts"]) != 1 or len(d["hashes"]) != 1
                 or d["idx"] != set(range(next(iter(d["chunk_counts"])))) or d["points"] != next(iter(d["chunk_counts"])))
    return {"documents": len(docs), "points": sum(d["points"] for d in docs.values()), "half_written": bad}


def compare(reference: dict[str, str], got: dict[str, str]) -> dict[str, int]:
    """How a snapshot differs from the reference: missing and extra point ids, payloads that differ."""
    return {"missing_ids": len(reference.keys() - got.keys()), "extra_ids": len(got.keys() - reference.keys()),
            "payload_differs": sum(1 for k in reference.keys() & got.keys() if reference[k] != got[k])}


class ServiceProcess:
    """``python -m service`` on a free loopback port; stopped (SIGTERM, then SIGKILL) or killed by its pid."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_PORT": str(self.port)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240) -> ServiceProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=self.env, stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"the service did not get ready in {timeout} s; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory of the service process (VmRSS), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def seeded(seed: int) -> random.Random:
    return random.Random(seed)


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {path}")


def print_rows(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
