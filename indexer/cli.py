"""``python -m indexer``: ingest, delete, stats, reset.

Exit codes: 0 all good; 1 the command failed (nothing or only part was done, the message says why);
2 bad command line; 3 the ingest finished but some input was skipped (each one listed on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from tqdm import tqdm

from indexer.collection import CollectionMismatchError, StoreLockedError
from indexer.embedding import EmbeddingError
from indexer.settings import IndexerSettings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m indexer",
        description="Index articles into Newsdesk's Qdrant collection. Settings come from NEWSDESK_* "
        "environment variables or .env (see README).",
    )
    parser.add_argument("--collection", help="override NEWSDESK_COLLECTION")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="index files or folders (.txt .md .html .htm .jsonl), recursively")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--prune", action="store_true",
                        help="also delete documents previously ingested from these paths that are gone now")
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")

    delete = sub.add_parser("delete", help="remove documents by id")
    delete.add_argument("doc_ids", nargs="+", metavar="DOC_ID")

    stats = sub.add_parser("stats", help="documents, chunks and collection configuration")
    stats.add_argument("--json", action="store_true")

    reset = sub.add_parser("reset", help="drop the whole collection")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    settings = IndexerSettings.from_env()
    if args.collection:
        settings = settings.model_copy(update={"collection": args.collection})
    if args.command == "reset" and not args.yes:
        if not sys.stdin.isatty():
            print("reset: refusing without --yes when not run interactively", file=sys.stderr)
            return EXIT_USAGE
        answer = input(f"Drop collection {settings.collection!r} at {settings.location()}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return EXIT_OK
    try:
        return _run(args, settings)
    except (StoreLockedError, CollectionMismatchError, EmbeddingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\ninterrupted: what was written is consistent; run the same command again to finish",
              file=sys.stderr)
        return 130
    except Exception as exc:  # Qdrant server down, disk full...: one line, not a traceback
        if args.verbose:
            raise
        print(f"error: {type(exc).__name__}: {exc} (use -v for details)", file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace, settings: IndexerSettings) -> int:
    from indexer.pipeline import Indexer  # heavy imports after argument parsing, so --help is instant

    indexer = Indexer(settings)
    try:
        if args.command == "ingest":
            return _ingest(indexer, args)
        if args.command == "delete":
            removed = indexer.delete(args.doc_ids)
            for doc_id, n in removed.items():
                print(f"{doc_id}: {'removed ' + str(n) + ' chunks' if n else 'not found'}")
            return EXIT_OK
        if args.command == "stats":
            stats = indexer.stats()
            print(json.dumps(stats, indent=2) if args.json else _format_stats(stats))
            return EXIT_OK
        if args.command == "reset":
            dropped = indexer.reset()
            print(f"collection {settings.collection!r} {'dropped' if dropped else 'did not exist'}")
            return EXIT_OK
    finally:
        indexer.close()
    return EXIT_USAGE


def _ingest(indexer: object, args: argparse.Namespace) -> int:
    from indexer.pipeline import Indexer

    assert isinstance(indexer, Indexer)
    bar = tqdm(desc="ingest", unit="doc", disable=args.no_progress or None, dynamic_ncols=True)
    started = time.perf_counter()

    def progress(docs: int, chunks: int) -> None:
        bar.update(docs - bar.n)
        elapsed = max(time.perf_counter() - started, 1e-6)
        bar.set_postfix(chunks=chunks, chunks_per_s=f"{chunks / elapsed:.1f}")

    report = indexer.ingest_paths(args.paths, prune=args.prune, progress=progress)
    bar.close()
    for item in report.skipped:
        print(f"skipped {item.location or item.doc_id}: {item.error}", file=sys.stderr)
    summary = report.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['indexed']} indexed, {summary['replaced']} replaced, {summary['unchanged']} unchanged, "
            f"{summary['skipped']} skipped, {summary['deleted']} deleted; {summary['chunks_written']} chunks "
            f"written in {summary['seconds']} s ({summary['docs_per_s']} docs/s, {summary['chunks_per_s']} chunks/s)"
        )
    return EXIT_SKIPPED if report.skipped else EXIT_OK


def _format_stats(stats: dict[str, object]) -> str:
    if not stats.get("exists"):
        return f"collection {stats['collection']!r} at {stats['location']} does not exist yet (run ingest)"
    lines = [f"{k}: {v}" for k, v in stats.items() if k not in ("config", "settings", "exists")]
    lines += [f"config.{k}: {v}" for k, v in dict(stats["config"]).items()]  # type: ignore[call-overload]
    lines += [f"settings.{k}: {v}" for k, v in dict(stats["settings"]).items()]  # type: ignore[call-overload]
    return "\n".join(lines)
