"""Follow-up questions made standalone without a language model.

In a conversation the last user turn often leans on the earlier ones: "and what about fertilizers?", "when did
he say that?", "who else was there?", "how big was the fine?". Retrieved alone it has no subject; prefixed with
the previous message (the chat endpoint's old heuristic) it gets a subject back only from one turn, only when
the turn is short or has a pronoun, and with that turn's question words. :func:`standalone_query` instead

1. decides whether the last turn is a follow-up (:func:`is_follow_up`): it opens with a connective ("and",
   "what about", ...), says "else"/"too"/"as well", or names nothing itself (no capitalised name). A news
   question that starts a topic nearly always names its subject ("Mali", "State Farm", "Mount Teravo");
   "the fine", "the company", "the deal" refer back. The cost: a new topic typed all in lower case is taken
   as a follow-up and gets the old subject appended (measured in ``eval/conversations.py``: it stays in the
   top 5 but loses rank 1);
2. if so, carries the conversation's subject into it: the named entities (runs of capitalised words such as
   "Sergei Lavrov" or "Port of Kestrel Bay") of the earlier user turns, then their key content words, most
   recent turn first, skipping what the last turn already says, up to :data:`MAX_ENTITIES` and
   :data:`MAX_CARRIED` terms;
3. returns the last turn (a leading "and"/"but"/"so" dropped) followed by the carried terms in parentheses,
   which is readable when shown to the user and keeps the entities capitalised, as the answer composer's
   entity check needs.

Pure functions: no model, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.sparse import STOPWORDS, terms

MAX_ENTITIES = 4
"""Named entities carried at most (most recent turn first)."""
MAX_CARRIED = 7
"""Terms carried at most, entities included."""

_OPENER = re.compile(
    r"^\s*(?:and|but|also|so|then|or|plus|what about|how about|what of|same (?:for|with|about)|"
    r"and (?:what|how) about|any news (?:on|about))\b",
    re.IGNORECASE,
)
_DROPPABLE = re.compile(r"^\s*(?:and|but|also|so|then|or|plus)\b[\s,]*", re.IGNORECASE)
_ADDITIVE = re.compile(r"\b(?:else|too|as well|either|another|again|the same)\b", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+(?:['’.&-][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.?!]\s*$")
_CONNECTORS = frozenset({"of", "de", "du", "la", "van", "von", "al", "bin", "le"})
"""Lower-case words allowed inside a name: 'Port of Kestrel Bay', 'Charles de Gaulle'."""
# words that shape a question but are not its subject
_FILLER = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did", "does", "do", "was", "were",
    "is", "are", "will", "would", "could", "should", "can", "may", "might", "has", "have", "had", "tell", "say",
    "said", "says", "know", "known", "happen", "happened", "happening", "many", "much", "about", "also", "any",
    "anything", "something", "thing", "things", "please", "yes", "okay", "ok", "get", "got", "make", "made",
    "think", "mean", "exactly", "else", "too", "other", "another", "again", "one", "ones", "way", "kind",
    "there", "here", "then", "now", "still", "just", "really", "like", "well", "news",
})
_QUESTION_START = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "did",
                             "does", "do", "is", "are", "was", "were", "will", "would", "could", "can", "has",
                             "have", "had", "and", "but", "so", "then", "or", "plus", "tell", "any", "give",
                             "name", "list", "show", "explain", "describe", "in", "on", "at", "after", "before",
                             "since", "according", "the", "a", "an", "please", "should", "may", "might"})


@dataclass(frozen=True, slots=True)
class Rewrite:
    query: str
    """What to retrieve with: the last turn, with the carried subject when it is a follow-up."""
    rewritten: bool
    carried: list[str] = field(default_factory=list)
    """Terms taken from the earlier turns, in the order they were added to the query."""
    by: str = "rule"
    """Who rewrote it: ``rule`` (this module), ``model`` (``service.answering.rewrite``), or ``rule:<why>`` when
    the model was asked and the rule stood in (``llm_timeout``, ``llm_unreachable``, ``llm_invalid``)."""


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start_of_sentence: bool
    after_space: bool
    """Only white space separates it from the previous token (a comma or a dash ends a name)."""

    @property
    def capitalised(self) -> bool:
        return self.text[:1].isupper()


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    sentence_start = True
    end = 0
    for m in _TOKEN.finditer(text):
        gap = text[end : m.start()]
        out.append(_Token(m.group().rstrip("."), sentence_start, bool(out) and gap.isspace()))
        sentence_start = bool(_SENTENCE_END.search(text[m.start() : m.end() + 2]))
        end = m.end()
    return out


def _strip_possessive(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def entities(text: str) -> list[str]:
    """Runs of capitalised words, in order: 'Sergei Lavrov', 'Port of Kestrel Bay', 'Mali'.

    A capitalised first word of a sentence starts a name only when it is not a question or function word
    ("When", "Did", "The") and, being ambiguous, only if it is not a common word used in lower case elsewhere.
    """
    toks = _tokens(text)
    lowered = {t.text.lower() for t in toks if not t.capitalised}
    found: list[str] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].lower() in _CONNECTORS:
            run.pop()
        if run:
            found.append(_strip_possessive(" ".join(run)))
        run.clear()

    for i, tok in enumerate(toks):
        word = tok.text
        low = word.lower()
        ambiguous = tok.start_of_sentence and (low in _QUESTION_START or low in STOPWORDS or low in lowered)
        is_name = tok.capitalised and not ambiguous and low not in _FILLER and low != "i"
        joins = bool(run) and low in _CONNECTORS and i + 1 < len(toks) and toks[i + 1].capitalised
        if run and not tok.after_space:
            close()
        if is_name or joins:
            run.append(word)
        else:
            close()
    close()
    return _unique(found)


def key_terms(text: str) -> list[str]:
    """Content words of a turn that are not part of a name, in order (question words and filler dropped)."""
    inside_names = {_strip_possessive(w).lower() for e in entities(text) for w in e.split()}
    out = []
    for tok in _tokens(text):
        word = _strip_possessive(tok.text)
        low = word.lower()
        if (low in STOPWORDS or low in _FILLER or low in inside_names or len(low) < 3
                or (low.isdigit() and len(low) < 4)):
            continue
        out.append(word if tok.capitalised and not tok.start_of_sentence else low)
    return _unique(out)


def is_follow_up(text: str) -> bool:
    """Whether a turn leans on the earlier ones for its subject (see the module docstring).

    A pronoun alongside a name of its own ("Did Lavrov say it in Bamako?") is not enough: the name is taken as
    the new subject.
    """
    return bool(_OPENER.match(text) or _ADDITIVE.search(text)) or not entities(text)


def standalone_query(turns: list[str]) -> Rewrite:
    """The last user turn as a standalone query, given all user turns of the conversation in order."""
    texts = [t.strip() for t in turns if t and t.strip()]
    if not texts:
        raise ValueError("no user turn with text")
    last, earlier = texts[-1], texts[:-1]
    if not earlier or not is_follow_up(last):
        return Rewrite(last, False, [])
    said = set(terms(last))
    carried: list[str] = []
    seen = set(said)

    def take(term: str) -> bool:
        stems = terms(term)
        if not stems or all(s in seen for s in stems):
            return False
        seen.update(stems)
        carried.append(term)
        return True

    n_entities = 0
    for turn in reversed(earlier):
        for name in entities(turn):
            if n_entities < MAX_ENTITIES and take(name):
                n_entities += 1
    for turn in reversed(earlier):
        for word in key_terms(turn):
            if len(carried) >= MAX_CARRIED:
                break
            take(word)
    if not carried:
        return Rewrite(last, False, [])
    core = _DROPPABLE.sub("", last) or last
    core = core[:1].upper() + core[1:]
    return Rewrite(f"{core} ({', '.join(carried)})", True, carried)


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out
