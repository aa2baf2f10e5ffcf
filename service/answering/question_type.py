"""What a question asks for, and where a sentence holds a candidate of that kind: patterns only, no model.

The extractive composer ranks whole sentences; without this it often quotes an article's lead ("... is
erupting for the first time in nearly 40 years") instead of the sentence with the asked-for fact ("It last
erupted in 1984."). Pure functions, cached per question and per sentence, and fast (see
``bench/question_types.py`` for microseconds per call):

- ``classify(question)``: the ``AnswerType`` asked for, from the wh-phrase and its head noun ("when", "how
  many", "which company", "in which country", "who", "why", ...);
- ``find_candidates(sentence, kind)``: character spans of candidates of that kind in the sentence (dates and
  years, numbers and number words, money and percentages, capitalised names typed by light cues, quoted
  titles, coordinated lists, reason and manner clauses), each with a ``weight`` in (0, 1] saying how sure
  the pattern is;
- ``answer_span(question, sentence)``: the best candidate of the question's type that does not repeat the
  question (an answer rarely restates its question), preferring candidates near the question's terms and
  next to its counted noun ("how many *seasons*"); ``None`` if there is none;
- ``type_match(question, sentence)``: that candidate's score in [0, 1], a feature for the composer's sentence
  score (``TYPE_WEIGHT`` is the weight measured for it); ``NEUTRAL`` for types without a detector
  (other, yes/no), so such questions rank as before;
- ``first_with_answer(question, ranked)``: the first sentence of a ranking that holds a candidate, for a
  composer that adds it when its best sentence holds none.

spaCy's small English pipeline was measured as the alternative finder (``bench/question_types.py --spacy``)
and is not used: per question of 40 sentences it costs ~28x the CPU (211 vs 7.4 ms, same loaded run), and
even spaCy for names with these patterns for the rest ranks the gold sentence first in a net 10 more of
513 cases (14 vs 4; news-rtqa 7 vs 1, sign test p = 0.07) while marking fewer answer spans right (.757 vs .806)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

import Stemmer

from indexer.sentences import split_sentences
from indexer.sparse import STOPWORDS


class AnswerType(StrEnum):
    DATE = "date"
    """A date, year, month or day ("1984", "January 1, 2025", "May", "Monday")."""
    NUMBER = "number"
    """A count, age, duration or other quantity without a currency ("23", "nearly 40", "seven")."""
    AMOUNT = "amount"
    """Money or a percentage ("$3.5 billion", "12 percent", "€20")."""
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    NAME = "name"
    """The proper name of a thing that is not a person, organisation or place: a title ("Spare"), a product,
    a model, an event, a named programme ("What is the volcano called?")."""
    REASON = "reason"
    MANNER = "manner"
    YESNO = "yesno"
    LIST = "list"
    OTHER = "other"


ENTITY_TYPES = frozenset({AnswerType.PERSON, AnswerType.ORGANISATION, AnswerType.PLACE})
NEUTRAL = 0.5
"""``type_match`` for question types without a candidate detector (other, yes/no): no evidence either way."""
TYPE_WEIGHT = 0.5
"""Weight of ``type_match`` next to a [0, 1] question-term coverage score: ``bench/question_types.py`` sweeps
0.1-1.0 and ranking plateaus from 0.5 on. In the composer's units (LEXICAL_W = 0.35) that is about 0.18."""


@dataclass(frozen=True, slots=True)
class Span:
    """A candidate answer: ``sentence[start:end]``, of ``kind``, with the pattern's confidence ``weight``."""

    start: int
    end: int
    kind: AnswerType
    weight: float = 1.0
    tag: str = ""
    """A finer label where the pattern knows one (``age`` for "aged 75", "75-year-old")."""


Finder = Callable[[str, AnswerType], Sequence[Span]]
"""A candidate finder: ``find_candidates`` or a drop-in replacement (the bench plugs spaCy in)."""


# --- lexicons ---------------------------------------------------------------------------------------------------
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_MONTH_WORDS = _words(_MONTHS.replace("|", " "))
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_WEEKDAY_WORDS = _words(_WEEKDAYS.replace("|", " "))

_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORD = (
    rf"(?:(?:{'|'.join(_TENS)})(?:[-\s](?:{'|'.join(_UNITS[1:10])}))?|{'|'.join(_UNITS)}|a\s+dozen|dozen|"
    r"a\s+hundred|hundreds|thousands|millions|billions|dozens)"
)
_SCALE = r"(?:\s*(?:million|billion|trillion|thousand|hundred)\b|(?:m|bn|mn|k)\b)"
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MODIFIER = (
    r"(?:(?:nearly|almost|about|around|approximately|roughly|some|over|under|only|exactly|just|"
    r"more\s+than|less\s+than|fewer\s+than|at\s+least|at\s+most|up\s+to|as\s+many\s+as|as\s+much\s+as|"
    r"an\s+estimated|a\s+total\s+of|close\s+to|upward\s+of|upwards\s+of)\s+)"
)

# head nouns of "which X" / "what X" / "the name of the X", by the answer type they ask for
_HEAD_NOUNS: dict[AnswerType, frozenset[str]] = {
    AnswerType.DATE: _words("year month day date decade century weekday era"),
    AnswerType.NUMBER: _words(
        "number age count total tally population height length distance speed temperature weight size "
        "capacity duration magnitude score"
    ),
    AnswerType.AMOUNT: _words(
        "percentage percent proportion share fraction price cost fee fine salary amount sum budget value "
        "worth revenue profit ransom settlement wage income rate limit"
    ),
    AnswerType.PLACE: _words(
        "country nation state city town village region province county island continent capital location "
        "place area neighborhood neighbourhood district territory landmark venue stadium airport port river "
        "lake mountain sea ocean street destination coast peninsula municipality borough suburb resort "
        "park beach desert valley border hometown"
    ),
    AnswerType.ORGANISATION: _words(
        "company firm corporation business organization organisation group team club franchise league "
        "bank airline carrier chain retailer supermarket brand network broadcaster newspaper publication "
        "outlet magazine publisher agency party union university college school charity automaker carmaker "
        "manufacturer maker startup giant platform service app website studio label restaurant hotel operator "
        "regulator department ministry committee institution foundation church court band exchange insurer "
        "lender store shop engine entity entities broadcaster cruise conglomerate nonprofit sponsor "
        "government military army navy federation association channel museum gallery zoo"
    ),
    AnswerType.PERSON: _words(
        "person people man woman actor actress singer star rapper musician artist author writer director "
        "player athlete golfer driver president leader politician senator governor minister candidate "
        "contender ceo founder billionaire host comedian celebrity figure judge justice lawmaker republican "
        "democrat conservative "
        "king queen prince princess pope chef coach manager footballer quarterback journalist anchor "
        "presenter designer scientist astronaut superstar icon legend mogul entrepreneur investor executive "
        "spokesperson spokesman spokeswoman member wrestler boxer swimmer runner skier cyclist pitcher "
        "composer poet novelist filmmaker producer photographer influencer youtuber personality royal duke "
        "duchess emperor general commander soldier officer activist lawyer attorney doctor victim suspect "
        "winner champion dictator monarch heir speaker secretary chancellor mayor ambassador diplomat envoy "
        "nominee successor predecessor rival opponent wife husband son daughter father mother partner "
        "girlfriend boyfriend brother sister owner chairman chairwoman chair boss captain referee teammate "
        "congressman congresswoman representative whistleblower economist pilot creator inventor "
        "philanthropist tycoon heiress rep sen gov mp broadcaster"
    ),
    AnswerType.NAME: _words(
        "film movie show series sitcom song album book novel memoir play musical opera painting title "
        "product model app game character variant mission award prize hurricane storm volcano event "
        "festival exhibition drama documentary programme program podcast single track ship vessel "
        "phone device headset console rocket spacecraft satellite telescope bill law act "
        "amendment treaty operation campaign"
    ),
    AnswerType.OTHER: _words(
        "type kind sort sport species animal food dish drink beverage disease virus illness ingredient word "
        "term phrase slogan nickname substance drug crop fruit item material technology color colour creature "
        "pet bird fish insect plant tree flower vegetable symbol object thing activity profession job "
        "language religion breed hashtag trend vehicle"
    ),
}
_HEAD_LOOKUP: dict[str, AnswerType] = {}
for _kind in (AnswerType.DATE, AnswerType.NUMBER, AnswerType.AMOUNT, AnswerType.PLACE, AnswerType.PERSON,
              AnswerType.ORGANISATION, AnswerType.NAME, AnswerType.OTHER):
    for _w in _HEAD_NOUNS[_kind]:
        _HEAD_LOOKUP.setdefault(_w, _kind)

