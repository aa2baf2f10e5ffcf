"""Calibrate ``service.answering.support.SUPPORT_THRESHOLD`` (and the semantic weight) on constructed pairs.

    .venv/bin/python bench/calibrate_support.py            # ~10 min on 2 busy cores, mostly embedding
    .venv/bin/python bench/calibrate_support.py --quick    # a third of the rtqa claims, for iterating

Pairs (claim sentence, passage) built from ../shared/data, never written anywhere:

- positives: ``multihop-rag-70`` evidence facts with the 256-token chunk of their article that holds them
  (verbatim, so easy); ``rtqa-evidence-2023`` questions turned into declarative claims with their gold answer
  ("Which bank encountered ...?" + "Wells Fargo" -> "Wells Fargo encountered ...") with their evidence paragraph,
  kept only where the paragraph contains the answer (paraphrases: the hard positives);
- negatives ``topic``: the same claim with the BM25-nearest and the embedding-nearest OTHER passage (another
  article's chunk / another paragraph) that does not contain the fact or answer;
- negatives ``perturbed``: the claim with a number changed or a name / the answer swapped for one the true
  passage does not mention, against the true passage;
- ``swap_in_passage`` (reported, not used for the choice): the answer replaced by another name that the true
  passage DOES mention ("Pope Francis was laid to rest" against the paragraph on Benedict's funeral): what a
  presence check cannot see.

Claims are split in two halves by a fixed seed (a claim's positive and negatives stay together). On the fit
half every (semantic weight, threshold) is swept and the pair with precision >= .95 and the best recall is
chosen; the held-out half reports precision and recall over the threshold sweep at that weight. Finally the
cost of one ``check_many`` for 6 sentences x 6 passages. Results: bench/results/calibrate_support.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.chunking import Chunker
from indexer.cleaning import clean_text
from indexer.embedding import Embedder
from indexer.settings import Settings
from indexer.sparse import terms
from service.answering import support as support_mod
from service.answering.support import SupportChecker

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RESULTS = REPO / "bench" / "results"
SEED = 11
WEIGHTS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
THRESHOLDS = [round(0.30 + 0.01 * i, 2) for i in range(66)]
TARGET_PRECISION = 0.95


@dataclass
class Pair:
    group: str
    """Claim id: a claim's positive and its negatives share it (and the split half)."""
    source: str
    kind: str
    """positive | topic | perturbed | swap_in_passage"""
    sentence: str
    passage: str

    @property
    def positive(self) -> bool:
        return self.kind == "positive"


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def contains(passage: str, answer: str) -> bool:
    """Normalised substring, or every term of the answer among the passage's terms."""
    if _norm(answer) and _norm(answer) in _norm(passage):
        return True
    a_terms = set(terms(answer))
    return bool(a_terms) and a_terms <= set(terms(passage))


class BM25:
    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.docs = [Counter(terms(t)) for t in texts]
        self.lens = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lens) / max(1, len(self.lens))
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b

    def ranked(self, query: str) -> list[int]:
        q = set(terms(query))
        scores = []
        for i, d in enumerate(self.docs):
            norm = self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg)
            scores.append(sum(self.idf[t] * d[t] * (self.k1 + 1) / (d[t] + norm) for t in q if t in d))
        return sorted(range(len(self.docs)), key=lambda i: -scores[i])


