"""The small version of scripts/trials/crash.py: an ingest and the service, each killed with SIGKILL at seeded
random moments while writing, then run again: the collection equals a clean run's (point ids, payload hashes
without indexed_at) and no document is half-written. Full sizes and figures: README "Reliability"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.trials

SCRIPT = REPO / "scripts" / "trials" / "crash.py"


def run_trial(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "crash.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--source", "samples", "--small-chunks", "--seed", "7",
                           "--json-out", str(out), *args], capture_output=True, text=True, timeout=600)
    print(done.stdout)
    assert out.exists(), done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert done.returncode == (0 if result["passed"] else 1), done.stderr
    return result


def test_killed_ingests_then_rerun_equal_a_clean_run(tmp_path: Path) -> None:
    result = run_trial(tmp_path, "--trial", "ingest", "--size", "30", "--kills", "2")
    ingest = result["ingest"]
    assert ingest["reference_points"] > 100  # small chunks: several flushes to stop between
    assert ingest["mid_write_kills"] >= 1, ingest["trials"]  # the trial did stop a run half-way
    for trial in ingest["trials"]:
        assert trial["rerun_exit"] == 0
        assert (trial["missing_ids"], trial["extra_ids"], trial["payload_differs"], trial["half_written"]) == (0, 0, 0, 0)
    assert ingest["passed"] and result["passed"]


def test_service_killed_during_post_then_reposted_equals_a_clean_run(tmp_path: Path) -> None:
    result = run_trial(tmp_path, "--trial", "service", "--size", "30", "--kills", "1", "--batch", "5")
    service = result["service"]
    assert service["batches"] == 6
    for trial in service["trials"]:
        assert (trial["missing_ids"], trial["extra_ids"], trial["payload_differs"], trial["half_written"]) == (0, 0, 0, 0)
    assert service["passed"] and result["passed"]
