"""Does a cited passage support an answer sentence? Find the verbatim span that does, or say it does not.

A generated answer cites passages with ``[n]`` markers; before a citation may leave the server, the sentence must
be supported by a span of the cited passage. ``SupportChecker.check_many`` decides that for many (sentence,
passage) pairs at once:

1. candidate spans: windows of 1 to ``MAX_WINDOW_SENTENCES`` consecutive sentences of the passage
   (``indexer.sentences.split_sentences``, the chunker's own boundaries), each an exact substring with offsets;
2. hard rule: every anchor of the sentence (number, year, month, capitalised name) must occur in the span,
   whatever the wording ("1,000" = "1000", "5%" = "5 percent", "Jan." = "January", "Russian" ~ "Russia"), and a
   negated sentence needs a negation in the span; a sentence naming a number or a person its span does not
   mention is unsupported, however close in meaning;
3. score: ``SEMANTIC_WEIGHT * cosine(sentence, span) + (1 - SEMANTIC_WEIGHT) * content-word coverage`` (the
   share of the sentence's stemmed terms, ``indexer.sparse.terms``, found in the span);
4. the best span is the highest-scoring one that passes the hard rule (the best overall if none does), and the
   sentence is supported when it passes and its score reaches the threshold.

Cost: per pair only the ``MAX_SPANS_EMBEDDED`` most promising windows (hard rule first, then coverage) are
embedded, all pairs' sentences and windows in one ``encode`` call; a window whose edge sentence adds no term and
no anchor of the sentence is never a candidate, so a quote never runs into unrelated text that one sentence does
without.

``split_claims`` turns a generated answer into sentences and the marker numbers each one carries.

What it cannot see: who did what. A sentence that reuses the span's own names and words in other roles or with an
opposite verb ("the council cut the budget" against "the council doubled the budget") passes; that needs an
entailment model, which this project does not ship.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Protocol

import numpy as np
import Stemmer

from indexer.sentences import split_sentences
from indexer.sparse import STOPWORDS, terms

SUPPORT_THRESHOLD = 0.43
"""Minimum score of a span that passes the hard rule. Calibrated with ``bench/calibrate_support.py`` on 2,478
constructed pairs (claims from multihop-rag-70 evidence facts and rtqa-evidence-2023 questions + gold answers,
each with its true passage, the BM25- and embedding-nearest other passage, and a number/name-perturbed copy):
on the held-out half (277 positives, 771 negatives) precision .959, recall .585 at 0.43 (fit half .952/.580);
0.40 gives .943/.596, 0.50 .969/.556, 0.60 .978/.487. Recall is bounded by the hard rule: 43% of the quiz-derived
positive claims name a date, number or name their paragraph does not have. Not detected: a name swapped for
another name the passage does mention ("Francis was laid to rest" against the funeral of Benedict, which Francis
attended) is accepted as often as a true claim."""
SEMANTIC_WEIGHT = 0.4
"""Share of the embedding cosine in the score; the rest is content-word coverage. Chosen by the same run (best
fit-half recall at precision >= .95: 0.4 -> .580, 0.5 -> .576, 0.6 -> .543, 0.8 -> .486, cosine alone .420)."""
MAX_WINDOW_SENTENCES = 3
MAX_SPANS_EMBEDDED = 2
"""Candidate windows embedded per pair, the main cost. 1, 2 and 4 gave the same precision and recall in the
calibration (its passages are short paragraphs or hold the fact verbatim); 2 leaves the embedding a say in
choosing among the two best lexical candidates of a long passage, at about 1.5x the cost of 1."""


class Encoder(Protocol):
    """What the checker needs of a model: rows L2-normalised, float32 (``indexer.embedding.Embedder`` fits)."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Support:
    start: int
    """Offset of the span in the passage text."""
    end: int
    quote: str
    """Exactly ``passage[start:end]``."""
    score: float
    semantic: float
    """Cosine of the sentence and span embeddings."""
    lexical: float
    """Share of the sentence's content terms found in the span."""
    missing: tuple[str, ...]
    """Numbers, dates and names of the sentence that the span lacks (as written in the sentence)."""
    supported: bool


# --- claims -----------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Claim:
    text: str
    """The sentence with its markers removed, whitespace collapsed."""
    markers: list[int] = field(default_factory=list)
    """Numbers of the ``[n]`` markers inside or right after the sentence, in order, without repeats."""


