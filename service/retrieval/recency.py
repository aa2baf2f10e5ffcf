"""Recency-aware ranking: decay relevance by article age, applied to the fused candidates on every path.

A hit's score becomes ``score * (1 - weight + weight * decay)`` with ``decay = 0.5 ** (age / half_life)``:

* multiplicative, so it does not depend on the scale of the relevance score (fused scores in [0, 1], cosine,
  BM25) and never reorders hits of the same age; ``weight`` (0..1) is the largest share of a score that age
  can take away (``weight=0.5``: an ancient article keeps half its relevance, a fresh one all of it);
* ``age = as_of - published_at``; an article dated after ``as_of`` has decay 1.0 (no bonus for the future);
* an article without a date is taken as exactly one half-life old: decay :data:`MISSING_DATE_DECAY` (0.5).
  Undated articles are neither buried (0) nor promoted over fresh news (1).

Where the fusion runs inside the engine (``rrf`` or ``dbsf``, on either store), the same arithmetic runs inside
the engine's query: the retriever hands the store an ``indexer.collection.RecencyRequest`` and each backend's
converters build the formula (an exponential ``Decay`` on the datetime payload, ``midpoint`` 0.5 at ``scale``
= the half-life) over the fused ``$score``. Where the fusion runs in Python (the default ``adaptive``/``weighted``
fusions, whose fused score the engine never sees), :func:`apply_recency` applies it to the fused candidates.
Tests on Edge and on a real server check that both give the same scores for the same candidates. Scores are
assumed non-negative.

:func:`anchored_as_of` measures age from the newest relevant candidate instead of from now; without it a
short half-life cannot tell apart two articles that are both much older than it.

:func:`recency_intent` reads the question: "latest", "current", "still", "this week" ... ask for recency;
a stated year, month or date turns it off (the question is about that time, not about now).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

DEFAULT_HALF_LIFE = "30d"
"""Half-life used when the question asks for the latest state and the request leaves ``recency`` unset."""
DEFAULT_WEIGHT = 0.5
AUTO_WEIGHT = 0.2
"""The weight when recency turned itself on from the question's words (``auto``): a nudge among close
candidates, not an override of relevance. At 0.5, the 40 'latest'/'currently' questions of rtqa-evidence-2023
cost the quality-gate subset .010 nDCG@10 (.873 -> .863)."""
MISSING_DATE_DECAY = 0.5
"""Decay of an article without a (readable) date: as if it were exactly one half-life old."""

_HALF_LIFE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|d|w|y)\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "y": timedelta(days=365)}
_OFF = frozenset({"off", "none", "no", "false", "0"})


def parse_half_life(text: str | None) -> timedelta | None:
    """``"30d"``, ``"12h"``, ``"2w"``, ``"1y"`` (365 days) -> timedelta; ``"off"`` (or None, "none") -> None.

    Raises ValueError with a readable message for anything else, including a zero or negative half-life.
    """
    if text is None or text.strip().lower() in _OFF:
        return None
    m = _HALF_LIFE.match(text)
    if not m:
        raise ValueError(f"recency: expected 'off' or a half-life such as 12h, 30d, 2w or 1y, got {text!r}")
    value = float(m.group(1))
    if value <= 0:
        raise ValueError(f"recency: the half-life must be positive, got {text!r}")
    return value * _UNITS[m.group(2).lower()]


# --- the question's own say -----------------------------------------------------------------------------------
_RECENT = re.compile(
    r"\b(latest|newest|most recent|current|currently|now|nowadays|still|anymore|so far|as of now|up to date)\b",
    re.IGNORECASE,
)
"""Words that ask for the latest *state* of something. Words that date an *event* ("this week", "recently",
"today") do not count: a third of news-quiz questions use them ("...died this week"), and turning recency on
for those lowered nDCG@10 on rtqa-evidence-2023 from .873 to .802 (the quality-gate subset): the asked-about
event is rarely the newest article."""
_MONTHS = (r"January|February|March|April|June|July|August|September|October|November|December|"
           r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_DATED = re.compile(
    r"\b(?:1[89]\d\d|20\d\d)s?\b(?![,.]\d)"                      # a year, 1800-2099, or a decade: 2023, 1990s
    rf"|\b(?:{_MONTHS})\b"                                         # a month name (capitalised: not 'march on')
    r"|\b(?:in|of|since|until|by|early|late|mid|last|next|this)[ -]May\b|\bMay \d{1,2}\b"  # 'May', not 'may'
    r"|\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b"     # 2023-02-07, 7/2/2023
)


def recency_intent(question: str) -> bool | None:
    """True when the question asks for the latest state, False when it states a date, None otherwise.

    A stated date wins over a recency word ("the latest figures for 2022" is about 2022).
    """
    if _DATED.search(question):
        return False
    if _RECENT.search(question):
        return True
    return None


def resolve_half_life(requested: str | None, question: str, default: str = DEFAULT_HALF_LIFE) -> timedelta | None:
    """The half-life a request should use: its explicit ``recency`` if given, else the question's intent.

    ``requested`` None or ``"auto"``: ``default`` when :func:`recency_intent` is True, otherwise off.
    ``"off"`` or a half-life: exactly that, whatever the question says.
    """
    if requested is None or requested.strip().lower() == "auto":
        return parse_half_life(default) if recency_intent(question) else None
    return parse_half_life(requested)


# --- the arithmetic -------------------------------------------------------------------------------------------
def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(value: datetime | str | None) -> datetime | None:
    """A payload date (RFC 3339 string as the indexer stores it, or a datetime) in UTC; None if unreadable."""
    if value is None or isinstance(value, datetime):
        return None if value is None else _utc(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text))
    except ValueError:
        return None


def decay(published_at: datetime | str | None, as_of: datetime, half_life: timedelta) -> float:
    """``0.5 ** (age / half_life)``; 1.0 for an article dated after ``as_of``; MISSING_DATE_DECAY if undated."""
    if half_life <= timedelta(0):
        raise ValueError("half_life must be positive")
    when = parse_date(published_at)
    if when is None:
        return MISSING_DATE_DECAY
    age = _utc(as_of) - when
    if age <= timedelta(0):
        return 1.0
    return float(0.5 ** (age / half_life))


def boost(decay_value: float, weight: float) -> float:
    """The factor a score is multiplied by: ``1 - weight + weight * decay``."""
    return 1.0 - weight + weight * decay_value


def apply_recency(
    scores: Sequence[float],
    dates: Sequence[datetime | str | None],
    as_of: datetime,
    half_life: timedelta | None,
    weight: float = DEFAULT_WEIGHT,
) -> list[float]:
    """Each score times its recency factor (see the module docstring); unchanged when ``half_life`` is None.

    The caller re-sorts; fetch more candidates than it returns, since recency can lift one from below the cut.
    """
    if len(scores) != len(dates):
        raise ValueError(f"{len(scores)} scores but {len(dates)} dates")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be within 0..1, got {weight}")
    if half_life is None:
        return [float(s) for s in scores]
    return [float(s) * boost(decay(d, as_of, half_life), weight) for s, d in zip(scores, dates, strict=True)]


ANCHOR_SHARE = 0.5
""":func:`anchored_as_of` looks at candidates scoring at least this share of the best score."""


def anchored_as_of(
    scores: Sequence[float],
    dates: Sequence[datetime | str | None],
    as_of: datetime,
    share: float = ANCHOR_SHARE,
) -> datetime:
    """The date of the newest *relevant* candidate (score >= ``share`` x best), never later than ``as_of``.

    Why: with ``as_of`` = now, every article much older than the half-life decays to about 0, so two articles
    a year apart, both years old, get the same factor (1 - weight) and "latest" changes nothing (samples: the
    2023 and 2024 Mali pieces score 0.499 and 0.480 at 30 days). Measuring age from the newest relevant
    candidate makes the newest answer-bearing article decay 1.0 and the others relative to it; irrelevant
    fresh articles below ``share`` do not move the anchor. ``as_of`` itself when no relevant candidate is dated.
    """
    if len(scores) != len(dates):
        raise ValueError(f"{len(scores)} scores but {len(dates)} dates")
    limit = _utc(as_of)
    if not scores:
        return limit
    best = max(scores)
    relevant = [parse_date(d) for s, d in zip(scores, dates, strict=True) if s >= share * best]
    dated = [d for d in relevant if d is not None and d <= limit]
    return max(dated) if dated else limit
