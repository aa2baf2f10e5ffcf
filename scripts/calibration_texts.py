#!/usr/bin/env python3
"""Write ``indexer/calibration_texts.json``: the texts the int8 embedding model is calibrated on.

The project's own text only (``samples/`` and ``tests/fixtures/``; nothing downloaded, no shared data), cut as the
indexer cuts it: each article's title-prefixed chunks (what ingest embeds; at the default size and at 128
and 64 tokens, for more samples of every length), their
sentences as the answer composer embeds them, and each title (a query-length input). Run it after changing the
samples, the fixtures or the chunker; a test checks the committed file is current.

    python scripts/calibration_texts.py            # rewrite the file
    python scripts/calibration_texts.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from indexer.articles import Article  # noqa: E402
from indexer.chunking import build_chunker  # noqa: E402
from indexer.precision import CALIBRATION_FILE  # noqa: E402
from indexer.readers import discover, read_sources  # noqa: E402
from indexer.sentences import sentence_text, split_sentences  # noqa: E402
from indexer.settings import IndexerSettings  # noqa: E402

SOURCES = ("samples", "tests/fixtures")


def build() -> dict[str, object]:
    settings = IndexerSettings(_env_file=None)  # type: ignore[call-arg]
    # the default chunks, and shorter cuts of the same text: more samples at every length a chunk can have
    chunkers = [build_chunker(settings.model_copy(update={"chunk_tokens": n, "chunk_overlap": min(32, n // 4)}))
                for n in (settings.chunk_tokens, 128, 64)]
    files, _ = discover([REPO / s for s in SOURCES])
    texts: list[str] = []
    for article in read_sources(files):
        if not isinstance(article, Article):
            continue  # the fixtures of unreadable input
        prefix = f"{article.title}\n" if article.title else ""
        for chunker in chunkers:
            for chunk in chunker.chunk(article.text, prefix):
                texts.append(prefix + chunk.text)
                texts += [sentence_text(chunk.text, s) for s in split_sentences(chunk.text)]
        if article.title:
            texts.append(article.title)
    texts = [t for t in dict.fromkeys(texts) if t.strip()]
    return {"about": "int8 calibration texts; written by scripts/calibration_texts.py from " + ", ".join(SOURCES),
            "texts": texts}


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render()
    if args.check:
        current = CALIBRATION_FILE.read_text(encoding="utf-8") if CALIBRATION_FILE.exists() else ""
        if current != text:
            print(f"{CALIBRATION_FILE} is stale: run python scripts/calibration_texts.py", file=sys.stderr)
            return 1
        return 0
    CALIBRATION_FILE.write_text(text, encoding="utf-8")
    print(f"{CALIBRATION_FILE}: {len(json.loads(text)['texts'])} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
