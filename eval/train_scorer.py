"""Train the answer-sentence scorer: a small cross-encoder that reads a question and one candidate sentence
together and says whether the sentence states the answer.

    python -m eval.train_scorer --out data/scorer-train            # the shipped model's run (see its card)
    python -m eval.train_scorer --questions 40 --val-questions 20 --out /tmp/tiny   # a smoke run, seconds

Data: SQuAD 1.1 train (``eval.scorer_data``), split by article; never the news sets. Model: the bundled
all-MiniLM-L6-v2 transformer truncated to its first ``--layers`` layers, with a fresh one-logit head, trained
with binary cross-entropy (the score must mean something across questions, for the found gate, not only rank
within one). Runs on the CPU (``--threads``) or a GPU where one is visible; seeded.

Writes to ``--out``: ``torch/`` (``eval.scorer_model.MeanPooledScorer``: encoder, head and tokenizer), ``metrics.json`` (the
learning curve and final validation figures) and ``calibration.json`` (Platt scaling of the top score and the
found threshold, chosen on the validation constructions; read at answer time once exported by
``python -m eval.export_scorer``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.scorer_data import (
    DEFAULT_SQUAD,
    Group,
    Pair,
    load_articles,
    split_articles,
    training_pairs,
    validation_groups,
)

log = logging.getLogger("train_scorer")


def base_model_path() -> str:
    from indexer.embedding import resolve_model_path
    from indexer.settings import DEFAULT_EMBED_MODEL

    return resolve_model_path(DEFAULT_EMBED_MODEL)


def build_model(base: str, layers: int) -> tuple[Any, Any]:
    """(mean-pooled one-logit scorer, tokenizer) from the base transformer's first layers (``eval.scorer_model``)."""
    from transformers import AutoTokenizer

    from eval.scorer_model import build
    from indexer.embedding import quiet_model_libraries

    quiet_model_libraries()  # the load report lists the dropped layers and the new head: expected here

    return build(base, layers), AutoTokenizer.from_pretrained(base)


class TorchScorer:
    """Logits of (question, passage) pairs from the model being trained (no gradient), in length-sorted
    batches."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int, device: str, batch: int = 64) -> None:
        self.model, self.tokenizer, self.max_length, self.device, self.batch = model, tokenizer, max_length, device, batch

    def logits(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        import torch

        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = np.zeros(len(pairs), dtype=np.float32)
        self.model.eval()
        with torch.inference_mode():
            for i in range(0, len(order), self.batch):
                idx = order[i : i + self.batch]
                enc = self.tokenizer([pairs[j][0] for j in idx], [pairs[j][1] for j in idx], truncation="only_second",
                                     max_length=self.max_length, padding=True, return_tensors="pt").to(self.device)
                out[idx] = self.model(**enc).float().view(-1).cpu().numpy()
        return out


def length_batches(pairs: list[Pair], size: int, rng: random.Random, pool: int = 50) -> list[list[int]]:
    """Shuffled batches of pairs of similar length: the pairs are shuffled, cut into pools of ``pool`` batches,
    each pool sorted by length and cut into batches, and the batches shuffled. Padding to the longest pair of a
    batch then costs little (about a third of the step time with random batches)."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    for i in range(0, len(order), size * pool):
        chunk = sorted(order[i : i + size * pool], key=lambda j: len(pairs[j].question) + len(pairs[j].passage))
        batches.extend(chunk[k : k + size] for k in range(0, len(chunk), size))
    rng.shuffle(batches)
    return batches


def group_logits(score: Any, groups: list[Group]) -> list[np.ndarray]:
    flat = [(g.question, p) for g in groups for p in g.passages]
    values = score(flat) if flat else np.zeros(0, dtype=np.float32)
    out, i = [], 0
    for g in groups:
        out.append(values[i : i + len(g.passages)])
        i += len(g.passages)
    return out


def top1(groups: list[Group], logits: list[np.ndarray]) -> float:
    hit = [bool(len(lg)) and int(np.argmax(lg)) in g.gold for g, lg in zip(groups, logits, strict=True)]
    return float(np.mean(hit)) if hit else 0.0


def validate(score: Any, val: dict[str, list[Group]]) -> tuple[dict[str, float], dict[str, list[np.ndarray]]]:
    logits = {k: group_logits(score, gs) for k, gs in val.items()}
    arts = val["article"]
    figures = {
        "top1_paragraph": top1(val["paragraph"], logits["paragraph"]),
        "top1_article": top1(arts, logits["article"]),
        "article_candidates_hold_gold": float(np.mean([bool(g.gold) for g in arts])) if arts else 0.0,
        "top1_article_given_gold": top1([g for g in arts if g.gold],
                                        [lg for g, lg in zip(arts, logits["article"], strict=True) if g.gold]),
    }
    return figures, logits


