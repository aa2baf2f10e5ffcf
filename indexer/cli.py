"""``python -m indexer``: ingest, rebuild, delete, stats, reset, migrate.

Exit codes: 0 all good; 1 the command failed (nothing or only part was done, the message says why; for
``rebuild``: the new collection failed verification and the alias was left alone); 2 bad command line; 3 the
ingest (or rebuild) finished but some input was skipped (each one listed on stderr).

``ingest`` looks for its input before it opens the store or loads the model, so that a mistyped path fails in
a fraction of a second. Progress goes to stderr: a bar on a terminal, and otherwise (a log file, CI, a pipe)
one plain line every ``--progress-interval`` seconds with documents, chunks, rate and ETA.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tqdm import tqdm

from indexer.settings import IndexerSettings

if TYPE_CHECKING:
    from indexer.articles import Article
    from indexer.pipeline import Indexer
    from indexer.readers import Skipped

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with 1 <= I <= N (argparse type for ``--shard``)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N, e.g. 2/4") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"{text!r}: I must be between 1 and N")
    return index, count


def shard_of(key: str, count: int) -> int:
    """The 1-based shard of a document id: stable across runs, processes and machines (not Python's ``hash``)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % count + 1


def in_shard(item: Article | Skipped, shard: tuple[int, int]) -> bool:
    """Whether this input belongs to ``shard``; an unreadable input without an id goes by its location, so it
    is reported by exactly one shard."""
    index, count = shard
    key = item.doc_id or getattr(item, "location", "")
    return shard_of(key, count) == index


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
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    ingest.add_argument("--progress-interval", type=float, default=10.0, metavar="SECONDS",
                        help="when stderr is not a terminal, print a progress line this often (default 10)")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.add_argument("--shard", type=parse_shard, metavar="I/N",
                        help="index only shard I of N (1-based) of the input documents, by a hash of each document "
                        "id: run N processes, one per shard, against one Qdrant server (NEWSDESK_QDRANT_URL) to "
                        "ingest in parallel; not with --prune")

    rebuild = sub.add_parser(
        "rebuild", help="build a new collection aside from PATHs, verify it, then switch the alias to it atomically",
        description="Index PATHs into a new collection <NEWSDESK_COLLECTION>__<UTC timestamp> with the current "
        "settings, verify it (document and chunk counts, sample queries), then point the alias "
        "NEWSDESK_COLLECTION at it in one atomic operation. The previous collection is kept unless --drop-old.",
    )
    rebuild.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    rebuild.add_argument("--drop-old", action="store_true",
                         help="after the switch, drop the previous collection and older rebuilds no alias uses")
    rebuild.add_argument("--verify-query", action="append", default=[], metavar="TEXT",
                         help="a query that must return hits from the new collection (repeatable); three "
                         "queries made from ingested titles are always checked")
    rebuild.add_argument("--keep-failed", action="store_true",
                         help="keep a collection that failed verification (for inspection) instead of dropping it")
    rebuild.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    rebuild.add_argument("--progress-interval", type=float, default=10.0, metavar="SECONDS",
                         help="when stderr is not a terminal, print a progress line this often (default 10)")
    rebuild.add_argument("--json", action="store_true", help="print the result as JSON")
    rebuild.set_defaults(prune=False)

    delete = sub.add_parser("delete", help="remove documents by id")
    delete.add_argument("doc_ids", nargs="+", metavar="DOC_ID")

    stats = sub.add_parser("stats", help="documents, chunks and collection configuration")
    stats.add_argument("--json", action="store_true")

    migrate = sub.add_parser(
        "migrate", help="copy an embedded store written by the previous engine (qdrant-client local mode) into "
        "Qdrant Edge, without re-embedding",
        description="Copy every collection, point and alias of a store written by qdrant-client's local mode at "
        "NEWSDESK_QDRANT_PATH into Qdrant Edge shards in the same folder, verify every point (id, payload hash, "
        "vectors), then remove the old files (--keep-old moves them aside). Nothing is deleted before the copy "
        "is verified.")
    migrate.add_argument("--keep-old", action="store_true",
                         help="move the old files to <NEWSDESK_QDRANT_PATH>/local-mode-old instead of deleting them")
    migrate.add_argument("--json", action="store_true", help="print the result as JSON")

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
    if args.command == "ingest" and args.shard and args.prune:
        print("ingest: --prune cannot be combined with --shard (a shard sees only its own documents, so it would "
              "delete the others'); prune in a separate unsharded run", file=sys.stderr)
        return EXIT_USAGE
    if args.command in ("ingest", "rebuild"):
        early = _check_ingest_input(args)
        if early is not None:
            return early
    # heavy imports (the Qdrant client alone takes seconds) only once there is something to do
    from indexer.collection import CollectionMismatchError, LocalModeStoreError, StoreLockedError
    from indexer.embedding import EmbeddingError
    from indexer.migrate import MigrationError
    from indexer.rebuild import RebuildError

    try:
        if args.command == "rebuild":
            return _rebuild(args, settings)
        if args.command == "migrate":
            return _migrate(args, settings)
        return _run(args, settings)
    except (StoreLockedError, CollectionMismatchError, LocalModeStoreError, EmbeddingError, RebuildError,
            MigrationError) as exc:
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


def _check_ingest_input(args: argparse.Namespace) -> int | None:
    """Before the store is opened and the model loaded: fail at once when no path names anything to read.

    Returns an exit code when there is nothing to do, else None. A folder that exists but holds no supported
    file still goes on under ``--prune`` (its previously ingested documents are to be deleted).
    """
    from indexer.readers import SUPPORTED_SUFFIXES, discover

    files, problems = discover(args.paths)
    if files or (args.prune and any(p.is_dir() for p in args.paths)):
        args.expected_docs = len(problems) + sum(_estimate_records(f.path) for f in files)
        return None
    for item in problems:
        print(f"skipped {item.location}: {item.reason}", file=sys.stderr)
    kinds = " ".join(sorted(SUPPORTED_SUFFIXES))
    if problems:
        print(f"error: nothing to ingest ({len(problems)} of {len(args.paths)} paths skipped; "
              f"supported files: {kinds})", file=sys.stderr)
        return EXIT_FAILED
    print(f"nothing to ingest: no supported file ({kinds}) under {', '.join(map(str, args.paths))}",
          file=sys.stderr)
    return EXIT_OK


def _estimate_records(path: Path) -> int:
    """Documents a file will give, for the ETA: its non-blank lines for JSONL, else one."""
    if path.suffix.lower() != ".jsonl":
        return 1
    try:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return 1


class Progress:
    """The ingest progress hook (``(documents done, chunks written)``, see ``indexer.pipeline.ProgressHook``).

    On a terminal: a tqdm bar. Otherwise one line per ``interval`` seconds (and one at the end), e.g.
    ``progress: 1200/4800 docs (25%), 13400 chunks, 41.3 chunks/s, 3.7 docs/s, ETA 16m12s``.
    """

    def __init__(self, total: int | None, interactive: bool, interval: float = 10.0, enabled: bool = True,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total or None
        self.interval = interval
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.started = clock()
        self.last_line: float | None = None
        self.docs = self.chunks = 0
        self.lines = enabled and not interactive
        self.bar = tqdm(desc="ingest", unit="doc", total=self.total, file=self.stream, dynamic_ncols=True,
                        mininterval=0.5) if enabled and interactive else None

    def __call__(self, docs: int, chunks: int) -> None:
        self.docs, self.chunks = docs, chunks
        if self.total is not None and docs > self.total:  # deletions by --prune also count as results
            self.total = docs
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.update(docs - self.bar.n)
            self.bar.set_postfix(chunks=chunks, chunks_per_s=f"{self._rate(chunks):.1f}")
        elif self.lines:
            now = self.clock()
            if self.last_line is None or now - self.last_line >= self.interval:
                self.last_line = now
                self._print_line()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.lines:
            self._print_line(final=True)

    def _rate(self, count: int) -> float:
        return count / max(self.clock() - self.started, 1e-6)

    def line(self) -> str:
        done = f"{self.docs}/{self.total} docs ({min(self.docs / self.total, 1):.0%})" if self.total else (
            f"{self.docs} docs")
        parts = [f"progress: {done}", f"{self.chunks} chunks", f"{self._rate(self.chunks):.1f} chunks/s",
                 f"{self._rate(self.docs):.1f} docs/s"]
        docs_rate = self._rate(self.docs)
        if self.total and self.docs and docs_rate > 0:
            parts.append(f"ETA {_duration(max(self.total - self.docs, 0) / docs_rate)}")
        return ", ".join(parts)

    def _print_line(self, final: bool = False) -> None:
        print(self.line() + (" (done)" if final else ""), file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _ingest(indexer: object, args: argparse.Namespace) -> int:
    from indexer.pipeline import Indexer

    assert isinstance(indexer, Indexer)
    expected = getattr(args, "expected_docs", None)
    if expected and args.shard:
        expected = max(1, round(expected / args.shard[1]))
    progress = Progress(expected, interactive=sys.stderr.isatty(),
                        interval=args.progress_interval, enabled=not args.no_progress)
    try:
        if args.shard:
            _ensure_shared_collection(indexer)
            report = indexer.ingest(_shard_items(args.paths, args.shard), progress=progress)
        else:
            report = indexer.ingest_paths(args.paths, prune=args.prune, progress=progress)
    finally:
        progress.close()
    for item in report.skipped:
        print(f"skipped {item.location or item.doc_id}: {item.error}", file=sys.stderr)
    for item in report.results:
        if item.status not in ("indexed", "replaced", "unchanged", "skipped", "deleted"):
            # e.g. documents --prune kept because their file has lines that could not be read
            print(f"{item.status} {item.doc_id}: {item.error}", file=sys.stderr)
    summary = report.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['indexed']} indexed, {summary['replaced']} replaced, {summary['unchanged']} unchanged, "
            f"{summary['skipped']} skipped, {summary['deleted']} deleted"
            + (f", {summary['kept']} kept from --prune (their file has unreadable input)" if summary.get("kept") else "")
            + f"; {summary['chunks_written']} chunks "
            f"written in {summary['seconds']} s ({summary['docs_per_s']} docs/s, {summary['chunks_per_s']} chunks/s)"
        )
    return EXIT_SKIPPED if report.skipped else EXIT_OK


def _ensure_shared_collection(indexer: Indexer) -> None:
    """Create the collection where missing, tolerating a sibling shard process that creates it at the same moment
    (the server then refuses the second create; the collection exists, so check it and go on)."""
    try:
        indexer.ensure_collection()
    except Exception:
        if not indexer.store.exists():
            raise
        indexer.ensure_collection()


def _shard_items(paths: list[Path], shard: tuple[int, int]) -> Iterator[Article | Skipped]:
    """The inputs of ``paths`` (as ``Indexer.ingest_paths`` reads them) that belong to ``shard``."""
    from indexer.readers import discover, read_sources

    files, missing = discover(paths)
    for item in itertools.chain(missing, read_sources(files)):
        if in_shard(item, shard):
            yield item


def _migrate(args: argparse.Namespace, settings: IndexerSettings) -> int:
    from indexer.migrate import migrate

    result = migrate(settings, keep_old=args.keep_old, say=lambda message: print(message, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    points = sum(c.points for c in result.collections)
    print(f"migrated {len(result.collections)} collection(s), {points} points, every point verified, in "
          f"{result.seconds:.1f} s; aliases: {result.aliases or 'none'}; old files {result.old_files}")
    return EXIT_OK


def _rebuild(args: argparse.Namespace, settings: IndexerSettings) -> int:
    from indexer.rebuild import rebuild

    progress = Progress(getattr(args, "expected_docs", None), interactive=sys.stderr.isatty(),
                        interval=args.progress_interval, enabled=not args.no_progress)
    try:
        result = rebuild(settings, args.paths, verify_queries=args.verify_query, drop_old=args.drop_old,
                         keep_failed=args.keep_failed, progress=progress,
                         say=lambda message: print(message, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        progress.close()
        print(f"\ninterrupted: the alias {settings.collection!r} was not touched"
              + ("" if args.keep_failed else "; the half-built collection was dropped"), file=sys.stderr)
        return 130
    progress.close()
    for line in result.skipped:
        print(f"skipped {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict()))
    v, summary = result.verification, result.ingest
    if not result.swapped:
        print(f"verification failed: {'; '.join(v.problems)}", file=sys.stderr)
        print(f"alias {result.alias!r} untouched; {result.collection} "
              + ("kept for inspection" if result.kept_failed else "dropped (--keep-failed keeps it)"), file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        titles = sum(1 for q in v.queries if q.kind == "title")
        print(f"built {result.collection}: {v.documents} documents, {v.chunks} chunks in {summary['seconds']} s")
        print(f"verified: counts as ingested, no incomplete document, {len(v.queries)} queries answered "
              f"({titles} from titles)")
        was = ("replaced the real collection of that name: one-time migration to an alias" if result.migrated
               else f"was {result.previous}" if result.previous else "new alias")
        print(f"alias {result.alias} -> {result.collection} ({was}; switched in {result.switch_ms:.1f} ms)")
        if result.missing:
            print(f"note: {len(result.missing)} documents of {result.previous} are not in the new collection "
                  f"(e.g. {', '.join(result.missing[:3])}; added through the API?)")
        for name in result.dropped:
            print(f"dropped {name}")
        if result.kept:
            print(f"kept {', '.join(result.kept)} (drop with --drop-old on the next rebuild)")
    return EXIT_SKIPPED if result.skipped else EXIT_OK


def _format_stats(stats: dict[str, object]) -> str:
    if not stats.get("exists"):
        return f"collection {stats['collection']!r} at {stats['location']} does not exist yet (run ingest)"
    lines = [f"{k}: {v}" for k, v in stats.items() if k not in ("config", "settings", "exists")]
    lines += [f"config.{k}: {v}" for k, v in dict(stats["config"]).items()]  # type: ignore[call-overload]
    lines += [f"settings.{k}: {v}" for k, v in dict(stats["settings"]).items()]  # type: ignore[call-overload]
    return "\n".join(lines)
