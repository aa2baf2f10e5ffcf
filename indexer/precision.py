"""The numeric precision the embedding model runs in (``NEWSDESK_EMBED_PRECISION``), and its int8 export.

``f32`` and ``bf16`` set OpenVINO's ``INFERENCE_PRECISION_HINT`` on the exported model; ``bf16`` needs a CPU
that computes it (AVX-512-BF16 or AMX), elsewhere OpenVINO runs f32 and that is what is recorded. ``int8`` runs a
second export, post-training static quantization with NNCF (:data:`QUANTIZE_RECIPE`) calibrated on the project's own text
(:data:`CALIBRATION_FILE`, written by ``scripts/calibration_texts.py`` from ``samples/`` and ``tests/fixtures/``,
chunked as the indexer chunks), cached beside the f32 export. The precision shapes the stored vectors, so the
*resolved* value (:func:`resolve_precision`, never ``auto``) keys documents and caches: a store never mixes two.

This module reads ``/proc/cpuinfo`` only; NNCF and OpenVINO are imported when an int8 export is built.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PRECISIONS = ("f32", "bf16", "int8")

CALIBRATION_FILE = Path(__file__).resolve().parent / "calibration_texts.json"
"""Texts the int8 export is calibrated on: title-prefixed chunks, their sentences and titles of the project's own
sample and fixture articles (no downloaded or shared data), shipped with the package so that every install
quantizes alike."""

INT8_FILE_STEM = "openvino_model_int8"

QUANTIZE_RECIPE = "nncf-transformer-sq-default;last-layer-f32"
"""How the int8 model is made (part of its cache key): NNCF's transformer preset with its default SmoothQuant, the
encoder's last layer left in float. Chosen on 250 news-rtqa chunks (out of the calibration set; cosine to f32,
min / mean): everything int8 .9884 / .9949, SmoothQuant off .9829 / .9905, alpha .5 .9266 / .9607, alpha .99
.9821 / .9932, full bias correction .9832 / .9928; last layer in float .9892 / .9956 (1/6 of the matrix work
stays float); every layer's FFN output matmul in float .9925 / .9971 (1/3 stays float: slower)."""

AUTO_PRECISION = {"avx2": "f32", "bf16": "bf16"}
"""What ``auto`` resolves to on each CPU kind (key: :func:`cpu_kind`); today both equal the default (``bf16``, i.e.
what OpenVINO runs by itself), because int8 did not win where it was measured:

- ``avx2`` (AMD EPYC, AVX2 + FMA, no VNNI/AVX-512/AMX; 2 CPUs): ``bench/precision.py --rounds 3 --eval``, load 1.3
  before / 1.9 after (README "Speed", "Precision"): 128 news-rtqa chunks, best round, f32 21.6 chunks/s, int8
  17.7 (0.82x: without VNNI the int8 kernels and the (de)quantize steps cost more than they save); one 24-token
  query 12.6 ms f32, 11.3 int8; int8 vs f32 cosine on 1,000 chunks min .9815, mean .9948 (target .98 / .995);
  rtqa-evidence nDCG@10 .873 vs .873. So f32.
- ``bf16`` (Intel Xeon with AMX and AVX-512-BF16): not measured by ``bench/precision.py``; a steering trial in the
  project's issue tracker (an all-int8 export: 44 chunks/s f32, 109 bf16, 137 int8; one query 6.1 / 6.6 / 1.7
  ms) makes int8 the likely winner there, but its cosine mean here (.9948) is under the .995 target, so ``auto``
  stays on bf16 until ``bench/precision.py`` is run on such a machine.
"""


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # pragma: no cover - not Linux
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()  # pragma: no cover


def cpu_kind(flags: frozenset[str] | None = None) -> str:
    """``bf16`` where the CPU computes bfloat16 (AVX-512-BF16 or AMX: OpenVINO's default there), else ``avx2``."""
    flags = cpu_flags() if flags is None else flags
    return "bf16" if flags & {"avx512_bf16", "amx_bf16"} else "avx2"


