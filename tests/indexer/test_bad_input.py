"""Bad input is reported (file, line, reason) and skipped; everything else is ingested."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.settings import IndexerSettings
from tests.indexer.helpers import FIXTURES, read_points, run_cli

GOOD_IDS = {"good-article.txt", "ok-1", "ok-2"}


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    shutil.copytree(FIXTURES / "bad", folder)
    # tests run as root, for whom chmod 000 blocks nothing: a dangling symlink is a file that cannot be read
    (folder / "gone.txt").symlink_to(folder / "deleted-before-ingest.txt")
    # a folder named like an article is walked, not read as a file
    (folder / "archive.txt").mkdir()
    return folder


def expected_skips(folder: Path) -> dict[str, str]:
    """location -> a fragment its reason must contain."""
    records = folder / "records.jsonl"
    return {
        str(folder / "gone.txt"): "cannot read file",
        str(folder / "empty.txt"): "empty",
        str(folder / "blank.md"): "empty",
        str(folder / "binary.txt"): "binary",
        str(folder / "latin1.txt"): "not valid UTF-8",
        str(folder / "bad-date.md"): "cannot read 'the day after the flood' as a date",
        str(folder / "bad-front-matter.md"): "front matter is not valid YAML",
        f"{records}:2": "malformed JSON",
        f"{records}:3": "no id",
        f"{records}:4": "no 'text' or 'body'",
        f"{records}:5": "cannot read 'sometime last spring maybe' as a date",
        f"{records}:6": "expected a JSON object",
        f"{records}:9": "duplicate id 'ok-1'",
    }


def test_each_bad_input_is_reported_and_the_rest_is_ingested(
    bad_folder: Path, settings: IndexerSettings, embedder: Embedder
) -> None:
    indexer = Indexer(settings, embedder=embedder)
    try:
        report = indexer.ingest_paths([bad_folder])
        skipped = {r.location: r.error or "" for r in report.skipped}
        expected = expected_skips(bad_folder)
        assert set(skipped) == set(expected)
        for location, fragment in expected.items():
            assert fragment in skipped[location], (location, skipped[location])
        assert {r.doc_id for r in report.results if r.status == "indexed"} == GOOD_IDS
        stored = {p.payload["doc_id"] for p in read_points(indexer.store, False)}
        assert stored == GOOD_IDS
    finally:
        indexer.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_reported(tmp_path: Path, settings: IndexerSettings, embedder: Embedder) -> None:
    locked = tmp_path / "in" / "locked.txt"
    locked.parent.mkdir()
    locked.write_text("Title\n\nBody.\n")
    locked.chmod(0)
    indexer = Indexer(settings, embedder=embedder)
    try:
        report = indexer.ingest_paths([locked.parent])
    finally:
        indexer.close()
    assert [(r.location, r.status) for r in report.results] == [(str(locked), "skipped")]
    assert "cannot read file" in (report.results[0].error or "")


def test_cli_lists_every_skip_on_stderr_and_exits_3(bad_folder: Path, settings: IndexerSettings, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    result = run_cli(settings, "ingest", "--no-progress", str(bad_folder), str(missing), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    expected = expected_skips(bad_folder) | {str(missing): "no such file or folder"}
    assert len(lines) == len(expected), result.stderr
    for location, fragment in expected.items():
        assert any(line.startswith(f"skipped {location}: ") and fragment in line for line in lines), location
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{len(GOOD_IDS)} indexed, 0 replaced, 0 unchanged, {len(expected)} skipped")
