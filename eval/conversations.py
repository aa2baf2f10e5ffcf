"""Follow-up questions in conversations: does rewriting them into standalone queries find the right article?

``python -m eval.conversations [--set eval/data/conversations.jsonl] [--distractors 300] [--answers]``

The set (``eval/data/conversations.jsonl``) holds threads of 2-3 user turns written for the project, each turn
with its gold article ids, over the sample articles (``samples/``) or over ``../shared/data/news-rtqa-2023``
(only ids and our own question texts are stored; the corpus is read from the shared folder). For each corpus
this script indexes, into a temporary embedded store with the real Indexer, the sample folder or the
news-rtqa articles the threads use plus ``--distractors`` random others (fixed seed), then retrieves with the
real :class:`service.retrieval.Retriever` (hybrid, the configured fusion) for every follow-up turn (every turn
after the first) three ways:

* ``alone``: the turn as typed;
* ``prepend``: the chat endpoint's old heuristic (:func:`prepend_previous`, kept here as the baseline: the previous user
  message prepended when the turn looks elliptical);
* ``rewrite``: :func:`service.answering.followup.standalone_query`.

It reports hit rate@5 (a gold article among the top 5 distinct articles) and MRR@10 per corpus, prints a table
and writes ``eval/results/conversations.json``. With ``--answers`` it also runs the extractive answer composer
(``service.answer.ask``) on each query: found rate, and the rate at which a gold article is cited.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.index import DEFAULT_CACHE, CachingEmbedder
from indexer.articles import Article, InputError, article_from_record
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from indexer.readers import Skipped
from service.answering import Ask
from service.answering.followup import standalone_query
from service.answering.rewrite import ModelRewriter
from service.context import build_pipeline
from service.retrieval import Retriever
from service.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SET = REPO / "eval" / "data" / "conversations.jsonl"
SAMPLES = REPO / "samples"
SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "eval" / "results" / "conversations.json"
DISTRACTOR_SEED = 1234
HIT_DEPTH = 5
MRR_DEPTH = 10
METHODS = ("alone", "prepend", "rewrite", "model")
"""``model``: the configured language model rewrites (``NEWSDESK_LLM_BASE_URL`` set); absent otherwise."""


@dataclass
class Turn:
    text: str
    gold: list[str]


@dataclass
class Thread:
    id: str
    corpus: str
    turns: list[Turn]


@dataclass
class Scored:
    hits: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    top1: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    rr: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    found: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    cited: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    first_turn_hits: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


def load_threads(path: Path) -> list[Thread]:
    threads = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            turns = [Turn(t["text"], list(t["gold_doc_ids"])) for t in rec["turns"]]
            threads.append(Thread(rec["id"], rec["corpus"], turns))
    return threads


# --- the chat endpoint's old follow-up heuristic (the baseline) -------------------------------------------------
_FOLLOW_UP = re.compile(r"^(and|but|also|so|then|what about|how about|and what about|same for|what of)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|that|this|those|these|there)\b", re.I)
_WORD = re.compile(r"[\w'’-]+")
SHORT_QUESTION_WORDS = 4
"""A last user turn of at most this many words is taken as a follow-up of the previous one."""


def _elliptical(text: str) -> bool:
    words = _WORD.findall(text)
    if len(words) <= SHORT_QUESTION_WORDS or _FOLLOW_UP.match(text.strip()):
        return True
    # a pronoun and no name of its own ("when did it reopen?"): it refers to the previous turn
    names = [w for w in words[1:] if w[:1].isupper()]
    return bool(_PRONOUN.search(text)) and not names


def prepend_previous(user_turns: list[str], max_chars: int) -> str:
    """The question to answer from the user turns (oldest first): the last one, prefixed by the previous one
    when it is a follow-up and the two fit in ``max_chars``."""
    turns = [t for t in (u.strip() for u in user_turns) if t]
    if not turns:
        raise ValueError("no user turn with text")
    last = turns[-1]
    if len(turns) > 1 and _elliptical(last):
        joined = f"{turns[-2]} {last}"
        if len(joined) <= max_chars:
            return joined
    return last


def queries_for(users: list[str], rewriter: ModelRewriter | None = None) -> dict[str, str]:
    """The queries for the last of ``users`` (all user turns so far, in order): alone, prepended, rewritten by
    the rule, and by the model when ``rewriter`` is given."""
    out = {"alone": users[-1], "prepend": prepend_previous(users, 10_000), "rewrite": standalone_query(users).query}
    if rewriter is not None:
        rewrite = rewriter.rewrite(users)
        out["model"] = rewrite.query
        if rewrite.by != "model":
            print(f"model rewrite fell back ({rewrite.by}): {users[-1]!r}", file=sys.stderr)
    return out


def _news_articles(threads: list[Thread], distractors: int) -> list[Article | Skipped]:
    corpus_path = SHARED / "news-rtqa-2023" / "corpus.jsonl"
    records = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = {d for t in threads for turn in t.turns for d in turn.gold}
    missing = gold - {str(r["_id"]) for r in records}
    if missing:
        raise SystemExit(f"gold ids not in news-rtqa-2023: {sorted(missing)}")
    others = [r for r in records if str(r["_id"]) not in gold]
    chosen = [r for r in records if str(r["_id"]) in gold]
    chosen += random.Random(DISTRACTOR_SEED).sample(others, min(distractors, len(others)))
    out: list[Article | Skipped] = []
    for i, rec in enumerate(chosen):
        try:
            out.append(article_from_record(rec, origin="eval:conversations"))
        except InputError as exc:
            out.append(Skipped(f"corpus.jsonl:{i + 1}", str(exc), str(rec.get("_id"))))
    return out


def evaluate_corpus(
    corpus: str, threads: list[Thread], settings: ServiceSettings, embedder: Embedder, distractors: int, answers: bool
) -> tuple[Scored, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="newsdesk-conv-") as tmp:
        local = settings.model_copy(update={"qdrant_path": Path(tmp) / "qdrant", "qdrant_url": None,
                                            "collection": "conversations"})
        indexer = Indexer(local, embedder=embedder)
        t0 = time.perf_counter()
        if corpus == "samples":
            report = indexer.ingest_paths([SAMPLES])
        else:
            report = indexer.ingest(_news_articles(threads, distractors))
        index_info = {**report.summary(), "index_seconds": round(time.perf_counter() - t0, 1)}
        retriever = Retriever.for_store(local, indexer.store, embedder)
        pipeline = build_pipeline(local, retriever)
        rewriter = ModelRewriter(local) if local.llm_configured else None
        scored = Scored()
        for thread in threads:
            users: list[str] = []
            for i, turn in enumerate(thread.turns):
                users.append(turn.text)
                if i == 0:
                    docs = _ranked_docs(retriever, turn.text)
                    scored.first_turn_hits.append(float(bool(set(docs[:HIT_DEPTH]) & set(turn.gold))))
                    continue
                row: dict[str, Any] = {"thread": thread.id, "turn": i, "text": turn.text, "gold": turn.gold}
                for method, query in queries_for(users, rewriter).items():
                    docs = _ranked_docs(retriever, query)
                    hit = float(bool(set(docs[:HIT_DEPTH]) & set(turn.gold)))
                    rank = next((r for r, d in enumerate(docs[:MRR_DEPTH], start=1) if d in turn.gold), None)
                    scored.hits[method].append(hit)
                    scored.top1[method].append(float(rank == 1))
                    scored.rr[method].append(1.0 / rank if rank else 0.0)
                    row[method] = {"query": query, "hit": hit, "rank": rank, "top": docs[:HIT_DEPTH]}
                    if answers:
                        result = pipeline.ask(Ask(query))
                        cited = {c.doc_id for c in result.citations}
                        scored.found[method].append(float(result.found))
                        scored.cited[method].append(float(bool(cited & set(turn.gold))))
                        row[method].update(found=result.found, cited=sorted(cited))
                scored.rows.append(row)
        indexer.close()
    return scored, index_info


def _ranked_docs(retriever: Retriever, query: str) -> list[str]:
    hits = retriever.search(query, limit=MRR_DEPTH, collapse=True).hits
    return [h.doc_id for h in hits]


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 3) if values else float("nan")


def summarise(scored: Scored, answers: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"follow_up_turns": len(scored.rows), "first_turn_hit@5": _mean(scored.first_turn_hits)}
    for m in (m for m in METHODS if scored.hits[m]):
        out[m] = {"hit@5": _mean(scored.hits[m]), "hit@1": _mean(scored.top1[m]), "mrr@10": _mean(scored.rr[m])}
        if answers:
            out[m].update({"found": _mean(scored.found[m]), "gold_cited": _mean(scored.cited[m])})
    return out


def merge(parts: list[Scored]) -> Scored:
    total = Scored()
    for part in parts:
        for m in METHODS:
            total.hits[m] += part.hits[m]
            total.top1[m] += part.top1[m]
            total.rr[m] += part.rr[m]
            total.found[m] += part.found[m]
            total.cited[m] += part.cited[m]
        total.first_turn_hits += part.first_turn_hits
        total.rows += part.rows
    return total


def table(summaries: dict[str, dict[str, Any]], answers: bool) -> str:
    names = list(summaries)
    head = "| follow-up query | " + " | ".join(
        f"{n} hit@5 (n={summaries[n]['follow_up_turns']})" for n in names) + " | all hit@1 | all MRR@10 |"
    if answers:
        head += " all found | all gold cited |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for m in (m for m in METHODS if m in summaries[names[-1]]):
        cells = [f"{summaries[n][m]['hit@5']:.3f}" if m in summaries[n] else "" for n in names]
        total = summaries[names[-1]][m]
        row = f"| {m} | " + " | ".join(cells) + f" | {total['hit@1']:.3f} | {total['mrr@10']:.3f} |"
        if answers:
            row += f" {summaries[names[-1]][m]['found']:.3f} | {summaries[names[-1]][m]['gold_cited']:.3f} |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.conversations", description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--distractors", type=int, default=300, help="random other news-rtqa articles indexed")
    parser.add_argument("--answers", action="store_true", help="also compose answers (found / gold cited)")
    parser.add_argument("--no-cache", action="store_true", help="do not reuse embeddings cached in .eval-cache")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("newsdesk.llm").setLevel(logging.INFO)  # why a model rewrite was not used

    threads = load_threads(args.set)
    settings = ServiceSettings.from_env()
    embedder: Embedder = Embedder(settings) if args.no_cache else CachingEmbedder(settings, DEFAULT_CACHE)
    by_corpus: dict[str, list[Thread]] = {}
    for t in threads:
        by_corpus.setdefault(t.corpus, []).append(t)
    if "news-rtqa-2023" in by_corpus and not (SHARED / "news-rtqa-2023").is_dir():
        print(f"{SHARED / 'news-rtqa-2023'} is absent: news-rtqa threads skipped", file=sys.stderr)
        del by_corpus["news-rtqa-2023"]

    parts: dict[str, Scored] = {}
    indexes: dict[str, Any] = {}
    for corpus, group in sorted(by_corpus.items(), key=lambda kv: kv[0] != "samples"):
        parts[corpus], indexes[corpus] = evaluate_corpus(corpus, group, settings, embedder, args.distractors,
                                                         args.answers)
    if isinstance(embedder, CachingEmbedder):
        embedder.save()
    summaries = {name: summarise(s, args.answers) for name, s in parts.items()}
    summaries["all"] = summarise(merge(list(parts.values())), args.answers)
    print(table(summaries, args.answers))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "set": str(args.set.relative_to(REPO) if args.set.is_relative_to(REPO) else args.set),
        "threads": len(threads), "distractors": args.distractors, "fusion": settings.fusion,
        "summary": summaries, "indexes": indexes, "rows": merge(list(parts.values())).rows,
    }, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
