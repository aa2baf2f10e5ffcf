"""The CLI's ingest front door: a wrong path fails at once (no model load, no collection created), and progress
is readable where stderr is not a terminal (logs, CI, pipes)."""

from __future__ import annotations

import io
import time
from pathlib import Path

from indexer.cli import Progress
from indexer.settings import IndexerSettings
from tests.indexer.helpers import run_cli


def test_a_mistyped_path_fails_before_the_store_or_model_is_touched(settings: IndexerSettings, tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    started = time.monotonic()
    result = run_cli(settings, "ingest", str(typo), cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert f"skipped {typo}: no such file or folder" in result.stderr
    assert "error: nothing to ingest" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not settings.qdrant_path.exists()  # no store opened, so no collection created
    assert elapsed < 20, f"{elapsed:.1f} s: the model must not be loaded for a path that does not exist"


def test_a_folder_without_articles_says_so_and_does_nothing(settings: IndexerSettings, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = run_cli(settings, "ingest", str(empty), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "nothing to ingest: no supported file" in result.stderr
    assert not settings.qdrant_path.exists()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_when_not_a_terminal_are_periodic_with_rate_and_eta() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = Progress(total=1000, interactive=False, interval=10, stream=out, clock=clock)
    clock.now += 5
    progress(100, 1200)  # first call: a line at once
    clock.now += 4
    progress(180, 2000)  # 4 s later: no line
    clock.now += 6
    progress(300, 3600)  # 10 s after the first line
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == [
        "progress: 100/1000 docs (10%), 1200 chunks, 240.0 chunks/s, 20.0 docs/s, ETA 45s",
        "progress: 300/1000 docs (30%), 3600 chunks, 240.0 chunks/s, 20.0 docs/s, ETA 35s",
        "progress: 300/1000 docs (30%), 3600 chunks, 240.0 chunks/s, 20.0 docs/s, ETA 35s (done)",
    ]


def test_progress_without_a_total_and_when_disabled() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = Progress(total=None, interactive=False, interval=0, stream=out, clock=clock)
    clock.now += 2
    progress(10, 40)
    assert out.getvalue() == "progress: 10 docs, 40 chunks, 20.0 chunks/s, 5.0 docs/s\n"
    quiet = io.StringIO()
    off = Progress(total=10, interactive=False, enabled=False, stream=quiet, clock=clock)
    off(5, 5)
    off.close()
    assert quiet.getvalue() == ""
