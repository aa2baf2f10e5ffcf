"""The small version of scripts/trials/load.py: 4 and 16 concurrent clients on /v1/search and /v1/ask for 10 s
each while a writer replaces documents: no request fails. (The memory soak is the full version's.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.trials


def test_concurrent_reads_with_writes_have_no_errors(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "trials" / "load.py"), "--clients", "4", "16",
                           "--seconds", "10", "--soak", "0", "--json-out", str(out)],
                          capture_output=True, text=True, timeout=600)
    print(done.stdout)
    assert out.exists(), done.stdout + done.stderr
    result = json.loads(out.read_text())
    for clients in ("4", "16"):
        phase = result["phases"][clients]
        for kind in ("search", "ask", "write"):
            assert phase[kind]["requests"] > 0, (clients, kind)
            assert phase[kind]["errors"] == 0, phase[kind]["error_examples"]
        assert phase["search"]["p50_ms"] <= phase["search"]["p99_ms"]
    assert result["errors"] == 0 and result["passed"] and done.returncode == 0