_PERSON_TITLES = _words(
    "mr mrs ms miss dr prof sir dame lord lady president vice prime minister sen senator rep gov governor "
    "king queen prince princess pope saint st justice judge chancellor secretary ceo chairman general gen "
    "lt col capt cmdr sgt maj coach speaker mayor leader rev reverend father sister brother archbishop "
    "bishop cardinal sheikh emir crown duke duchess former chief"
)
_ORG_WORDS = _words(
    "inc corp co ltd llc plc ag sa gmbh group bank airlines airways air motors technologies company "
    "corporation association university college institute foundation party council committee agency "
    "department ministry court times post news network league federation union club fc records studios "
    "entertainment pharmaceuticals pharma capital holdings partners bros brothers media labs systems "
    "international energy petroleum oil authority commission organization organisation service services "
    "society trust fund board office bureau police army navy force forces guard senate congress parliament "
    "assembly house church school hospital museum"
)
_PLACE_WORDS = _words(
    "city county state province island islands river lake mountain mount mt valley bay gulf sea ocean "
    "coast beach street avenue road square park district region peninsula strait canyon desert"
)
def _alternatives(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in text.split("|"))


_PLACES = _alternatives(
    "Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan|Bahamas|"
    "Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia|Botswana|Brazil|"
    "Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon|Canada|Chad|Chile|China|Colombia|Comoros|"
    "Congo|Costa Rica|Croatia|Cuba|Cyprus|Czech Republic|Czechia|Denmark|Djibouti|Dominica|"
    "Dominican Republic|Ecuador|Egypt|El Salvador|Eritrea|Estonia|Eswatini|Ethiopia|Fiji|Finland|France|"
    "Gabon|Gambia|Georgia|Germany|Ghana|Greece|Grenada|Guatemala|Guinea|Guyana|Haiti|Honduras|Hungary|"
    "Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Ivory Coast|Jamaica|Japan|Jordan|Kazakhstan|"
    "Kenya|Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|"
    "Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|Mauritania|Mauritius|Mexico|Moldova|"
    "Monaco|Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nauru|Nepal|Netherlands|New Zealand|"
    "Nicaragua|Niger|Nigeria|North Korea|North Macedonia|Norway|Oman|Pakistan|Palestine|Panama|"
    "Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|Romania|Russia|Rwanda|Samoa|"
    "San Marino|Saudi Arabia|Senegal|Serbia|Seychelles|Sierra Leone|Singapore|Slovakia|Slovenia|Somalia|"
    "South Africa|South Korea|South Sudan|Spain|Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|"
    "Tajikistan|Tanzania|Thailand|Togo|Tonga|Tunisia|Turkey|Turkmenistan|Tuvalu|Uganda|Ukraine|"
    "United Arab Emirates|UAE|United Kingdom|UK|U.K.|Britain|Great Britain|England|Scotland|Wales|"
    "Northern Ireland|United States|US|U.S.|USA|America|Uruguay|Uzbekistan|Vanuatu|Vatican|Vatican City|"
    "Venezuela|Vietnam|Yemen|Zambia|Zimbabwe|Gaza|West Bank|Crimea|Greenland|Hong Kong|Puerto Rico|"
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Hawaii|Idaho|"
    "Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|"
    "Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|"
    "North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|"
    "South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming|"
    "Africa|Asia|Europe|Antarctica|Arctic|Oceania|North America|South America|Latin America|"
    "Middle East|Caribbean|Balkans|Scandinavia|Siberia|Sahel|Midwest|Northeast|Southeast|Southwest|"
    "London|Paris|Berlin|Madrid|Rome|Moscow|Kyiv|Kiev|Beijing|Shanghai|Tokyo|Seoul|Delhi|New Delhi|"
    "Mumbai|Sydney|Melbourne|Toronto|Vancouver|Montreal|Chicago|Los Angeles|San Francisco|Boston|"
    "Miami|Houston|Dallas|Atlanta|Seattle|Philadelphia|Detroit|Denver|Phoenix|Las Vegas|New Orleans|"
    "Brussels|Amsterdam|Vienna|Prague|Warsaw|Budapest|Athens|Istanbul|Ankara|Cairo|Dubai|Riyadh|Tehran|"
    "Baghdad|Jerusalem|Tel Aviv|Bamako|Nairobi|Lagos|Johannesburg|Cape Town|Mexico City|Havana|"
    "Sao Paulo|Rio de Janeiro|Buenos Aires|Lima|Bogota|Manchester|Liverpool|Birmingham|Glasgow|"
    "Edinburgh|Dublin|Belfast|Cardiff|Oxford|Cambridge|Leeds|Bristol|Geneva|Zurich|Munich|Milan|"
    "Barcelona|Lisbon|Stockholm|Oslo|Copenhagen|Helsinki|Kabul|Karachi|Bangkok|Singapore|Manila|Jakarta|"
    "Hanoi|Taipei|Pyongyang|Minsk|Tbilisi|Baku|Yerevan|Bakhmut|Kherson|Kharkiv|Odesa|Mariupol|Hawaii|"
    "Manhattan|Brooklyn|Hollywood|Silicon Valley|Wall Street"
)
"""Countries, US states, regions and large or newsworthy cities: a capitalised span equal to one is a place."""
_DEMONYMS = _words(
    "american british chinese russian ukrainian french german italian spanish japanese korean indian israeli "
    "palestinian iranian iraqi syrian afghan pakistani mexican canadian australian brazilian african european "
    "asian arab arabic turkish greek polish dutch swedish norwegian danish finnish irish scottish welsh english "
    "saudi egyptian nigerian kenyan malian chilean argentine argentinian colombian venezuelan cuban haitian "
    "filipino vietnamese thai indonesian taiwanese belarusian georgian hungarian romanian serbian portuguese "
    "swiss austrian belgian czech lebanese jordanian yemeni libyan sudanese ethiopian somali moroccan "
    "algerian tunisian peruvian hispanic latino latina jewish muslim catholic hindu sikh buddhist western "
    "eastern northern southern central north south east west republican republicans democratic democrat "
    "democrats conservative conservatives labour liberal liberals tory tories gop new zealand kiwi"
)
"""Nationality and party words: "British", "West African", "Republicans" name no person, company or place."""
DESCRIPTIVE_NAME_WORDS = _DEMONYMS | frozenset(w.lower() for w in _MONTH_WORDS | _WEEKDAY_WORDS)
"""Capitalised words that describe rather than name (nationality and party words, months, weekdays)."""
_PLACE_PREPOSITIONS = _words("in at from to near across throughout outside inside into of toward towards via")
_REPORTING_VERBS = _words("said says told wrote added announced tweeted posted explained argued claimed")
_SENTENCE_STARTERS = _words(
    "the a an it he she they we i this that these those there here in on at for but and or so yet as after "
    "before when while if although though since because however meanwhile still also now then last next "
    "according officials police experts researchers scientists critics many some most several other another "
    "new former speaking asked his her their its our your my one two three no not yes what which who where "
    "why how"
)
_CONNECTORS = _words("of the de da del della di la le van von der den du bin al el y &")
_TRAILING_NOT_NAME = _words("I")
_ABBREV = _words("mr mrs ms dr prof st mt gen gov sen rep rev lt col capt jr sr inc corp co ltd no vs jan feb "
                 "mar apr jun jul aug sep sept oct nov dec ft u.s u.k u.n d.c")