class CachingEncoder:
    """Embeds each distinct text once across the whole calibration (weights and shortlist sizes re-use it)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.embedder.encode(todo), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.embedder.dim), np.float32)


# --- claims from quiz questions ---------------------------------------------------------------------------------
_AUX = {"is", "was", "are", "were", "has", "have", "had", "will", "would", "can", "could", "may", "might"}
_DO = {"did", "does", "do"}
_INVERTED = {"he", "she", "it", "they", "we", "you", "the", "this", "that", "these", "those", "there", "its", "his",
             "her", "their"}
_IRREGULAR = set(str.split(
    "won lost made took became said hit left got gave went came saw told broke ran sold led set beat wrote found "
    "held kept paid met brought bought built spent sent shut struck stole fell flew grew drew threw sank sued "
    "began chose drove ate fought forgot froze hid knew rose shook sang spoke stood swore swam wore overtook "
    "unveiled plans wants says faces hopes seeks aims"
))


def _verb_like(word: str) -> bool:
    w = word.lower().strip(",.;:")
    return w in _AUX or w in _DO or w in _IRREGULAR or (w.endswith("ed") and len(w) >= 4 and "-" not in w)


def claim_from_question(question: str, answer: str) -> str | None:
    """A declarative claim: the wh-phrase of the question's last sentence replaced by the answer.

    None where the question does not template into a sentence a model would write ("Which drink did Starbucks
    reintroduce?", "What is it called?"): "<question>: <answer>." pairs measure the template, not the checker.
    """
    answer = answer.strip().strip("“”\"")
    sentences = re.split(r"(?<=[.!?])\s+", question.strip())
    q = next((s for s in reversed(sentences) if s.endswith("?")), sentences[-1]).rstrip("?").strip()
    words = q.split()
    lower = [w.lower() for w in words]
    for i, w in enumerate(lower):
        if w in {"which", "what"} or (w == "how" and i + 1 < len(lower) and lower[i + 1] in {"many", "much"}):
            j = i + (2 if w == "how" else 1)
            if w == "how":  # "how many books are" -> "200,000 books are"
                out = [*words[:i], answer, *words[j:]]
            else:
                k = j
                while k < len(words) and not _verb_like(words[k]):
                    k += 1
                if k < len(words) and (lower[k] in _DO or (lower[k] in _AUX and k + 1 < len(words)
                                                            and lower[k + 1] in _INVERTED)):
                    break  # "Which drink did Starbucks reintroduce", "Which color are they" do not template
                if k == j and k < len(words):  # "What is the book titled"
                    break
                out = [*words[:i], answer, *words[k:]]
            text = " ".join(out).strip()
            if len(text.split()) < len(answer.split()) + 4:  # "Which was it?" -> "X was it."
                break
            return text[0].upper() + text[1:] + "."
        if w == "who" and i == 0 and len(words) > 1 and lower[1] not in _DO:
            return " ".join([answer, *words[1:]]) + "."
    return None


# --- pairs ------------------------------------------------------------------------------------------------------
def _anchor_names(sentence: str, passage: str) -> list[str]:
    p = support_mod._Passage.of(passage)
    a = support_mod._anchors(sentence, p)
    return [a.surfaces[w] for g in a.names for w in g]


def _swap_number(sentence: str, passage: str, rng: random.Random) -> str | None:
    found = [m for m in re.finditer(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?", sentence)]
    rng.shuffle(found)
    for m in found:
        raw = m.group(0).replace(",", "")
        value = float(raw)
        for delta in (1, 2, 3, 5, 10):
            new = value + delta if value >= 1900 and value < 2100 else value * (1 + delta / 10) + delta
            new_s = str(int(new)) if float(new).is_integer() or "." not in raw else f"{new:.1f}"
            if new_s not in passage.replace(",", ""):
                return sentence[: m.start()] + new_s + sentence[m.end() :]
    return None


def _swap_name(sentence: str, passage: str, pool: list[str], rng: random.Random) -> str | None:
    names = _anchor_names(sentence, passage)
    if not names:
        return None
    target = rng.choice(names)
    for other in rng.sample(pool, min(len(pool), 40)):
        if other.lower() not in passage.lower() and other.lower() != target.lower():
            return re.sub(rf"\b{re.escape(target)}\b", other, sentence, count=1)
    return None


def multihop_pairs(chunker: Chunker, rng: random.Random) -> tuple[list[Pair], list[Topic], dict[str, str]]:
    """Pairs, the claims that need topic negatives, and every chunk with its article id."""
    root = SHARED / "multihop-rag-70"
    docs = {d["_id"]: d for d in _read(root / "corpus.jsonl")}
    chunks: dict[str, list[str]] = {i: [c.text for c in chunker.chunk(clean_text(d["text"]))] for i, d in docs.items()}
    facts: dict[str, str] = {}
    for q in _read(root / "queries.jsonl"):
        for fact, ev in zip(q["metadata"]["facts"], q["metadata"]["evidence"], strict=True):
            facts.setdefault(fact, ev["doc"])
    pairs: list[Pair] = []
    topic: list[Topic] = []
    name_pool = sorted({n for f, d in facts.items() for n in _anchor_names(f, "")})
    for i, (fact, doc) in enumerate(sorted(facts.items())):
        nf = " ".join(fact.split())
        holder = next((c for c in chunks[doc] if nf in " ".join(c.split())), None)
        if holder is None:
            continue
        gid = f"mh{i}"
        pairs.append(Pair(gid, "multihop", "positive", fact, holder))
        perturbed = _swap_number(fact, holder, rng) or _swap_name(fact, holder, name_pool, rng)
        if perturbed and perturbed != fact:
            pairs.append(Pair(gid, "multihop", "perturbed", perturbed, holder))
        topic.append(Topic(gid, fact, nf, doc))
    return pairs, topic, {c: d for d, cs in chunks.items() for c in cs}


def rtqa_pairs(rng: random.Random, limit: int | None) -> tuple[list[Pair], list[Topic], dict[str, str]]:
    root = SHARED / "rtqa-evidence-2023"
    corpus = {d["_id"]: d["text"] for d in _read(root / "corpus.jsonl")}
    qrels: dict[str, str] = {}
    for line in (root / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        q, d, _ = line.split("\t")
        qrels[q] = d
    queries = [q for q in _read(root / "queries.jsonl") if q["_id"] in qrels and q["metadata"].get("answers")]
    rng.shuffle(queries)
    if limit:
        queries = queries[:limit]
    answers = [q["metadata"]["answers"][0] for q in queries]
    numeric = [a for a in answers if re.search(r"\d", a)]
    named = [a for a in answers if a[:1].isupper() and not re.search(r"\d", a)]
    pairs: list[Pair] = []
    topic: list[Topic] = []
    for q in queries:
        passage = corpus.get(qrels[q["_id"]])
        answer = q["metadata"]["answers"][0].strip().strip("“”\"")
        if not passage or not answer or not contains(passage, answer):
            continue
        claim = claim_from_question(q["text"], answer)
        if claim is None:
            continue
        gid = q["_id"]
        pairs.append(Pair(gid, "rtqa", "positive", claim, passage))
        # perturbed: another question's answer of the same kind that this paragraph does not mention
        pool = numeric if re.search(r"\d", answer) else named
        for other in rng.sample(pool, min(len(pool), 30)):
            other = other.strip().strip("“”\"")
            if other and not contains(passage, other) and not contains(other, answer):
                pairs.append(Pair(gid, "rtqa", "perturbed", claim.replace(answer, other, 1), passage))
                break
        # swap_in_passage: a name the paragraph does mention, in place of the answer
        in_passage = [n for n in _capitalised_groups(passage) if not contains(answer, n) and not contains(n, answer)
                      and n.lower() not in claim.lower()]
        if in_passage and answer in claim:
            pairs.append(Pair(gid, "rtqa", "swap_in_passage", claim.replace(answer, rng.choice(in_passage), 1),
                              passage))
        topic.append(Topic(gid, claim, answer, qrels[q["_id"]]))
    return pairs, topic, {t: d for d, t in corpus.items()}


def _capitalised_groups(text: str) -> list[str]:
    """Multi-word or mid-sentence capitalised names in a paragraph ("Pope Francis", "Vatican City")."""
    out = []
    for m in re.finditer(r"(?<=[a-z,] )([A-Z][\w’'-]+(?: [A-Z][\w’'-]+)*)", text):
        name = m.group(1).removesuffix("’s").removesuffix("'s")
        if name.lower() not in {"the", "a", "an"} and len(name) > 2:
            out.append(name)
    return list(dict.fromkeys(out))


@dataclass
class Topic:
    group: str
    claim: str
    fact: str
    """What a negative passage must not contain (the answer, or the fact itself)."""
    doc: str
    """The true passage's article or paragraph id: never a negative."""


def topic_negatives(topics: list[Topic], source: str, pool: dict[str, str], encoder: CachingEncoder) -> list[Pair]:
    """Per claim the BM25-nearest and the embedding-nearest passage of another article lacking its fact."""
    texts = list(pool)
    bm25 = BM25(texts)
    mat = encoder.encode(texts)
    out: list[Pair] = []
    for tp in topics:
        def ok(text: str, tp: Topic = tp) -> bool:
            return pool[text] != tp.doc and not contains(text, tp.fact)

        by_bm25 = next((t for t in (texts[i] for i in bm25.ranked(tp.claim)[:50]) if ok(t)), None)
        dense = mat @ encoder.encode([tp.claim])[0]
        by_dense = next((texts[i] for i in np.argsort(-dense)[:50] if ok(texts[i])), None)
        for other in dict.fromkeys(x for x in (by_bm25, by_dense) if x is not None):
            out.append(Pair(tp.group, source, "topic", tp.claim, other))
    return out


# --- evaluation -------------------------------------------------------------------------------------------------
@dataclass
class Scored:
    pair: Pair
    score: float
    semantic: float
    lexical: float
    hard_ok: bool
    quote: str


def score_all(pairs: list[Pair], checker: SupportChecker) -> list[Scored]:
    out = []
    for i in range(0, len(pairs), 64):
        batch = pairs[i : i + 64]
        for p, s in zip(batch, checker.check_many([(p.sentence, p.passage) for p in batch]), strict=True):
            out.append(Scored(p, s.score, s.semantic, s.lexical, not s.missing, s.quote))
    return out


def pr(scored: list[Scored], t: float) -> tuple[float, float, int]:
    accepted = [s for s in scored if s.hard_ok and s.score >= t]
    tp = sum(s.pair.positive for s in accepted)
    pos = sum(s.pair.positive for s in scored)
    return (tp / len(accepted) if accepted else 1.0), tp / max(1, pos), len(accepted)


def choose(scored: list[Scored]) -> tuple[float, float, float]:
    """(threshold, precision, recall) with precision >= target and the best recall (lowest t on ties)."""
    best = (THRESHOLDS[-1], *pr(scored, THRESHOLDS[-1])[:2])
    for t in THRESHOLDS:
        p, r, _ = pr(scored, t)
        if p >= TARGET_PRECISION and r > best[2]:
            best = (t, p, r)
    return best


def accept_rates(scored: list[Scored], t: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in sorted({(s.pair.source, s.pair.kind) for s in scored}):
        group = [s for s in scored if (s.pair.source, s.pair.kind) == key]
        out[f"{key[0]}/{key[1]}"] = {
            "n": len(group),
            "accepted": round(sum(s.hard_ok and s.score >= t for s in group) / len(group), 3),
            "hard_rule_passed": round(sum(s.hard_ok for s in group) / len(group), 3),
        }
    return out


class TimingEncoder:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder, self.ms, self.texts, self.words = embedder, 0.0, 0, 0

    def encode(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.embedder.encode(texts)
        self.ms += (time.perf_counter() - t0) * 1000
        self.texts += len(texts)
        self.words += sum(len(t.split()) for t in texts)
        return out


def measure_cost(embedder: Embedder, pairs: list[Pair], repeats: int, max_spans: int) -> dict[str, float]:
    """One check_many for 6 sentences x 6 passages (256-token chunks): 6 cited pairs and the full 36."""
    mh = [p for p in pairs if p.source == "multihop" and p.kind == "positive"]
    passages = list(dict.fromkeys(p.passage for p in mh))[:6]
    # not the verbatim fact: a span equal to its sentence would be embedded once, which no model answer gets
    sentences = ["Reportedly, " + next(p.sentence for p in mh if p.passage == ps) for ps in passages]
    timing = TimingEncoder(embedder)
    checker = SupportChecker(timing, max_spans=max_spans)
    checker.check_many([(sentences[0], passages[0])])  # warm-up
    result: dict[str, float] = {"max_spans": max_spans}
    for label, batch in (("6_pairs", list(zip(sentences, passages, strict=True))),
                         ("36_pairs", [(s, p) for s in sentences for p in passages])):
        times, encode_ms = [], []
        for _ in range(repeats):
            timing.ms = timing.texts = timing.words = 0
            t0 = time.perf_counter()
            checker.check_many(batch)
            times.append((time.perf_counter() - t0) * 1000)
            encode_ms.append(timing.ms)
        result[f"{label}_ms_median"] = round(statistics.median(times), 1)
        result[f"{label}_encode_ms_median"] = round(statistics.median(encode_ms), 1)
        result[f"{label}_texts_embedded"] = timing.texts
        result[f"{label}_words_embedded"] = timing.words
    result["passage_sentences"] = sum(len(support_mod._Passage.of(p).spans) for p in passages)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="300 rtqa questions instead of all")
    ap.add_argument("--max-spans", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--cost-repeats", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(SEED)

    settings = Settings(_env_file=None, model_cache_dir=REPO / "data" / "models")  # type: ignore[call-arg]
    embedder = Embedder(settings)
    encoder = CachingEncoder(embedder)
    t0 = time.perf_counter()
    mh, mh_topic, mh_pool = multihop_pairs(Chunker(settings.chunk_tokens, settings.chunk_overlap), rng)
    rq, rq_topic, rq_pool = rtqa_pairs(rng, 300 if args.quick else None)
    pairs = mh + rq + topic_negatives(mh_topic, "multihop", mh_pool, encoder)
    pairs += topic_negatives(rq_topic, "rtqa", rq_pool, encoder)
    print(f"built {len(pairs)} pairs in {time.perf_counter() - t0:.0f}s: "
          + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(Counter((p.source, p.kind) for p in pairs).items())),
          flush=True)

    groups = sorted({p.group for p in pairs})
    random.Random(SEED).shuffle(groups)
    fit_groups = set(groups[: len(groups) // 2])
    report: dict = {"pairs": dict(Counter(f"{p.source}/{p.kind}" for p in pairs)), "runs": []}
    chosen_run = None
    for k in args.max_spans:
        t1 = time.perf_counter()
        by_weight = {}
        for w in WEIGHTS:
            checker = SupportChecker(encoder, threshold=0.0, semantic_weight=w, max_spans=k)
            by_weight[w] = score_all(pairs, checker)
        secs = time.perf_counter() - t1
        # the choice uses the brief's negatives only (topic and perturbed); swap_in_passage is reported
        def chosen_set(scored: list[Scored], fit: bool) -> list[Scored]:
            return [s for s in scored if (s.pair.group in fit_groups) == fit and s.pair.kind != "swap_in_passage"]

        options = []
        for w, scored in by_weight.items():
            t, p, r = choose(chosen_set(scored, fit=True))
            options.append((r, p, -t, w, t))
        r, p, _, w, t = max(options)
        held = chosen_set(by_weight[w], fit=False)
        hp, hr, hn = pr(held, t)
        run = {
            "max_spans": k, "semantic_weight": w, "threshold": t, "fit_precision": round(p, 3),
            "fit_recall": round(r, 3), "heldout_precision": round(hp, 3), "heldout_recall": round(hr, 3),
            "heldout_accepted": hn, "seconds": round(secs, 1),
            "fit_by_weight": {str(o[3]): {"threshold": o[4], "precision": round(o[1], 3), "recall": round(o[0], 3)}
                              for o in options},
            "heldout_sweep": [dict(zip(("threshold", "precision", "recall", "accepted"), (tt, *pr(held, tt)), strict=True))
                              for tt in THRESHOLDS],
            "heldout_rates": accept_rates([s for s in by_weight[w] if s.pair.group not in fit_groups], t),
        }
        report["runs"].append(run)
        print(f"\nmax_spans={k}: chosen weight {w} threshold {t}: fit P {p:.3f} R {r:.3f}; "
              f"held-out P {hp:.3f} R {hr:.3f} ({hn} accepted); {secs:.0f}s")
        print("  fit, per weight: " + "  ".join(f"w{o[3]}: t{o[4]:.2f} R{o[0]:.3f}" for o in options))
        if k == support_mod.MAX_SPANS_EMBEDDED or chosen_run is None:
            chosen_run = (run, by_weight[w])

    run, scored = chosen_run
    held = [s for s in scored if s.pair.group not in fit_groups and s.pair.kind != "swap_in_passage"]
    print(f"\nheld-out sweep (max_spans {run['max_spans']}, weight {run['semantic_weight']}; "
          f"{sum(s.pair.positive for s in held)} positives, {sum(not s.pair.positive for s in held)} negatives)")
    print("threshold  precision  recall  accepted")
    for row in run["heldout_sweep"]:
        if row["threshold"] * 100 % 5 == 0 or row["threshold"] == run["threshold"]:
            mark = "  <- chosen" if row["threshold"] == run["threshold"] else ""
            print(f"{row['threshold']:9.2f}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['accepted']:8d}{mark}")
    print("\nheld-out accept rate per category at the chosen threshold:")
    for key, v in run["heldout_rates"].items():
        print(f"  {key:28s} n={v['n']:4d}  accepted {v['accepted']:.3f}  hard rule passed {v['hard_rule_passed']:.3f}")
    t = run["threshold"]
    with_swaps = [s for s in scored if s.pair.group not in fit_groups]
    run["heldout_precision_with_swaps"] = round(pr(with_swaps, t)[0], 3)
    print(f"held-out precision if the swap_in_passage pairs count as negatives too: {pr(with_swaps, t)[0]:.3f}")
    fps = sorted((s for s in held if not s.pair.positive and s.hard_ok and s.score >= t), key=lambda s: -s.score)
    fns = sorted((s for s in held if s.pair.positive and not (s.hard_ok and s.score >= t)), key=lambda s: s.score)
    report["false_accepts"] = [{"kind": s.pair.kind, "score": s.score, "sentence": s.pair.sentence,
                                "quote": s.quote} for s in fps[:25]]
    report["false_rejects"] = [{"score": s.score, "hard_ok": s.hard_ok, "sentence": s.pair.sentence,
                                "quote": s.quote} for s in fns[:40]]
    swaps = [s for s in scored if s.pair.kind == "swap_in_passage" and s.hard_ok and s.score >= t][:10]
    report["swap_in_passage_accepted_examples"] = [{"sentence": s.pair.sentence, "quote": s.quote} for s in swaps]

    report["cost"] = []
    print(f"\ncost of one check_many, 6 sentences x 6 passages of <= 256 tokens (load avg {os.getloadavg()[0]:.1f}):")
    print("max_spans  pairs  total ms  encode ms  texts  words")
    for k in args.max_spans:
        cost = measure_cost(embedder, pairs, args.cost_repeats, k)
        report["cost"].append(cost)
        for label in ("6_pairs", "36_pairs"):
            print(f"{k:9d}  {label[:-6]:>5s}  {cost[label + '_ms_median']:8.0f}  {cost[label + '_encode_ms_median']:9.0f}"
                  f"  {cost[label + '_texts_embedded']:5d}  {cost[label + '_words_embedded']:5d}")
    report["load_avg_1m"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "calibrate_support.json"
    out.write_text(json.dumps(report, indent=1, default=lambda o: asdict(o)), encoding="utf-8")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
