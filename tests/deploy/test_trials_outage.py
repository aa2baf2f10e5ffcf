"""The small version of scripts/trials/outage.py: a real Qdrant server stopped under reads and writes, then
started again. Reads get 503 within a second (the median; none waits out the store timeout), nothing hangs, writes fail with a message naming the store, the
same service process recovers by itself and no document is left half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.qdrant_server import require_binary

pytestmark = [pytest.mark.server, pytest.mark.trials]


def test_qdrant_stopped_under_load(tmp_path: Path) -> None:
    require_binary()  # skips where the server binary cannot be had
    out = tmp_path / "outage.json"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "trials" / "outage.py"), "--before", "4",
                           "--outage", "6", "--after", "8", "--json-out", str(out)],
                          capture_output=True, text=True, timeout=600)
    print(done.stdout)
    assert out.exists(), done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["during"] > 0 and result["during_writes"] > 0, result
    assert result["failures"] == {k: 0 for k in result["failures"]}, (result["failures"], result["failure_examples"])
    assert result["during_reads_p50_ms"] <= 1000
    assert result["during_reads_max_ms"] < 3000  # no read waited out the store timeout (3 s)
    assert result["during_write_statuses"] == [503] and result["write_503_messages"]
    assert result["recovery_s"] is not None and result["recovery_s"] <= 10
    assert result["same_service_process"]
    assert result["half_written"] == [] and result["documents_after"] > 0
    assert result["passed"] and done.returncode == 0
