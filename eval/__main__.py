"""``python -m eval run --dataset DIR [--config NAME ...] [--limit N] [--out DIR]``; ``python -m eval configs``."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from eval.configs import CONFIGS, GROUPS, resolve
from eval.datasets import load_dataset
from eval.index import DEFAULT_CACHE
from eval.report import chart, markdown, write_json
from eval.runner import run
from service.settings import ServiceSettings

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Offline retrieval and answer evals.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="index (cached), query and score one BEIR-layout set")
    r.add_argument("--dataset", type=Path, required=True, action="append",
                   help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); repeatable")
    r.add_argument("--config", nargs="+", default=None,
                   help=f"configuration or group names (default: core); groups: {', '.join(GROUPS)}")
    r.add_argument("--limit", type=int, default=None, help="quick subset: first N judged queries")
    r.add_argument("--distractors", type=int, default=150, help="with --limit: random non-gold documents")
    r.add_argument("--out", type=Path, default=DEFAULT_OUT)
    r.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    r.add_argument("--no-baselines", action="store_true")
    r.add_argument("--answers", action="store_true", help="also evaluate the answers (the question pipeline, service.answering)")
    sub.add_parser("configs", help="list configurations")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    base = ServiceSettings.from_env()

    if args.command == "configs":
        for name, cfg in CONFIGS.items():
            print(f"{name:18} {cfg.describe(base)}{'  [' + cfg.note + ']' if cfg.note else ''}")
        for g, names in GROUPS.items():
            print(f"group {g}: {' '.join(names)}")
        return 0

    configs = resolve(args.config)
    for directory in args.dataset:
        dataset = load_dataset(directory).subset(args.limit, args.distractors)
        result = run(dataset, configs, base, args.cache, baselines=not args.no_baselines,
                     answers=args.answers)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name).strip("_")
        write_json(result, args.out / f"{slug}.json")
        chart(result, args.out / f"{slug}.png")
        print(markdown(result))
        print(f"\n(per-query results: {args.out / (slug + '.json')}; chart: {args.out / (slug + '.png')})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
