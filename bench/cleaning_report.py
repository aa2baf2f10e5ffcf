"""What boilerplate cleaning removes from every shared data set: records dropped, share of characters, sentences.

    .venv/bin/python bench/cleaning_report.py [--sample 30] [--seed 0] [--longest 15] [--data ../shared/data]

For every ``../shared/data/*/corpus.jsonl`` and the seed article(s), each record's ``text`` goes through
``indexer.cleaning.clean_text`` (exactly what the readers do). Per set it prints:

* records dropped: cleaned text empty (the reader would skip the record as "empty once boilerplate is removed");
* chars removed: share of the normalised text's characters that cleaning removed;
* removed sentences: sentences (``indexer.sentences.split_sentences`` on the normalised text) of which no copy is
  left in the cleaned text; a random sample of ``--sample`` of them and the ``--longest`` ones (long removed
  sentences are the likeliest real ones) are printed for review by hand.

Every removed sentence, per set, goes to ``bench/results/cleaning-removed-<set>.txt`` (git-ignored) and the
figures to ``bench/results/cleaning.json``. The measure is independent of how the cleaner works inside: it only
compares its input and output, so runs before and after a cleaner change are comparable.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.cleaning import clean_text, normalise  # noqa: E402
from indexer.sentences import split_sentences  # noqa: E402

RESULTS = REPO / "bench" / "results"


@dataclass
class SetReport:
    name: str
    records: int = 0
    dropped: list[str] = field(default_factory=list)
    chars: int = 0
    chars_removed: int = 0
    removed: list[tuple[str, str]] = field(default_factory=list)
    """(record id, removed sentence)"""

    @property
    def share_removed(self) -> float:
        return self.chars_removed / self.chars if self.chars else 0.0


def removed_sentences(original: str, cleaned: str) -> list[str]:
    """Sentences of the normalised original with no copy left in the cleaned text."""
    text = normalise(original)
    return [text[s.start : s.end] for s in split_sentences(text) if text[s.start : s.end] not in cleaned]


def measure(name: str, records: list[tuple[str, str]]) -> SetReport:
    report = SetReport(name)
    for doc_id, raw in records:
        report.records += 1
        text = normalise(raw)
        cleaned = clean_text(raw)
        report.chars += len(text)
        report.chars_removed += max(len(text) - len(cleaned), 0)
        if not cleaned:
            report.dropped.append(doc_id)
        report.removed.extend((doc_id, s) for s in removed_sentences(raw, cleaned))
    return report


def load_sets(data: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    sets: list[tuple[str, list[tuple[str, str]]]] = []
    for corpus in sorted(data.glob("*/corpus.jsonl")):
        with corpus.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        sets.append((corpus.parent.name, [(str(r["_id"]), str(r.get("text") or "")) for r in rows]))
    seeds = sorted((data / "seed").glob("*.txt"))
    if seeds:
        sets.append(("seed", [(p.name, p.read_text(encoding="utf-8")) for p in seeds]))
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--sample", type=int, default=30, help="random removed sentences printed per set")
    parser.add_argument("--longest", type=int, default=15, help="longest removed sentences printed per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no shared data at {args.data}", file=sys.stderr)
        return 1
    reports = [measure(name, records) for name, records in load_sets(args.data)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    for r in reports:
        print(f"\n=== {r.name}: {len(r.removed)} removed sentences; sample of {args.sample} (id | sentence)")
        for doc_id, sentence in rng.sample(r.removed, min(args.sample, len(r.removed))):
            print(f"  {doc_id} | {sentence}")
        print(f"--- {r.name}: {args.longest} longest removed sentences")
        for doc_id, sentence in sorted(r.removed, key=lambda x: -len(x[1]))[: args.longest]:
            print(f"  {doc_id} | ({len(sentence)} chars) {sentence}")
        (RESULTS / f"cleaning-removed-{r.name}.txt").write_text(
            "".join(f"{doc_id}\t{sentence}\n" for doc_id, sentence in r.removed), encoding="utf-8"
        )
    print(f"\n{'set':<22}{'records':>8}{'dropped':>9}{'chars removed':>15}{'sentences removed':>19}")
    for r in reports:
        print(f"{r.name:<22}{r.records:>8}{len(r.dropped):>9}{r.share_removed:>14.2%}{len(r.removed):>19}")
        if r.dropped:
            print(f"  dropped: {', '.join(r.dropped)}")
    summary = [
        {k: v for k, v in asdict(r).items() if k != "removed"}
        | {"share_removed": round(r.share_removed, 5), "sentences_removed": len(r.removed)}
        for r in reports
    ]
    (RESULTS / "cleaning.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
