"""Which question a chat conversation asks: the last user turn, made standalone when it is a follow-up.

Without a language model, a short or elliptical last turn ("and in Rotterdam?", "when did it reopen?") is
prefixed with the previous user turn, so the follow-up keeps its subject.
"""

from __future__ import annotations

import re

_FOLLOW_UP = re.compile(r"^(and|but|also|so|then|what about|how about|and what about|same for|what of)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|them|their|he|him|his|she|her|that|this|those|these|there)\b", re.I)
_WORD = re.compile(r"[\w'’-]+")
SHORT_QUESTION_WORDS = 4
"""A last user turn of at most this many words is taken as a follow-up of the previous one."""


class NoQuestionError(ValueError):
    """The conversation has no user turn with text."""


def elliptical(text: str) -> bool:
    words = _WORD.findall(text)
    if len(words) <= SHORT_QUESTION_WORDS or _FOLLOW_UP.match(text.strip()):
        return True
    # a pronoun and no name of its own ("when did it reopen?"): it refers to the previous turn
    names = [w for w in words[1:] if w[:1].isupper()]
    return bool(_PRONOUN.search(text)) and not names


def standalone_question(user_turns: list[str], max_chars: int) -> str:
    """The question to answer from the user turns (oldest first): the last one, prefixed by the previous one
    when it is a follow-up and the two fit in ``max_chars``."""
    turns = [t for t in (u.strip() for u in user_turns) if t]
    if not turns:
        raise NoQuestionError("no user message with text content")
    last = turns[-1]
    if len(turns) > 1 and elliptical(last):
        joined = f"{turns[-2]} {last}"
        if len(joined) <= max_chars:
            return joined
    return last