_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[^\W_]+(?:[.'’&\-][^\W_]+)*\.?")
_TERM_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


# --- tokens ---------------------------------------------------------------------------------------------------------
class _Token(NamedTuple):
    start: int
    end: int
    text: str
    stem: str
    """Stemmed, lower-cased (as ``indexer.sparse.terms``); "" for stop words."""


def _stem(word: str) -> str:
    w = word.replace("’", "'").lower().rstrip(".").removesuffix("'s")
    if w in STOPWORDS or len(w) >= 40:
        return ""
    return _STEMMER.stemWord(w)


@lru_cache(maxsize=4096)
def _tokens(sentence: str) -> tuple[_Token, ...]:
    spans: list[tuple[int, int, str]] = []
    for m in _WORD.finditer(sentence):
        text = m.group(0)
        end = m.end()
        # keep a final dot only on abbreviations and initials ("Mr.", "Inc.", "D."): it ends the sentence
        if text.endswith(".") and not (text[:-1].lower() in _ABBREV or len(text) == 2 or "." in text[:-1]):
            text, end = text[:-1], end - 1
        spans.append((m.start(), end, text))
    lowered = [t.replace("’", "'").lower().rstrip(".").removesuffix("'s") for _, _, t in spans]
    keep = [w for w in lowered if w not in STOPWORDS and len(w) < 40]
    stems = iter(_STEMMER.stemWords(keep))
    return tuple(_Token(a, b, t, next(stems) if w not in STOPWORDS and len(w) < 40 else "")
                 for (a, b, t), w in zip(spans, lowered, strict=True))


@lru_cache(maxsize=8192)
def _term_set(text: str) -> frozenset[str]:
    words = [w.replace("’", "'").lower().removesuffix("'s") for w in _TERM_WORD.findall(text)]
    return frozenset(_STEMMER.stemWords([w for w in words if w not in STOPWORDS and len(w) < 40]))


def _has_term(term: str, bag: frozenset[str]) -> bool:
    """Exact stem, or a short derived form (Mali/Malian), as the composer's lexical score counts it."""
    if term in bag:
        return True
    return len(term) >= 4 and any(t.startswith(term) and len(t) - len(term) <= 3 for t in bag)


def _matches(stem: str, q: QuestionInfo) -> bool:
    """A sentence token is one of the question's terms, or a short derived form either way (Mali/Malian)."""
    if not stem:
        return False
    terms_, n = q.terms, len(stem)
    return (stem in terms_ or stem in q.term_prefixes or (n >= 5 and stem[:-1] in terms_)
            or (n >= 6 and stem[:-2] in terms_) or (n >= 7 and stem[:-3] in terms_))


# --- classification ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QuestionInfo:
    """What ``classify`` and the span functions know about a question (cached per question text)."""

    text: str
    kind: AnswerType
    terms: frozenset[str]
    """Stemmed content terms of the whole question (preamble included)."""
    focus: frozenset[str]
    """Stems of the counted or measured noun ("how many *seasons*"), or ``{"age"}`` for age questions."""
    numbers: frozenset[str]
    """Numbers written in the question (digits only, commas dropped): a candidate repeating one is no answer."""
    name_kind: AnswerType | None = None
    """For a LIST question, the kind of its items where the head noun says ("which two *countries*")."""
    term_prefixes: frozenset[str] = frozenset()
    """Prefixes of the terms 1-3 characters shorter (at least 4 long): "malian" in a question matches "mali"."""


_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " "})
_AUX = r"(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should|may|might|must)"
_LIST_RE = re.compile(r"\b(?:name|list)\s+(?:two|three|four|five|2|3|4|5)\s|"
                      r"\b(?:which|what)\s+(?:two|three|four|five|2|3|4|5)\s")
_YESNO_RE = re.compile(rf"^{_AUX}\b|\btrue\s+or\s+false\b|\bor\s+not\b")
_REASON_RE = re.compile(
    r"\bwhy\b|\bfor\s+what\s+reasons?\b|\bwhat\s+(?:caused|causes|is\s+causing|was\s+causing|prompted|led\s+to|"
    r"triggered|sparked|drove|is\s+driving|was\s+the\s+(?:reason|cause)|is\s+the\s+(?:reason|cause))\b|"
    r"\bwhat\s+(?:reason|cause)\b"
)
_MANNER_RE = re.compile(rf"\bhow\s+{_AUX}\b|\bin\s+what\s+(?:way|manner)\b|\bby\s+(?:doing\s+)?what\s+means\b|"
                        r"\bby\s+doing\s+what\b|\bhow\s+(?:exactly|precisely)\b")
_AGE_Q = re.compile(r"\b(?:at|by)\s+what\s+age\b|\bhow\s+old\b|\bwhat\s+(?:was|is)\s+(?:his|her|their)\s+age\b|"
                    r"\bwhat\s+age\b|\bhow\s+many\s+years\s+old\b")
_NUMBER_Q = re.compile(r"\bhow\s+(?:many|long|far|tall|high|big|large|deep|fast|heavy|often|old)\b|"
                       r"\bwhat\s+number\b")
_AMOUNT_Q = re.compile(r"\bhow\s+much\b|\b(?:what|which)\s+(?:percentage|percent|proportion|share|fraction)\b|"
                       r"\bby\s+how\s+much\b|\bhow\s+much\s+money\b")