_MARKER = re.compile(r"\s*[\[【]\s*\^?(\d+(?:\s*(?:[,;]|[-–]|and)\s*\^?\d+)*)\s*[\]】]")
_BULLET = re.compile(r"^\s*(?:#{1,6}\s+|[-*•+]\s+|\d{1,2}[.)]\s+)")
_EMPHASIS = re.compile(r"\*\*|__")
_MAX_RANGE = 20


def _marker_numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group):
        bounds = [int(x) for x in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= _MAX_RANGE:  # "[1-3]"
            out.extend(range(bounds[0], bounds[1] + 1))
        else:
            out.extend(bounds)
    return out


def _strip_markers(line: str) -> tuple[str, list[tuple[int, list[int]]]]:
    """The line without markers, and each marker group's position in that text."""
    out: list[str] = []
    marks: list[tuple[int, list[int]]] = []
    length, cursor = 0, 0
    for m in _MARKER.finditer(line):
        piece = line[cursor : m.start()]
        out.append(piece)
        length += len(piece)
        marks.append((length, _marker_numbers(m.group(1))))
        cursor = m.end()
        nxt = line[cursor : cursor + 1]
        # "Foo.[1]Bar" or "Foo. [1]Bar": keep the words apart once the marker is gone
        if (nxt.isalnum() or nxt in "\"“‘(") and length and not "".join(out)[-1:].isspace():
            out.append(" ")
            length += 1
    out.append(line[cursor:])
    return "".join(out), marks


def split_claims(answer: str) -> list[Claim]:
    """The sentences of a generated answer with the markers that cite them.

    A marker belongs to the sentence it is inside of or that it follows ("... Mali [1].", "... Mali. [1][2]",
    "... Mali [1, 2]"); markers before the first sentence of a line go to that sentence, a line of markers alone
    to the previous sentence. Lines are separate (bullets, numbered lists and headings lose their prefix).
    Sentences without markers are returned too, with an empty list.
    """
    claims: list[Claim] = []
    for raw_line in answer.splitlines():
        line = _EMPHASIS.sub("", _BULLET.sub("", raw_line, count=1))
        text, marks = _strip_markers(line)
        spans = split_sentences(text)
        if not spans:
            if claims:
                for _, numbers in marks:
                    claims[-1].markers.extend(numbers)
            continue
        line_claims = [Claim(" ".join(text[s.start : s.end].split())) for s in spans]
        for pos, numbers in marks:
            index = 0
            for i, s in enumerate(spans):
                if s.start <= pos:
                    index = i
            line_claims[index].markers.extend(numbers)
        claims.extend(line_claims)
    for c in claims:
        c.markers = list(dict.fromkeys(c.markers))
    return claims


# --- anchors: numbers, dates and names ---------------------------------------------------------------------------
_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(\s*(?:%|percent\b|per\s+cent\b))?"
    r"(?:\s*(thousand|million|billion|trillion|bn)\b)?",
    re.IGNORECASE,
)
_SCALE = {"thousand": 3, "million": 6, "billion": 9, "bn": 9, "trillion": 12}


def _wordlist(text: str) -> list[str]:
    return text.split()


