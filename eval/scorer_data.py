"""Training and validation data for the answer-sentence scorer, built from SQuAD 1.1's training split.

SQuAD gives (question, paragraph, answer span). The scorer reads (question, title + sentence) and says whether
the sentence states the answer, so every question becomes a small group of pairs:

* positive: the sentence (``indexer.sentences.split_sentences``, the splitter answers quote) holding the span;
  a question whose span crosses a sentence boundary is skipped;
* negatives: other sentences of its paragraph (same topic, no answer), the sentences of *other* paragraphs of
  the same article that BM25 ranks highest for the question (topical near-misses of the kind retrieval hands
  the composer, which teach the model to say no), and one sentence of another article.

The passage side is ``title + "\\n" + sentence``, the way chunks are embedded (``NEWSDESK_EMBED_TITLE``), so
the model sees the article's subject when the sentence says "he" or "the company".

The split is by article (SQuAD's 442 Wikipedia articles), seeded: no validation question shares an article with
a training pair. News sets never enter here; they are for evaluation only.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.sentences import sentence_text, split_sentences
from indexer.sparse import terms

DEFAULT_SQUAD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "squad11-train" / "train.jsonl"


@dataclass(frozen=True, slots=True)
class Paragraph:
    article: str
    title: str
    sentences: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    questions: tuple[tuple[str, int, int], ...]
    """(question, answer start, answer end) in the paragraph's text."""


@dataclass(slots=True)
class Article:
    title: str
    paragraphs: list[Paragraph] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Pair:
    question: str
    passage: str
    label: float


@dataclass(frozen=True, slots=True)
class Group:
    """One validation question with its candidate passages; ``gold``: indices of those that hold the answer
    (empty for the constructed unanswerable questions)."""

    question: str
    passages: tuple[str, ...]
    gold: frozenset[int]


def passage(title: str, sentence: str) -> str:
    """The scorer's passage side, as at answer time (``service.answering.scorer.passage_text``)."""
    return f"{title}\n{sentence}" if title else sentence


def load_articles(path: Path = DEFAULT_SQUAD) -> list[Article]:
    """SQuAD's paragraphs grouped by article, in file order."""
    if not path.is_file():
        raise FileNotFoundError(f"SQuAD 1.1 train not found at {path} (pass --data PATH to train.jsonl)")
    articles: dict[str, Article] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            name = rec["_id"].rsplit("#", 1)[0]
            context = rec["context"]
            spans = tuple((s.start, s.end) for s in split_sentences(context))
            sentences = tuple(sentence_text(context, s) for s in split_sentences(context))
            qs = []
            for qa in rec["qas"]:
                for ans in qa["answers"][:1]:
                    start = int(ans["answer_start"])
                    qs.append((qa["question"].strip(), start, start + len(ans["text"])))
            art = articles.setdefault(name, Article(rec["title"]))
            art.paragraphs.append(Paragraph(name, rec["title"], sentences, spans, tuple(qs)))
    return list(articles.values())


def split_articles(articles: list[Article], val_share: float, seed: int) -> tuple[list[Article], list[Article]]:
    """(train, validation) by article, seeded."""
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(articles) * val_share))
    val = {order[i] for i in range(n_val)}
    return ([a for i, a in enumerate(articles) if i not in val], [a for i, a in enumerate(articles) if i in val])


def answer_sentence(p: Paragraph, start: int, end: int) -> int | None:
    """Index of the sentence that holds ``[start, end)`` whole, or None."""
    for i, (s, e) in enumerate(p.spans):
        if s <= start and end <= e:
            return i
    return None


class ArticleIndex:
    """BM25 over the sentences of one article (the hard negatives: topical sentences elsewhere in it)."""

    def __init__(self, article: Article) -> None:
        import math

        self.rows: list[tuple[int, int]] = []  # (paragraph, sentence)
        self.bags: list[dict[str, int]] = []
        df: dict[str, int] = defaultdict(int)
        for pi, p in enumerate(article.paragraphs):
            for si, s in enumerate(p.sentences):
                bag: dict[str, int] = defaultdict(int)
                for t in terms(s):
                    bag[t] += 1
                for t in bag:
                    df[t] += 1
                self.rows.append((pi, si))
                self.bags.append(bag)
        n = max(1, len(self.rows))
        self.avg = sum(sum(b.values()) for b in self.bags) / n
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def top(self, question: str, k: int, skip_paragraph: int | None = None) -> list[tuple[int, int]]:
        q = set(terms(question))
        scored = []
        for row, bag in zip(self.rows, self.bags, strict=True):
            if row[0] == skip_paragraph:
                continue
            length = sum(bag.values())
            s = 0.0
            for t in q:
                tf = bag.get(t, 0)
                if tf:
                    s += self.idf[t] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / self.avg))
            if s > 0:
                scored.append((s, row))
        scored.sort(key=lambda x: -x[0])
        return [row for _, row in scored[:k]]