_DATE_Q = re.compile(rf"\bwhen\s*\?\s*$|\bwhen\s+{_AUX}\b|\b(?:what|which)\s+(?:year|month|day|date|decade|century|weekday|season)\b|"
                     r"\bhow\s+long\s+ago\b|\bsince\s+when\b|\bby\s+when\b|\buntil\s+when\b")
_WH = re.compile(r"\b(which|what)\b")
_WHO = re.compile(r"\b(who|whom)\b")
_WHERE = re.compile(r"\bwhere\b")
_NAMED_Q = re.compile(r"\b(?:called|named|titled|dubbed|known\s+as|stand\s+for|stands\s+for)\s*\??\s*$|"
                      r"\bwhat\s+(?:is|was|are|were)\s+(?:the\s+)?(?:name|title)\b|\bname\s+of\s+(?:the\s+)?"
                      r"(?:new\s+)?\w+")
_NAME_OF = re.compile(r"\b(?:name|title)\s+of\s+(?:the|this|that|a|an|its|his|her|their)?\s*((?:[\w'-]+\s+){0,3}[\w'-]+)")
_HOW_MANY_FOCUS = re.compile(r"\bhow\s+(?:many|much)\s+((?:[a-z'-]+\s+){0,2}[a-z'-]+)")
_PERCENT_OF = re.compile(r"\b(?:percentage|percent|proportion|share)\s+of\s+([a-z'-]+)")
_SKIP_AFTER_WH = _words(
    "of the a an these those this following other major new popular famous "
    "iconic recently latest top biggest largest most approximately roughly average estimated exact current"
)
_PHRASE_STOP = _words(
    "in on at up to for by with from into over about after before during than that who which is are was were "
    "did does do has have had can could will would should may might must been be this last next recently "
    "now still also just"
)


def _question_clause(text: str) -> str:
    """The part that asks: the last sentence with a question mark (quiz questions open with a preamble)."""
    parts = [text[sp.start : sp.end] for sp in split_sentences(text)]
    asking = [p for p in parts if "?" in p]
    if asking:
        return asking[-1]
    return parts[-1] if parts else text


def _noun_kind(noun: str) -> AnswerType | None:
    for cand in (noun, noun[:-1] if noun.endswith("s") else "", noun[:-2] if noun.endswith("es") else "",
                 noun[:-3] + "y" if noun.endswith("ies") else ""):
        if cand and cand in _HEAD_LOOKUP:
            return _HEAD_LOOKUP[cand]
    return None


def _looks_verb(word: str) -> bool:
    return (word.endswith("ed") and len(word) > 4) or (word.endswith("ing") and len(word) > 5)


def _head_kind(words: list[str], copula: bool = False) -> tuple[AnswerType | None, str | None]:
    """The type named by the head noun of a wh-phrase ("which home goods *chain*" -> organisation).

    The phrase runs to the first verb, auxiliary or preposition; its last noun with a known type wins
    ("which college *sport*" -> other), except a possessive ("which *country's* rail network" -> place).
    With ``copula`` a leading "is/was" is skipped ("what is the average *age* of ...").
    """
    found: tuple[AnswerType | None, str | None] = (None, None)
    seen = False
    for i, w in enumerate(words[:7]):
        base = w.strip("\"?,.:;()“”")
        if not base:
            continue
        if i == 0 and copula and base in ("is", "was", "are", "were"):
            continue
        possessive = base.endswith(("'s", "’s"))
        noun = base.removesuffix("'s").removesuffix("’s").strip("'’")
        if noun in _PHRASE_STOP or ((seen or copula) and _looks_verb(noun)):
            break
        # after the head noun, a verb ("which organization *runs* the program") or a determiner ends it
        if found[0] is not None and (noun in ("the", "a", "an", "its", "his", "her", "their")
                                     or (noun.endswith("s") and _noun_kind(noun) is None and not possessive)):
            break
        if noun in _SKIP_AFTER_WH:
            continue
        seen = True
        kind = _noun_kind(noun)
        if kind is not None:
            found = (kind, noun)
            if possessive or noun in _KIND_OF:
                break
        if w.endswith((",", "?", ":", ";")):
            break
    return found


_KIND_OF = _words("type kind sort types kinds sorts")
""""which type of X" asks for a kind of thing, whatever X is."""
_INITIAL_WH = re.compile(r"^[\W_]*(?:and\s+|but\s+|so\s+|then\s+)?(who|whom|whose|when|where|why)\b")
_INITIAL_KIND = {"who": AnswerType.PERSON, "whom": AnswerType.PERSON, "whose": AnswerType.PERSON,
                 "when": AnswerType.DATE, "where": AnswerType.PLACE, "why": AnswerType.REASON}
_WHERE_Q = re.compile(rf"\bwhere\s+{_AUX}\b|\bwhere\s*\?\s*$|\bfrom\s+where\b")
_HOW_MUCH_COUNT = re.compile(r"\bhow\s+much\s+time\b|\b(?:tally|total|count|number|wins|titles|times|"
                             r"medals|goals|points)\b")


def _classify_clause(q: str) -> tuple[AnswerType, AnswerType | None, str | None]:
    """The answer type, for lists the item kind, and the wh-phrase's head noun; ``q``: the lower-cased clause."""
    if _YESNO_RE.search(q) and not _WH.search(q) and not _WHO.search(q) and not re.search(
        r"\bhow\b|\bwhen\b|\bwhere\b|\bwhy\b", q
    ):
        return AnswerType.YESNO, None, None
    if m := _LIST_RE.search(q):
        item, head = _head_kind(q[m.end():].split())
        return AnswerType.LIST, item, head
    if m := _INITIAL_WH.match(q):
        return _INITIAL_KIND[m.group(1)], None, None
    if _AGE_Q.search(q):
        return AnswerType.NUMBER, None, "age"
    if _AMOUNT_Q.search(q):
        if re.search(r"\bhow\s+much\b", q) and _HOW_MUCH_COUNT.search(q) and not re.search(
            r"\b(?:percentage|percent|proportion|share|fraction)\b", q
        ):
            return AnswerType.NUMBER, None, None
        return AnswerType.AMOUNT, None, None
    if re.search(r"\bhow\s+long\s+ago\b", q):
        return AnswerType.DATE, None, None
    if _NUMBER_Q.search(q):
        return AnswerType.NUMBER, None, None
    if _DATE_Q.search(q):
        return AnswerType.DATE, None, None
    if _REASON_RE.search(q):
        return AnswerType.REASON, None, None
    if _MANNER_RE.search(q):
        return AnswerType.MANNER, None, None
    if m := _NAME_OF.search(q):
        kind, head = _head_kind(m.group(1).split())
        return (kind if kind is not None else AnswerType.NAME), None, head
    # "which X" / "what X": the head noun says; the first phrase that names a type is the asking one
    # (", which has ..." names none: a relative clause)
    for m in _WH.finditer(q):
        kind, head = _head_kind(q[m.end():].split(), copula=m.group(1) == "what")
        if kind is not None:
            return kind, None, head
    if _WHERE_Q.search(q):
        return AnswerType.PLACE, None, None
    for m in _WHO.finditer(q):
        before = q[: m.start()].rstrip()
        # relative "who" follows a noun or a comma ("Williams, who played ..."); the asking one opens the
        # clause or follows a verb or preposition ("... did who", "to whom")
        if not before or before.endswith(("?", ":")) or re.search(
            r"\b(?:to|for|with|by|from|of|about|and|or|is|was|are|were|did|does|will|said|named|picked|chose)$",
            before,
        ):
            return AnswerType.PERSON, None, None
    if _NAMED_Q.search(q):
        return AnswerType.NAME, None, None
    return AnswerType.OTHER, None, None