def calibrate(val: dict[str, list[Group]], logits: dict[str, list[np.ndarray]]) -> dict[str, Any]:
    """Platt scaling of a group's top logit against "the top candidate holds the answer" over the article and
    unanswerable constructions, and the found threshold (on the calibrated probability) that maximises
    found-on-answerable minus found-on-unanswerable."""
    from sklearn.linear_model import LogisticRegression

    xs, ys, kinds = [], [], []
    for kind in ("article", "unanswerable"):
        for g, lg in zip(val[kind], logits[kind], strict=True):
            if len(lg):
                xs.append(float(lg.max()))
                ys.append(int(int(np.argmax(lg)) in g.gold))
                kinds.append(kind)
    x = np.asarray(xs).reshape(-1, 1)
    if len(set(ys)) < 2:  # a tiny or degenerate run: every top candidate right, or every one wrong
        log.warning("calibration: validation tops are all %s; using the raw sigmoid", "right" if any(ys) else "wrong")
        a, b = 1.0, 0.0
    else:
        lr = LogisticRegression(C=1e6).fit(x, np.asarray(ys))
        a, b = float(lr.coef_[0][0]), float(lr.intercept_[0])
    prob = 1.0 / (1.0 + np.exp(-(a * x.ravel() + b)))
    answerable = np.asarray([k == "article" for k in kinds])
    best: tuple[float, float, float, float] | None = None
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        found = prob >= t
        fa, fu = _mean(found[answerable]), _mean(found[~answerable])
        if best is None or fa - fu > best[1] - best[2]:
            best = (float(t), fa, fu, float(np.mean(np.asarray(ys)[found])) if found.any() else 0.0)
    assert best is not None
    return {"platt_a": a, "platt_b": b, "found_threshold": best[0], "validation": {
        "found_on_answerable": round(best[1], 4), "found_on_unanswerable": round(best[2], 4),
        "precision_of_found": round(best[3], 4), "questions": int(answerable.sum())}}


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_SQUAD, help="SQuAD 1.1 train.jsonl")
    ap.add_argument("--out", type=Path, default=Path("data/scorer-train"))
    ap.add_argument("--layers", type=int, default=3, help="transformer layers kept from the base model (0: all)")
    ap.add_argument("--questions", type=int, default=12000, help="training questions (7 pairs each at most)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--max-length", type=int, default=96, help="tokens of question + passage")
    ap.add_argument("--val-share", type=float, default=0.1, help="share of articles held out")
    ap.add_argument("--val-questions", type=int, default=1000)
    ap.add_argument("--val-on-train", action="store_true",
                    help="validate on the training articles: a memorisation check for smoke tests, not a figure")
    ap.add_argument("--curve-questions", type=int, default=300, help="validation questions per curve point")
    ap.add_argument("--eval-every", type=int, default=200, help="steps between learning-curve points")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    import torch

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.time()

    articles = load_articles(args.data)
    train_arts, val_arts = split_articles(articles, args.val_share, args.seed)
    pairs: list[Pair] = [p for g in training_pairs(train_arts, args.questions, args.seed) for p in g]
    val = validation_groups(train_arts if args.val_on_train else val_arts, args.val_questions, args.seed + 1)
    curve_val = {k: v[: args.curve_questions] for k, v in val.items()}
    log.info("%d train articles, %d validation; %d pairs (%d positive); %d validation questions",
             len(train_arts), len(val_arts), len(pairs), sum(p.label > 0 for p in pairs), len(val["paragraph"]))

    model, tokenizer = build_model(base_model_path(), args.layers)
    model.to(device)
    scorer = TorchScorer(model, tokenizer, args.max_length, device)
    steps_per_epoch = math.ceil(len(pairs) / args.batch)
    total = steps_per_epoch * args.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / max(1, total - warmup)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    curve: list[dict[str, float]] = []

    def point(step: int) -> None:
        figures, _ = validate(scorer.logits, curve_val)
        curve.append({"step": step, "pairs_seen": step * args.batch, "minutes": round((time.time() - started) / 60, 2),
                      **{k: round(v, 4) for k, v in figures.items()}})
        log.info("curve %s", curve[-1])
        model.train()

    step = 0
    rng = random.Random(args.seed)
    for _epoch in range(args.epochs):
        model.train()
        for batch_ids in length_batches(pairs, args.batch, rng):
            if step % args.eval_every == 0:
                point(step)
            batch = [pairs[j] for j in batch_ids]
            enc = tokenizer([p.question for p in batch], [p.passage for p in batch], truncation="only_second",
                            max_length=args.max_length, padding=True, return_tensors="pt").to(device)
            labels = torch.tensor([p.label for p in batch], dtype=torch.float32, device=device)
            loss = loss_fn(model(**enc).view(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                log.info("step %d/%d loss %.4f (%.1f min)", step, total, float(loss.detach()), (time.time() - started) / 60)
    point(step)
    train_minutes = (time.time() - started) / 60

    figures, logits = validate(scorer.logits, val)
    calibration = calibrate(val, logits)
    out = args.out
    (out / "torch").mkdir(parents=True, exist_ok=True)
    model.cpu().save(out / "torch", tokenizer)
    command = "python -m eval.train_scorer " + " ".join(argv if argv is not None else sys.argv[1:])
    metrics = {"command": command.strip(), "seed": args.seed, "device": device, "threads": torch.get_num_threads(),
               "layers": model.config.num_hidden_layers, "max_length": args.max_length, "train_articles": len(train_arts),
               "validation_articles": len(val_arts), "pairs": len(pairs), "steps": step, "batch": args.batch,
               "minutes": round(train_minutes, 1), "validation": {k: round(v, 4) for k, v in figures.items()},
               "validation_questions": len(val["paragraph"]), "curve": curve}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n")
    log.info("done in %.1f min: %s; calibration %s", train_minutes, metrics["validation"], calibration)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
