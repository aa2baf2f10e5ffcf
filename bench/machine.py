"""What a benchmark ran on, recorded next to every result: CPU model and the instruction-set flags that decide
which kernels torch and OpenVINO pick (AVX2, AVX-512, VNNI, BF16, AMX), the CPUs the process may use (affinity
and cgroup quota, which ``os.cpu_count()`` ignores), thread settings, library versions and how busy the machine
was (``uptime``). Two runs are only comparable when these match.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

FLAGS_OF_INTEREST = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
                     "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TBB_NUM_THREADS", "KMP_AFFINITY",
              "OMP_PROC_BIND")


def cpu_info() -> dict[str, Any]:
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:  # pragma: no cover - not Linux
        pass
    return {"model": model or platform.processor(), "flags": [f for f in FLAGS_OF_INTEREST if f in flags]}


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return f"load average: {os.getloadavg()}"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        return ""


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("torch", "openvino", "sentence-transformers", "optimum-intel", "qdrant-client", "litestar",
                 "uvicorn", "numpy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def machine_info() -> dict[str, Any]:
    from indexer.embedding import usable_cpus

    cgroup = None
    with contextlib.suppress(OSError):
        cgroup = Path("/sys/fs/cgroup/cpu.max").read_text().strip()
    return {
        "cpu": cpu_info(),
        "os_cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "cgroup_cpu_max": cgroup,
        "thread_env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
        "versions": versions(),
        "git": git_commit(),
        "uptime": uptime(),
        "load_avg": os.getloadavg(),
    }


def one_line(info: dict[str, Any]) -> str:
    """A line for the printed table: CPU, flags, usable CPUs."""
    cpu = info["cpu"]
    return f"{cpu['model']}; {' '.join(cpu['flags'])}; {info['usable_cpus']} usable CPUs; git {info['git']}"