_NUMBER_WORDS = {
    w: i for i, w in enumerate(_wordlist(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty"
    ))
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SENTENCE_NUMBER_WORDS = frozenset(_NUMBER_WORDS) - {"zero", "one"}
""""one" is mostly not a quantity ("one of the"), so a sentence's "one" is no anchor (a span's still counts)."""
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_WORD = re.compile(r"[^\W\d_][\w'’&.]*", re.UNICODE)
_CLAUSE_OPENERS = frozenset('"“‘\'(:—–-;[')
_QUESTION_WORDS = frozenset(_wordlist("what which who whom whose when where why how yes"))
_COMMON_OPENERS = frozenset(_wordlist(
    "according however meanwhile also although though officials authorities police experts researchers critics "
    "analysts residents people many several some both neither either overall instead still yet thus hence "
    "additionally furthermore moreover finally first second third last earlier later today yesterday may "
    "around about approximately nearly almost roughly amid following despite given unlike like while since "
    "new newly recent recently last next this these those one another every each all other such"
))
_ORDINARY_SUFFIXES = ("ly", "ing", "ists", "ments")
_DEMONYM_SUFFIXES = frozenset(["s", "es", "n", "an", "ans", "ian", "ians", "i", "is", "ese", "ish", "ns"])
_ALIASES = {
    "us": ("united states", "america", "us"),
    "america": ("united states", "us", "usa"),
    "usa": ("united states", "america", "us"),
    "united states": ("us", "usa", "america"),
    "uk": ("united kingdom", "britain", "uk"),
    "united kingdom": ("uk", "britain"),
    "britain": ("uk", "united kingdom"),
    "un": ("united nations",),
    "united nations": ("un",),
    "eu": ("european union",),
    "european union": ("eu",),
}


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def _key(word: str) -> str:
    """Comparison form of a word: lower case, no dots ("U.S." = "US"), no possessive."""
    w = word.replace("’", "'").lower().replace(".", "")
    return w.removesuffix("'s").strip("'&")


def _number_values(text: str, sentence_side: bool) -> list[tuple[str, set[str]]]:
    """(as written, accepted normal forms) for each number; percentages also give the bare value."""
    out: list[tuple[str, set[str]]] = []
    for m in _NUMBER.finditer(text):
        try:
            value = Decimal(m.group(1).replace(",", "") + (m.group(2) or ""))
        except InvalidOperation:  # pragma: no cover - the pattern only matches digits
            continue
        plain = format(value.normalize(), "f")
        forms = {plain + "%"} if m.group(3) else {plain}
        if m.group(4):
            forms.add(format((value * Decimal(10) ** _SCALE[m.group(4).lower()]).normalize(), "f"))
        if m.group(3) and not sentence_side:
            forms.add(plain)  # a span's "5%" supports a sentence's bare "5"
        out.append((m.group(0).strip(), forms))
    for m in _WORD.finditer(text):
        w = m.group(0).lower().rstrip(".")
        if w in _NUMBER_WORDS and (not sentence_side or w in _SENTENCE_NUMBER_WORDS):
            out.append((m.group(0), {str(_NUMBER_WORDS[w])}))
    return out


def _forms(words: Iterable[str]) -> frozenset[str]:
    """What a word of a span can be matched as: itself, its stem, its stem plus a demonym suffix (Russia ->
    Russian), and itself minus such a suffix (Ukrainian -> Ukrain, the stem of Ukraine)."""
    out: set[str] = set()
    for w in words:
        out.add(w)
        root = _stem(w)
        out.add(root)
        if len(root) >= 4:
            out.update(root + suffix for suffix in _DEMONYM_SUFFIXES)
        out.update(w[: -len(suffix)] for suffix in _DEMONYM_SUFFIXES if w.endswith(suffix) and len(w) - len(suffix) >= 4)
    return frozenset(out)


def _matches(word: str, forms: frozenset[str]) -> bool:
    """``word`` matches a span whose words have these ``_forms``: same word, same stem, or a demonym pair."""
    return word in forms or _stem(word) in forms


@dataclass(frozen=True, slots=True)
class _Bag:
    """What one passage sentence offers for matching, precomputed once per passage."""

    words: frozenset[str]
    word_forms: frozenset[str]
    numbers: frozenset[str]
    months: frozenset[int]
    terms: frozenset[str]
    term_forms: frozenset[str]
    negated: bool
    norm: str

    @classmethod
    def of(cls, text: str) -> _Bag:
        words: set[str] = set()
        months: set[int] = set()
        for m in _WORD.finditer(text):
            k = _key(m.group(0))
            if k:
                words.add(k)
                if m.group(0)[:1].isupper() and k in _MONTHS:
                    months.add(_MONTHS[k])
        numbers = {f for _, forms in _number_values(text, sentence_side=False) for f in forms}
        t = frozenset(terms(text))
        return cls(frozenset(words), _forms(words), frozenset(numbers), frozenset(months), t, _forms(t),
                   _is_negated(words), _lower_norm(text))


_NEGATIONS = frozenset(_wordlist("not no never neither nor without none nobody nothing cannot"))


def _is_negated(words: Iterable[str]) -> bool:
    return any(w in _NEGATIONS or w.endswith("n't") for w in words)


@dataclass(frozen=True, slots=True)
class _Anchors:
    numbers: tuple[tuple[str, frozenset[str]], ...]
    months: tuple[tuple[str, int], ...]
    names: tuple[tuple[str, ...], ...]
    """Groups of consecutive capitalised words, each word in ``_key`` form."""
    surfaces: dict[str, str]
    """``_key`` form -> as written, for reporting."""
    phrases_in_passage: frozenset[int]
    """Indexes of multi-word names that occur whole somewhere in the passage."""
    negated: str | None
    """The sentence's negation word ("not", "never", "didn't"), which the span must have some negation for."""


def _ordinary_opener(word: str, passage: _Passage) -> bool:
    """A capitalised first word that is most likely an ordinary word, not a name.

    It is one if the passage writes it in lower case, if it is a common opener ("According", "Officials"), or if
    it has the shape of an adverb or a gerund ("Approximately", "Following").
    A first word that the passage capitalises elsewhere, or that looks like a name and is absent from the
    passage, stays an anchor.
    """
    if word in passage.lower_words or word in _COMMON_OPENERS:
        return True
    if word in passage.words:
        return False
    return word.endswith(_ORDINARY_SUFFIXES) and len(word) > 5


def _anchors(sentence: str, passage: _Passage) -> _Anchors:
    numbers = tuple((s, frozenset(f)) for s, f in _number_values(sentence, sentence_side=True))
    months: list[tuple[str, int]] = []
    groups: list[list[str]] = []
    surfaces: dict[str, str] = {}
    joinable, prev_end = False, 0
    for m in _WORD.finditer(sentence):
        word = m.group(0).rstrip(".'’&")
        k = _key(word)
        before = sentence[: m.start()].rstrip()
        clause_start = not before or before[-1] in _CLAUSE_OPENERS
        is_name = False
        if k and word[:1].isupper():
            acronym = word.replace(".", "").isupper() and len(k) > 1
            if k in _MONTHS and not (k == "may" and clause_start):
                months.append((word, _MONTHS[k]))
            else:
                ordinary = (k in STOPWORDS and k != "us") or k in _QUESTION_WORDS or k in _NUMBER_WORDS
                is_name = not ordinary and not (clause_start and not acronym and _ordinary_opener(k, passage))
        if is_name:
            surfaces.setdefault(k, word)
            if joinable and sentence[prev_end : m.start()] == " ":
                groups[-1].append(k)
            else:
                groups.append([k])
        # a name continues over a single space only ("Kevin McCarthy", not "Mali, Russia")
        joinable, prev_end = is_name and m.group(0) == word, m.end()
    names = tuple(tuple(g) for g in groups)
    in_passage = frozenset(
        i for i, g in enumerate(names)
        if len(g) > 1 and re.search(r"\b" + re.escape(" ".join(g)) + r"\b", passage.norm)
    )
    negation = next((w for w in _WORD.findall(sentence) if _is_negated([_key(w)])), None)
    return _Anchors(numbers, tuple(months), names, surfaces, in_passage, negation)


def _lower_norm(text: str) -> str:
    return " ".join(_key(w) for w in _WORD.findall(text))


def _present(anchors: _Anchors, bag: _Bag) -> frozenset[tuple[int, ...]]:
    """Ids of the sentence's anchors that one passage sentence holds (a window holds the union)."""
    out: set[tuple[int, ...]] = set()
    for i, (_, forms) in enumerate(anchors.numbers):
        if forms & bag.numbers:
            out.add((0, i))
    for i, (_, month) in enumerate(anchors.months):
        if month in bag.months:
            out.add((1, i))
    for g, group in enumerate(anchors.names):
        for j, w in enumerate(group):
            if _matches(w, bag.word_forms):
                out.add((2, g, j))
        phrase = " ".join(group)
        if phrase in _ALIASES and any(re.search(rf"\b{a}\b", bag.norm) for a in _ALIASES[phrase]):
            out.add((3, g))
    if anchors.negated and bag.negated:
        out.add((4,))
    return frozenset(out)


def _missing(anchors: _Anchors, present: frozenset[tuple[int, ...]]) -> tuple[str, ...]:
    missing = [s for i, (s, _) in enumerate(anchors.numbers) if (0, i) not in present]
    missing += [s for i, (s, _) in enumerate(anchors.months) if (1, i) not in present]
    for g, group in enumerate(anchors.names):
        absent = [w for j, w in enumerate(group) if (2, g, j) not in present]
        if not absent or (3, g) in present:
            continue
        if len(absent) < len(group) and g in anchors.phrases_in_passage:
            continue  # "Kevin McCarthy" introduced in the passage, "McCarthy" in the span
        missing.extend(anchors.surfaces[w] for w in absent)
    if anchors.negated and (4,) not in present:
        missing.append(anchors.negated)
    return tuple(dict.fromkeys(missing))


# --- the checker ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Window:
    start: int
    end: int
    first: int
    last: int
    missing: tuple[str, ...]
    matched: frozenset[str]
    lexical: float
    text: str


@dataclass(slots=True)
class _Passage:
    text: str
    spans: list[tuple[int, int]]
    bags: list[_Bag]
    words: frozenset[str]
    lower_words: frozenset[str]
    """Words the passage writes in lower case (ordinary words, not names)."""
    norm: str

    @classmethod
    def of(cls, text: str) -> _Passage:
        spans = [(s.start, s.end) for s in split_sentences(text)]
        bags = [_Bag.of(text[a:b]) for a, b in spans]
        found = _WORD.findall(text)
        lower = frozenset(_key(w) for w in found if w.islower())
        return cls(text, spans, bags, frozenset(_key(w) for w in found), lower, _lower_norm(text))


def _windows(sentence: str, passage: _Passage) -> list[_Window]:
    """Every non-dominated window of 1..MAX_WINDOW_SENTENCES sentences, with its hard-rule and coverage."""
    anchors = _anchors(sentence, passage)
    s_terms = frozenset(terms(sentence))
    # matching is done once per passage sentence; a window holds the union of its sentences' matches
    matched_in = [frozenset(t for t in s_terms if _matches(t, bag.term_forms)) for bag in passage.bags]
    present_in = [_present(anchors, bag) for bag in passage.bags]
    out: dict[tuple[int, int], _Window] = {}
    n = len(passage.spans)
    for first in range(n):
        matched, present = matched_in[first], present_in[first]
        for last in range(first, min(n, first + MAX_WINDOW_SENTENCES)):
            if last > first:
                matched, present = matched | matched_in[last], present | present_in[last]
            start, end = passage.spans[first][0], passage.spans[last][1]
            out[(first, last)] = _Window(start, end, first, last, _missing(anchors, present), matched,
                                         len(matched) / len(s_terms) if s_terms else 0.0, passage.text[start:end])

    def dominated(w: _Window) -> bool:
        # an edge sentence that adds no term and no anchor of the sentence is unrelated text: drop it
        for sub in ((w.first + 1, w.last), (w.first, w.last - 1)):
            other = out.get(sub)
            if other is not None and other.matched == w.matched and other.missing == w.missing:
                return True
        return False

    return [w for w in out.values() if w.first == w.last or not dominated(w)]


def _shortlist(windows: list[_Window], k: int) -> list[_Window]:
    ranked = sorted(windows, key=lambda w: (len(w.missing), -w.lexical, w.last - w.first, w.start))
    return ranked[:k]


def _clean(text: str) -> str:
    return " ".join(_MARKER.sub(" ", text).split())


class SupportChecker:
    """Decides whether passages support sentences; the threshold is calibrated (``SUPPORT_THRESHOLD``)."""

    def __init__(
        self,
        encoder: Encoder,
        threshold: float = SUPPORT_THRESHOLD,
        semantic_weight: float = SEMANTIC_WEIGHT,
        max_spans: int = MAX_SPANS_EMBEDDED,
    ) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.semantic_weight = semantic_weight
        self.max_spans = max_spans

    def check(self, sentence: str, passage: str) -> Support:
        return self.check_many([(sentence, passage)])[0]

    def supported_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """Whether each (sentence, quote) pair is supported: what the question pipeline's verifier asks."""
        return [s.supported for s in self.check_many(pairs)]

    def check_many(self, pairs: Sequence[tuple[str, str]]) -> list[Support]:
        """One ``Support`` per (sentence, passage) pair, in order; one ``encode`` call for everything."""
        passages: dict[str, _Passage] = {}
        prepared: list[tuple[str, list[_Window]]] = []
        for sentence, passage in pairs:
            p = passages.get(passage)
            if p is None:
                p = passages[passage] = _Passage.of(passage)
            clean = _clean(sentence)
            windows = _shortlist(_windows(clean, p), self.max_spans) if clean else []
            prepared.append((clean, windows))
        index: dict[str, int] = {}
        for clean, windows in prepared:
            if windows:
                index.setdefault(clean, len(index))
                for w in windows:
                    index.setdefault(_clean(w.text), len(index))
        vectors = self.encoder.encode(list(index)) if index else np.zeros((0, 1), dtype=np.float32)
        return [self._decide(clean, windows, vectors, index) for clean, windows in prepared]

    def _decide(self, sentence: str, windows: list[_Window], vectors: np.ndarray, index: dict[str, int]) -> Support:
        if not windows:
            return Support(0, 0, "", 0.0, 0.0, 0.0, (), False)
        s_vec = vectors[index[sentence]]
        best: tuple[tuple[bool, float, int, int], _Window, float, float] | None = None
        for w in windows:
            semantic = float(vectors[index[_clean(w.text)]] @ s_vec)
            score = self.semantic_weight * semantic + (1 - self.semantic_weight) * w.lexical
            key = (not w.missing, score, -(w.last - w.first), -w.start)
            if best is None or key > best[0]:
                best = (key, w, score, semantic)
        assert best is not None
        _, w, score, semantic = best
        return Support(w.start, w.end, w.text, round(score, 4), round(semantic, 4), round(w.lexical, 4),
                       w.missing, not w.missing and score >= self.threshold)