def resolve_precision(requested: str, backend: str = "openvino", flags: frozenset[str] | None = None) -> str:
    """The precision that actually runs for a setting: ``auto`` per :data:`AUTO_PRECISION`, ``bf16`` as ``f32``
    on a CPU without bf16 arithmetic. Backends other than OpenVINO run f32 only (``auto`` and ``bf16`` give
    ``f32``; ``int8`` there is an error, raised by the embedder)."""
    if requested not in (*PRECISIONS, "auto"):
        raise ValueError(f"unknown embedding precision {requested!r}: use one of f32, bf16, int8, auto")
    if backend != "openvino":
        return "int8" if requested == "int8" else "f32"
    kind = cpu_kind(flags)
    if requested == "auto":
        return AUTO_PRECISION[kind]
    if requested == "bf16" and kind != "bf16":
        return "f32"
    return requested


def precision_hint(precision: str) -> dict[str, str]:
    """OpenVINO CPU properties of a float precision; int8 keeps OpenVINO's default for its remaining float ops."""
    return {"INFERENCE_PRECISION_HINT": precision} if precision in ("f32", "bf16") else {}


def calibration_texts() -> list[str]:
    return list(json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["texts"])


def int8_file(export_dir: Path) -> Path:
    """Where the int8 model of a f32 export lives: its folder, named by a hash of the calibration texts and the
    quantizer's version (a change to either builds a new one instead of reusing a stale one)."""
    import nncf

    key = hashlib.sha256(CALIBRATION_FILE.read_bytes() + f"{nncf.__version__}|{QUANTIZE_RECIPE}".encode()).hexdigest()[:8]
    return export_dir / "openvino" / f"{INT8_FILE_STEM}-{key}.xml"


def export_int8(model: SentenceTransformer, export_dir: Path) -> Path:
    """Quantize the f32 OpenVINO export in ``export_dir`` (loaded as ``model``, for its tokenizer) to static int8
    and save it beside (:func:`int8_file`); returns the file. Atomic: files are written under a temporary name
    and the ``.xml`` (what later starts look for) is renamed into place last."""
    import nncf
    import openvino as ov

    target = int8_file(export_dir)
    texts = calibration_texts()
    source = export_dir / "openvino" / "openvino_model.xml"
    core = ov.Core()
    f32 = core.read_model(str(source))
    names = [port.get_any_name() for port in f32.inputs]
    samples: list[dict[str, Any]] = []
    for text in texts:  # one text per sample: activations at every length the indexer and queries produce
        features = model.preprocess([text])
        ids = features["input_ids"].numpy()
        samples.append({n: features[n].numpy() if n in features else (ids * 0) for n in names})
    log.info("quantizing %s to int8 on %d calibration texts (once per model cache)", source, len(samples))
    layers = [int(m.group(1)) for op in f32.get_ops()
              if (m := re.search(r"\.layer\.(\d+)\.", op.get_friendly_name()))]
    ignored = nncf.IgnoredScope(patterns=[rf".*\.layer\.{max(layers)}\..*"], validate=False) if layers else None
    with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars: not into a CLI's --json output
        quantized = nncf.quantize(f32, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(samples), ignored_scope=ignored)
    tmp = target.with_name(f"{target.stem}.partial-{os.getpid()}.xml")  # concurrent builders do not collide
    ov.save_model(quantized, str(tmp), compress_to_fp16=False)
    shutil.move(str(tmp.with_suffix(".bin")), str(target.with_suffix(".bin")))
    shutil.move(str(tmp), str(target))
    for stale in target.parent.glob(f"{INT8_FILE_STEM}-*"):  # an older recipe's or calibration's model
        if not stale.name.startswith(target.stem) and ".partial-" not in stale.name:
            stale.unlink(missing_ok=True)
    return target