def training_pairs(articles: list[Article], questions: int, seed: int, neg_paragraph: int = 3,
                   neg_article: int = 2, neg_other: int = 1) -> Iterator[list[Pair]]:
    """One group of pairs per question (positive first), for up to ``questions`` questions drawn at random."""
    rng = random.Random(seed)
    picks = [(ai, pi, qi) for ai, a in enumerate(articles) for pi, p in enumerate(a.paragraphs)
             for qi in range(len(p.questions))]
    rng.shuffle(picks)
    indexes: dict[int, ArticleIndex] = {}
    made = 0
    for ai, pi, qi in picks:
        if made >= questions:
            return
        art = articles[ai]
        p = art.paragraphs[pi]
        question, start, end = p.questions[qi]
        gold = answer_sentence(p, start, end)
        if gold is None:
            continue
        group = [Pair(question, passage(art.title, p.sentences[gold]), 1.0)]
        others = [i for i in range(len(p.sentences)) if i != gold]
        for i in rng.sample(others, min(neg_paragraph, len(others))):
            group.append(Pair(question, passage(art.title, p.sentences[i]), 0.0))
        index = indexes.get(ai) or indexes.setdefault(ai, ArticleIndex(art))
        for opi, osi in index.top(question, neg_article, skip_paragraph=pi):
            group.append(Pair(question, passage(art.title, art.paragraphs[opi].sentences[osi]), 0.0))
        for _ in range(neg_other):
            other = articles[rng.randrange(len(articles))]
            if other is art:
                continue
            op = other.paragraphs[rng.randrange(len(other.paragraphs))]
            if op.sentences:
                group.append(Pair(question, passage(other.title, rng.choice(op.sentences)), 0.0))
        made += 1
        yield group


def validation_groups(articles: list[Article], questions: int, seed: int, depth: int = 30
                      ) -> dict[str, list[Group]]:
    """Three validation constructions over held-out articles, ``questions`` questions each:

    * ``paragraph``: the sentences of the question's own paragraph (SQuAD's setting);
    * ``article``: the article's ``depth`` best sentences by BM25 (what a retriever would hand over; the gold
      may be missing, which then counts as a miss);
    * ``unanswerable``: the same, with the answering paragraph removed (no candidate answers: a good scorer
      gives all of them a low score; used to calibrate the found gate).
    """
    rng = random.Random(seed)
    picks = [(ai, pi, qi) for ai, a in enumerate(articles) for pi, p in enumerate(a.paragraphs)
             for qi in range(len(p.questions))]
    rng.shuffle(picks)
    out: dict[str, list[Group]] = {"paragraph": [], "article": [], "unanswerable": []}
    indexes: dict[int, ArticleIndex] = {}
    for ai, pi, qi in picks:
        if len(out["paragraph"]) >= questions:
            break
        art = articles[ai]
        p = art.paragraphs[pi]
        question, start, end = p.questions[qi]
        gold = answer_sentence(p, start, end)
        if gold is None or len(p.sentences) < 2:
            continue
        out["paragraph"].append(Group(question, tuple(passage(art.title, s) for s in p.sentences),
                                      frozenset({gold})))
        index = indexes.get(ai) or indexes.setdefault(ai, ArticleIndex(art))
        rows = index.top(question, depth)
        out["article"].append(Group(
            question, tuple(passage(art.title, art.paragraphs[r[0]].sentences[r[1]]) for r in rows),
            frozenset(i for i, r in enumerate(rows) if r == (pi, gold))))
        rows = index.top(question, depth, skip_paragraph=pi)
        out["unanswerable"].append(Group(
            question, tuple(passage(art.title, art.paragraphs[r[0]].sentences[r[1]]) for r in rows), frozenset()))
    return out
