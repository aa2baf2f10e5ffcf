"""The Dockerfile passes hadolint (rules in .hadolint.yaml) and keeps the properties the deployment relies on."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


def hadolint(binary: Path, dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(dockerfile)],
        capture_output=True, text=True, timeout=60,
    )


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_passes(hadolint_binary: Path) -> None:
    out = hadolint(hadolint_binary, DOCKERFILE)
    assert out.returncode == 0, f"hadolint:\n{out.stdout}{out.stderr}"


def test_hadolint_catches_a_bad_dockerfile(hadolint_binary: Path, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER 10001:10001\nRUN apt-get install curl"))
    out = hadolint(hadolint_binary, bad)
    assert out.returncode != 0
    assert "DL3008" in out.stdout or "DL3015" in out.stdout, out.stdout


def test_image_is_cpu_only_slim_and_torch_comes_first() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for word, args in steps if word == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    project_at = next(i for i, r in enumerate(runs) if re.search(r"pip install .* \.(\s|$)", r))
    assert torch_at < project_at, "torch must be installed from the CPU index before the project"
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_at]
    assert "pip uninstall -y torchvision" in runs[project_at]


def test_runs_as_non_root_with_baked_model_and_healthcheck() -> None:
    steps = instructions()
    users = [args for word, args in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    user_at = max(i for i, (w, _) in enumerate(steps) if w == "USER")
    bake = [i for i, (w, a) in enumerate(steps) if w == "RUN" and "Embedder(IndexerSettings())" in a]
    assert bake and bake[0] > user_at, "the model export must run as the runtime user (it owns /app/data)"
    # the baked one-liner is valid Python naming real objects
    snippet = re.search(r'python -c "(.+)"', steps[bake[0]][1])
    assert snippet is not None
    ast.parse(snippet.group(1))
    from indexer.embedding import Embedder  # noqa: F401
    from indexer.settings import IndexerSettings  # noqa: F401

    health = [a for w, a in steps if w == "HEALTHCHECK"]
    assert health and "/health" in health[0]
    assert ("CMD", '["python", "-m", "service"]') in steps
    env = " ".join(a for w, a in steps if w == "ENV")
    assert "NEWSDESK_MODEL_CACHE_DIR=/app/data/models" in env and "HF_HUB_OFFLINE=1" in env


@pytest.mark.parametrize("pattern", [".venv", "data", ".git", "**/__pycache__", ".tools"])
def test_dockerignore_keeps_local_state_out(pattern: str) -> None:
    lines = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert pattern in lines