def _numbers_in(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text))


@lru_cache(maxsize=1024)
def analyse(question: str) -> QuestionInfo:
    """The question's type, terms, focus noun and numbers (cached: the composer asks once per sentence)."""
    text = question.translate(_QUOTES)
    clause = _question_clause(text).lower()
    kind, item_kind, head = _classify_clause(clause)
    focus: set[str] = set()
    if kind is AnswerType.NUMBER and head == "age":
        focus.add("age")
    elif kind in (AnswerType.NUMBER, AnswerType.AMOUNT):
        for pattern in (_HOW_MANY_FOCUS, _PERCENT_OF):
            if m := pattern.search(clause):
                words = [w for w in m.group(1).split() if w not in STOPWORDS and not re.fullmatch(_AUX, w)]
                if words:
                    focus.add(_stem(words[0]))
        if head is not None:
            focus.add(_stem(head))
    focus.discard("")
    q_terms = _term_set(text)
    prefixes = frozenset(t[:k] for t in q_terms for k in range(max(4, len(t) - 3), len(t)))
    return QuestionInfo(question, kind, q_terms, frozenset(focus), _numbers_in(text), item_kind, prefixes)


def classify(question: str) -> AnswerType:
    """What ``question`` asks for (see ``AnswerType``); ``OTHER`` where no pattern says."""
    return analyse(question).kind


# --- candidate finders ------------------------------------------------------------------------------------------
_YEAR = r"(?:1[5-9]\d\d|20\d\d)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_DATE_PATTERNS: list[tuple[re.Pattern[str], float, str]] = [
    (re.compile(rf"\b(?:{_MONTHS})\.?\s+{_DAY}(?:\s*(?:-|–|and|to)\s*{_DAY})?(?:,?\s+{_YEAR})?\b"), 1.0, "month digit"),
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?(?:{_MONTHS})\.?(?:,?\s+{_YEAR})?\b"), 1.0, "month digit"),
    (re.compile(rf"\b(?:{_MONTHS})\.?,?\s+{_YEAR}\b"), 1.0, "month digit"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"), 1.0, "digit"),
    (re.compile(rf"\b(?:(?:early|mid|late)[-\s])?(?:spring|summer|fall|autumn|winter)\s+(?:of\s+)?{_YEAR}\b",
                re.I), 1.0, "digit"),
    (re.compile(r"\b(?:the\s+)?(?:early\s+|mid-?|late\s+)?(?:1[5-9]\d|20\d)0s\b|\b(?:the\s+)?'\d0s\b"), 0.8, "digit"),
    (re.compile(r"\b(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\s+century\b", re.I), 0.8, "digit"),
    (re.compile(rf"(?<![$€£¥\d.,])\b{_YEAR}\b(?![,.]?\d|\s*(?:%|percent|per\s+cent))"), 0.75, "digit"),
    (re.compile(rf"\b(?:(?:early|mid|late)[-\s])?(?:{_MONTHS})\b(?!\s*\d)"), 0.8, "month"),
    (re.compile(rf"\b(?:{_WEEKDAYS})s?\b"), 0.5, "weekday"),
    (re.compile(rf"\b(?:\d+|a|an|{_NUMBER_WORD})\s+(?:years?|decades?|centuries|months?|weeks?)\s+ago\b", re.I),
     0.6, "ago"),
]
_YEAR_CONTEXT = re.compile(r"\b(?:in|since|by|until|till|from|to|of|before|after|during|through|circa|c\.)\s*$",
                           re.I)
_MONTH_AMBIGUOUS = _words("May March")
_MONTH_CONTEXT = re.compile(r"\b(?:in|on|by|since|until|till|through|of|from|to|early|late|mid|last|next|this|"
                            r"each|every|during|before|after)\s*$", re.I)

_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(
    f"{t}-{u}" for t in _TENS for u in _UNITS[1:10]) | _words("dozen dozens hundreds thousands millions billions")
_SCALE_WORDS = _words("million billion trillion thousand hundred")
_DIGIT_CORE = re.compile(rf"(?<![\w.,-])(?:{_DIGITS})(?:(?:m|bn|mn|k)\b)?(?!\w|[.,]\d)")
_SCALE_AFTER = re.compile(r"\s+(?:million|billion|trillion|thousand|hundred)\b", re.I)
_MODIFIER_BEFORE = re.compile(rf"{_MODIFIER}$", re.I)
_CURRENCY_BEFORE = re.compile(r"(?:(?:US|A|C|NZ|HK|S)?[$€£¥₹]|Rs\.?|USD|EUR|GBP)\s?$")
_PERCENT_AFTER = re.compile(r"\s?(?:%|percent\b|per\s+cent\b|percentage\s+points?\b|pc\b)", re.I)
_MONEY_AFTER = re.compile(r"\s+(?:dollars|euros|yen|yuan|rupees|pesos|francs|cents|roubles|rubles|"
                          r"pounds\s+sterling)\b", re.I)
_POUNDS_AFTER = re.compile(r"\s+pounds\b(?!\s+of\b)", re.I)
_FRACTION = re.compile(r"\b(?:half|a\s+third|a\s+quarter|two[-\s]thirds|three[-\s]quarters)\b", re.I)
_LABEL_BEFORE = re.compile(r"(?:No\.|number|#)\s*$", re.I)
_AGE_PATTERNS = [
    re.compile(r"\b(?:aged?|at\s+the\s+age\s+of|age\s+of)\s+(\d{1,3})\b", re.I),
    re.compile(r"\b(\d{1,3})[-\s]years?[-\s]old\b", re.I),
    re.compile(r"(?<=[A-Za-z]),\s+(\d{1,3}),(?=\s)"),
    re.compile(r"\b(?:was|is|were|turned|turns|died\s+at)\s+(\d{1,3})(?=\s*[.,;]|\s*$|\s+(?:when|years?\b))", re.I),
]
_QUOTED = re.compile(r"[“\"]([^“”\"]{2,80})[”\"]|‘([^‘’]{2,60})’")
_REASON_PATTERNS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"\b(?:because(?:\s+of)?|due\s+to|owing\s+to|as\s+a\s+result\s+of|caused\s+by|blamed\s+(?:on|for)|"
                r"in\s+response\s+to|citing|in\s+protest\s+(?:of|at|against)|to\s+protest|in\s+an\s+effort\s+to|"
                r"in\s+order\s+to|so\s+that|to\s+(?:avoid|prevent|stop|protect|reduce|help)|over\s+concerns?|"
                r"amid\s+concerns?|for\s+fear|on\s+suspicion\s+of|accused\s+of|for\s+(?:allegedly\s+)?\w+ing)\b",
                re.I), 1.0),
    (re.compile(r"\b(?:after|following|amid|over|since|thanks\s+to|for(?!\s+the\s+first\s+time))\b", re.I), 0.5),
]
_MANNER_PATTERNS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"\bby\s+(?:\w+ly\s+)?\w+ing\b", re.I), 1.0),
    (re.compile(r"\b(?:using|through|via|with\s+the\s+help\s+of|by\s+means\s+of)\b", re.I), 0.7),
    (re.compile(r"\b(?:by|with)\b", re.I), 0.3),
]
_CLAUSE_END = re.compile(r"[,;:.!?)\]—–]|\s-\s|\s+(?:and|but|while|which|who|said|says)\s")


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping matches: the longer (then surer) one wins; result in sentence order."""
    spans.sort(key=lambda s: (-(s.end - s.start), -s.weight))
    kept: list[Span] = []
    for s in spans:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


def _find_dates(sentence: str) -> list[Span]:
    toks = _tokens(sentence)
    has_digit = any(ch.isdigit() for ch in sentence)
    words = {t.text.rstrip(".") for t in toks}
    has_month = not words.isdisjoint(_MONTH_WORDS)
    spans: list[Span] = []
    for pattern, weight, needs in _DATE_PATTERNS:
        if ("month" in needs and not has_month) or ("digit" in needs and not has_digit) or (
            "weekday" in needs and words.isdisjoint(_WEEKDAY_WORDS)) or ("ago" in needs and "ago" not in words):
            continue
        for m in pattern.finditer(sentence):
            w = weight
            text = m.group(0)
            if re.fullmatch(_YEAR, text):
                if _YEAR_CONTEXT.search(sentence, max(0, m.start() - 12), m.start()):
                    w = 1.0
                elif _COUNT_AFTER.match(sentence, m.end()):
                    continue  # "1500 people": a count
            elif needs == "month":  # a month on its own: "in May" is sure, "May" the verb or "March" the noun not
                if _MONTH_CONTEXT.search(sentence, max(0, m.start() - 12), m.start()):
                    w = 1.0
                elif text.strip(".") in _MONTH_AMBIGUOUS:
                    w = 0.3
            spans.append(Span(m.start(), m.end(), AnswerType.DATE, w))
    return _merge(spans)


_COUNT_AFTER = re.compile(r"\s+(?:people|years|votes|times|cases|jobs|members|homes|units|km|miles|feet|meters|"
                          r"metres|tons|tonnes|kg)\b", re.I)


@lru_cache(maxsize=4096)
def _quantities(sentence: str) -> tuple[Span, ...]:
    """Every number in the sentence once, typed: money and percentages (AMOUNT), the rest (NUMBER).

    One scan for digits (with "m"/"bn" suffixes and "million" after) and number words, then the neighbours
    decide: a currency sign before or a currency word after is money, "%"/"percent" after is a percentage;
    "nearly", "more than", ... before are kept in the span.
    """
    cores: list[tuple[int, int, str]] = []
    if any(ch.isdigit() for ch in sentence):
        cores += [(m.start(), m.end(), "digits") for m in _DIGIT_CORE.finditer(sentence)]
    toks = _tokens(sentence)
    k = 0
    while k < len(toks):
        low = toks[k].text.lower()
        if low in _NUMBER_WORDS:
            j = k
            # "twenty five", "two hundred", "three million"
            while j + 1 < len(toks) and (toks[j + 1].text.lower() in _SCALE_WORDS or (
                    toks[j].text.lower() in _TENS and toks[j + 1].text.lower() in _UNITS[1:10])) and \
                    sentence[toks[j].end : toks[j + 1].start].isspace():
                j += 1
            start = toks[k].start
            if low == "dozen" and sentence[max(0, start - 2) : start] == "a ":
                start -= 2
            cores.append((start, toks[j].end, low))
            k = j + 1
        else:
            k += 1
    out: list[Span] = []
    for start, end, word in cores:
        if m := _SCALE_AFTER.match(sentence, end):
            end = m.end()
        kind, tag, weight = AnswerType.NUMBER, "", 1.0
        if c := _CURRENCY_BEFORE.search(sentence, max(0, start - 5), start):
            kind, tag, start = AnswerType.AMOUNT, "money", c.start()
        elif m := _PERCENT_AFTER.match(sentence, end):
            kind, tag, end = AnswerType.AMOUNT, "percent", m.end()
        elif m := _MONEY_AFTER.match(sentence, end):
            kind, tag, end = AnswerType.AMOUNT, "money", m.end()
        elif word == "digits" and (m := _POUNDS_AFTER.match(sentence, end)):
            kind, tag, end, weight = AnswerType.AMOUNT, "money", m.end(), 0.6
        elif word in ("one", "zero", "dozen"):
            weight = 0.3  # "one of the", pronoun use
        elif word in ("hundreds", "thousands", "millions", "billions", "dozens"):
            weight = 0.5
        elif _LABEL_BEFORE.search(sentence, max(0, start - 8), start):
            weight = 0.4  # a label ("No. 8"), not a count
        if m := _MODIFIER_BEFORE.search(sentence, max(0, start - 24), start):
            start = m.start()
        out.append(Span(start, end, kind, weight, tag))
    if "half" in sentence or "third" in sentence or "quarter" in sentence:
        out += [Span(m.start(), m.end(), AnswerType.AMOUNT, 0.5, "percent") for m in _FRACTION.finditer(sentence)]
    return tuple(out)


def _find_amounts(sentence: str) -> list[Span]:
    return _merge([s for s in _quantities(sentence) if s.kind is AnswerType.AMOUNT])


def _find_numbers(sentence: str) -> list[Span]:
    quantities = _quantities(sentence)
    if not quantities:
        return []
    taken = [s for s in _find_dates(sentence) if s.weight >= 0.7]
    spans: list[Span] = []
    if any(ch.isdigit() for ch in sentence):
        for pattern in _AGE_PATTERNS:
            for m in pattern.finditer(sentence):
                if 0 < int(m.group(1)) <= 125:
                    spans.append(Span(m.start(1), m.end(1), AnswerType.NUMBER, 1.0, "age"))
    for q in quantities:
        if q.kind is AnswerType.NUMBER and not any(t.start < q.end and q.start < t.end for t in taken):
            spans.append(q)
    return _merge(spans)


@dataclass(frozen=True, slots=True)
class _Name:
    start: int
    end: int
    scores: dict[AnswerType, float]


def _name_runs(sentence: str) -> list[tuple[int, int, list[_Token]]]:
    """Maximal runs of capitalised words (with "of", "de", "&" inside), sentence-initial function words out."""
    toks = _tokens(sentence)
    runs: list[tuple[int, int, list[_Token]]] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        if not _is_cap(t.text) or t.text.strip(".") in _MONTH_WORDS or t.text.strip(".") in _WEEKDAY_WORDS:
            i += 1
            continue
        j = i + 1
        while j < n:
            nxt = toks[j]
            gap = sentence[toks[j - 1].end : nxt.start]
            if gap.strip() not in ("", "&") or "\n" in gap:
                break
            if _is_cap(nxt.text) and nxt.text.strip(".") not in _MONTH_WORDS:
                j += 1
                continue
            if (nxt.text.lower() in _CONNECTORS and j + 1 < n and _is_cap(toks[j + 1].text)
                    and sentence[nxt.end : toks[j + 1].start].strip() == ""):
                j += 2
                continue
            break
        run = list(toks[i:j])
        # drop capitalised function words at the start of the sentence (or after an opening quote)
        while run and run[0].text.lower() in _SENTENCE_STARTERS and (
            sentence[: run[0].start].strip(" \"'“‘(") == "" or len(run) == 1 or run[0].text in ("The", "A", "An")
        ):
            run = run[1:]
        while run and run[-1].text.lower() in _CONNECTORS:
            run = run[:-1]
        if run and not (len(run) == 1 and run[0].text in _TRAILING_NOT_NAME):
            runs.append((run[0].start, run[-1].end, run))
        i = j
    return runs


def _is_cap(word: str) -> bool:
    """Capitalised, or a camel-cased brand ("iPhone", "eBay")."""
    return bool(word) and (word[0].isupper() or (len(word) > 2 and word[0].islower() and word[1].isupper()))


@lru_cache(maxsize=4096)
def _names(sentence: str) -> tuple[_Name, ...]:
    """Capitalised spans with a person / organisation / place score from light cues."""
    out: list[_Name] = []
    toks = _tokens(sentence)
    index = {t.start: k for k, t in enumerate(toks)}
    for start, end, run in _name_runs(sentence):
        words = [t.text.strip(".").lower() for t in run]
        text = sentence[start:end]
        k = index[start]
        prev = toks[k - 1].text.lower() if k > 0 else ""
        prev2 = toks[k - 2].text.lower() if k > 1 else ""
        after = sentence[end : end + 40]
        person = org = place = 0.4
        if all(w.removesuffix("s") in _DEMONYMS or w in _DEMONYMS for w in words) and " ".join(
            words
        ) not in _PLACES:
            person = org = place = 0.1  # "the British designer", "South Koreans"
        elif text.lower().strip(".") in _PLACES or (len(run) > 1 and " ".join(words[-2:]) in _PLACES
                                                 and words[0] in ("the", "northern", "southern", "eastern",
                                                                  "western", "central")):
            place, person, org = 1.0, 0.1, 0.2
        elif words[-1] in _ORG_WORDS or words[0] in ("bank", "university") or re.fullmatch(r"[A-Z]{2,6}s?", text):
            org, person, place = (0.6 if re.fullmatch(r"[A-Z]{2,6}s?", text) else 1.0), 0.1, 0.2
        elif words[-1] in _PLACE_WORDS or words[0] in ("mount", "mt", "lake", "fort", "port", "saint", "st",
                                                       "san", "santa", "los", "las", "new", "north", "south",
                                                       "east", "west", "upper", "lower"):
            place, person, org = 0.8, 0.1, 0.3
        elif words[0] in _PERSON_TITLES and len(run) > 1:
            person, org, place = 1.0, 0.1, 0.1
        elif prev in _HEAD_NOUNS[AnswerType.PERSON] and not _is_cap(toks[k - 1].text):
            person, org, place = 1.0, 0.2, 0.1  # "actress Cindy Williams", "CEO Chris Licht"
        elif prev in _HEAD_NOUNS[AnswerType.ORGANISATION] and not _is_cap(toks[k - 1].text):
            org, person, place = 0.9, 0.2, 0.2  # "retailer Target"
        elif (prev in _HEAD_NOUNS[AnswerType.PLACE] and not _is_cap(toks[k - 1].text)) or (
            prev == "of" and prev2 in _HEAD_NOUNS[AnswerType.PLACE]
        ):
            place, person, org = 0.9, 0.1, 0.2  # "the city of Leeds"
        else:
            if re.match(r"\s*(?:,\s*(?:who|\d{1,3},)|\s+(?:" + "|".join(_REPORTING_VERBS) + r")\b|['’]s\s+"
                        r"(?:wife|husband|son|daughter|mother|father|family|lawyer|attorney|spokes\w+))",
                        after):
                person, org = 0.65, 0.5  # organisations say things too
            elif len(run) in (2, 3) and all(w.isalpha() or "'" in w or "-" in w for w in words):
                person = 0.55  # "Cindy Williams": most two-word names in news are people
            if prev in _PLACE_PREPOSITIONS and prev not in ("of", "to"):
                place = max(place, 0.6)
                person = min(person, 0.4)
        out.append(_Name(start, end, {AnswerType.PERSON: person, AnswerType.ORGANISATION: org,
                                      AnswerType.PLACE: place}))
    return tuple(out)


def _find_entities(sentence: str, kind: AnswerType) -> list[Span]:
    return [Span(n.start, n.end, kind, n.scores[kind]) for n in _names(sentence) if n.scores[kind] >= 0.3]


def _find_named_things(sentence: str) -> list[Span]:
    spans = []
    for m in _QUOTED.finditer(sentence):
        g = 1 if m.group(1) is not None else 2
        inner = m.group(g)
        if len(inner.split()) <= 8 and (inner[0].isupper() or inner[0].isdigit()):
            spans.append(Span(m.start(g), m.end(g), AnswerType.NAME, 1.0))
    spans += [Span(n.start, n.end, AnswerType.NAME, 0.6 if max(n.scores.values()) < 0.7 else 0.35)
              for n in _names(sentence)]
    return _merge(spans)


def _find_lists(sentence: str) -> list[Span]:
    """Coordinations: "A and B", "A, B and C" of names or numbers (sure), of short lower-case phrases (less)."""
    spans: list[Span] = []
    items = [(n.start, n.end) for n in _names(sentence)] + [(s.start, s.end) for s in _find_numbers(sentence)]
    items.sort()
    k = 0
    while k < len(items):
        j = k
        while j + 1 < len(items) and re.fullmatch(r"\s*(?:,|&|and|,\s*and|or|,\s*or)\s*",
                                                  sentence[items[j][1] : items[j + 1][0]]):
            j += 1
        if j > k:
            spans.append(Span(items[k][0], items[j][1], AnswerType.LIST, 1.0))
        k = j + 1
    phrase = r"[a-z][\w'-]*(?:\s+[a-z][\w'-]*){0,2}"
    for m in re.finditer(rf"\b{phrase}(?:,\s+{phrase})+,?\s+and\s+{phrase}\b|\b[a-z][\w'-]*\s+and\s+[a-z][\w'-]*\b",
                         sentence):
        spans.append(Span(m.start(), m.end(), AnswerType.LIST, 0.5))
    return _merge(spans)


def _find_clauses(sentence: str, patterns: list[tuple[re.Pattern[str], float]], kind: AnswerType) -> list[Span]:
    spans: list[Span] = []
    for pattern, weight in patterns:
        for m in pattern.finditer(sentence):
            stop = _CLAUSE_END.search(sentence, m.end() + 1)
            end = stop.start() if stop else len(sentence)
            end = len(sentence[:end].rstrip())
            if end - m.end() >= 3:
                spans.append(Span(m.start(), end, kind, weight))
    # one span per cue position: the surest pattern that matched there
    best: dict[int, Span] = {}
    for s in spans:
        if s.start not in best or s.weight > best[s.start].weight:
            best[s.start] = s
    return sorted(best.values(), key=lambda s: s.start)


@lru_cache(maxsize=8192)
def _candidates(sentence: str, kind: AnswerType) -> tuple[Span, ...]:
    if kind is AnswerType.DATE:
        return tuple(_find_dates(sentence))
    if kind is AnswerType.NUMBER:
        return tuple(_find_numbers(sentence))
    if kind is AnswerType.AMOUNT:
        return tuple(_find_amounts(sentence))
    if kind in ENTITY_TYPES:
        return tuple(_find_entities(sentence, kind))
    if kind is AnswerType.NAME:
        return tuple(_find_named_things(sentence))
    if kind is AnswerType.LIST:
        return tuple(_find_lists(sentence))
    if kind is AnswerType.REASON:
        return tuple(_find_clauses(sentence, _REASON_PATTERNS, kind))
    if kind is AnswerType.MANNER:
        return tuple(_find_clauses(sentence, _MANNER_PATTERNS, kind))
    return ()


def find_candidates(sentence: str, kind: AnswerType) -> list[Span]:
    """Candidate answers of ``kind`` in ``sentence``, in sentence order (none for other and yes/no)."""
    return list(_candidates(sentence, kind))


# --- choosing the answer ----------------------------------------------------------------------------------------
def _repeats_question(sentence: str, span: Span, q: QuestionInfo) -> bool:
    text = sentence[span.start : span.end]
    if span.kind in (AnswerType.DATE, AnswerType.NUMBER, AnswerType.AMOUNT):
        nums = _numbers_in(text)
        if nums:
            return nums <= q.numbers
        return bool(_term_set(text)) and _term_set(text) <= q.terms
    if span.kind in (AnswerType.REASON, AnswerType.MANNER):
        return False  # a clause always shares words with the question; its cue is what counts
    words = _term_set(text) - _TITLE_STEMS
    return not words or all(_has_term(w, q.terms) for w in words)


_TITLE_STEMS = frozenset(_STEMMER.stemWords(sorted(_PERSON_TITLES)))


def _focus_hit(sentence: str, span: Span, q: QuestionInfo, toks: tuple[_Token, ...]) -> bool:
    if not q.focus:
        return False
    if "age" in q.focus:
        return span.tag == "age"
    after = [t.stem for t in toks if t.start >= span.end][:3]
    before = [t.stem for t in toks if t.end <= span.start][-2:]
    return any(s in q.focus for s in after + before if s)


@lru_cache(maxsize=4096)
def _scored_default(question: str, sentence: str) -> tuple[tuple[float, Span], ...]:
    """``_scored`` with the pattern finder, cached: the composer asks ``type_match`` and ``answer_span``."""
    return tuple(_scored(question, sentence))


def _scored(question: str, sentence: str, finder: Finder | None = None) -> list[tuple[float, Span]]:
    q = analyse(question)
    kind = q.kind
    find = finder or _candidates
    spans = list(find(sentence, kind))
    if kind is AnswerType.LIST and q.name_kind is not None:
        # "which two countries ...": a sentence naming one of them still holds part of the answer
        spans += [Span(c.start, c.end, c.kind, 0.7 * c.weight, c.tag) for c in find(sentence, q.name_kind)]
    if not spans:
        return []
    toks = _tokens(sentence)
    # distances count content words only ("erupted in 1984" is adjacent)
    content = [0] * (len(toks) + 1)
    for k, t in enumerate(toks):
        content[k + 1] = content[k] + (1 if t.stem else 0)
    q_positions = [k for k, t in enumerate(toks) if _matches(t.stem, q)]
    starts = [t.start for t in toks]
    out: list[tuple[float, Span]] = []
    for span in spans:
        if _repeats_question(sentence, span, q):
            continue
        first = _token_index(starts, span.start)
        last = max(first, _token_index(starts, span.end - 1))
        inside = False
        d = -1
        for p in q_positions:
            if first <= p <= last:
                inside = True
                continue
            gap = content[first] - content[p + 1] if p < first else content[p] - content[last + 1]
            d = gap if d < 0 else min(d, gap)
        near = 1.0 / (1.0 + d / 3.0) if d >= 0 else 0.0
        if kind in (AnswerType.REASON, AnswerType.MANNER) and inside:
            near = max(near, 0.5)
        focus = 1.0 if _focus_hit(sentence, span, q, toks) else 0.0
        out.append((span.weight * (0.55 + 0.25 * near + 0.2 * focus), span))
    return out


def _token_index(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return max(0, lo - 1)


def answer_span(question: str, sentence: str, finder: Finder | None = None) -> tuple[int, int] | None:
    """Character span in ``sentence`` of the best candidate of the question's type; None if there is none.

    Candidates that repeat the question (its own names, numbers) are skipped; among the rest, the pattern's
    weight, nearness to the question's terms and adjacency to its counted noun decide, then the earlier one.
    ``finder`` replaces ``find_candidates`` (the bench plugs spaCy in here).
    """
    scored = _scored(question, sentence, finder) if finder else _scored_default(question, sentence)
    if not scored:
        return None
    _, best = max(scored, key=lambda x: (x[0], -x[1].start))
    return best.start, best.end


def type_match(question: str, sentence: str, finder: Finder | None = None) -> float:
    """How well ``sentence`` holds an answer of the question's type, in [0, 1].

    The best candidate's score (pattern weight x nearness to the question's terms and counted noun); 0 when
    the sentence has no candidate of the type, ``NEUTRAL`` for types without a detector (other, yes/no).
    """
    kind = analyse(question).kind
    if kind in (AnswerType.OTHER, AnswerType.YESNO):
        return NEUTRAL
    scored = _scored(question, sentence, finder) if finder else _scored_default(question, sentence)
    return max((s for s, _ in scored), default=0.0)


def clear_caches() -> None:
    """Empty the per-question and per-sentence caches (for benchmarks that time cold calls)."""
    for fn in (analyse, _tokens, _names, _quantities, _candidates, _term_set, _scored_default):
        fn.cache_clear()


def first_with_answer(question: str, ranked: Sequence[str]) -> int | None:
    """Index of the first sentence of ``ranked`` (best first) holding a candidate of the asked type.

    For the composer's completion step: when its best sentence has no such candidate (the article's lead,
    "... erupting for the first time in nearly 40 years"), the sentence this returns ("It last erupted in
    1984.") is the one to add. None for types without a detector, or when no sentence has a candidate.
    """
    if analyse(question).kind in (AnswerType.OTHER, AnswerType.YESNO):
        return None
    return next((i for i, s in enumerate(ranked) if answer_span(question, s) is not None), None)
