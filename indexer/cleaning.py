"""Removes page boilerplate that pollutes retrieval: credits, rights notices, sign-up and cookie blurbs.

Works on already-extracted text (HTML goes through trafilatura first), one SENTENCE at a time: each line
(paragraph) is split with :func:`indexer.sentences.split_sentences`, and only the sentences that are boilerplate
as a whole are cut; the paragraph keeps every other sentence verbatim. A paragraph that ends with "For more odd
news, sign up to our newsletter." loses that sentence and keeps the story sentence before it; a caption keeps its
fact and loses the "Name/AFP/Getty Images" credit after it.

Guards against cutting a real sentence:

* a sentence is cut only when it is short (``_MAX_BOILERPLATE_SENTENCE`` characters) and one pattern matches it
  from its first character to its last (patterns have bounded lead-ins, so a long sentence cannot match);
* photo credits count only when the credited name is at most four words long ("Kevin Frayer/Getty Images"); a
  caption fused with its credit without a full stop is kept whole;
* legal small print after a rights or consent notice ("Reuters content is the intellectual property of ...",
  "You agree to the processing ... Privacy Policy.") is cut only when it follows a cut sentence in the same
  paragraph and carries legal vocabulary (``_CONTINUATION``).

A paragraph left with no letters once its boilerplate is cut (the "1." of "1. How relevant is this ad to
you?") goes with it. ``bench/cleaning_report.py`` measures what this removes on every shared data set.
"""

from __future__ import annotations

import re
import unicodedata

from indexer.sentences import split_sentences

_MAX_BOILERPLATE_SENTENCE = 250
_MAX_CONTINUATION_SENTENCE = 400

# A sentence is boilerplate when one of these matches it as a whole (case-insensitive).
_SENTENCE_PATTERNS = [
    # photo / image credit labels and photo-gallery link labels
    r"\(?(photo|image|picture|video)s?\s*(credit|courtesy)?\s*[:©].{0,120}(?<![.!?\"”])",  # a label, not a sentence
    r"\(?(photo|image)s?\s+(by|courtesy of|credit)\b.{0,120}\)?",
    r"photo of the day|photos of the week",
    # copyright and rights notices
    r"(©|\(c\)\s*\d|copyright\s*(©|\(c\)|\d{4})).{0,240}",
    r".{0,120}\ball rights reserved\b.{0,120}",
    # "Source link" footers, sometimes with a scraper's stray counter after them
    r"source\s+link\b.{0,20}",
    # newsletter and subscription invitations: the verb opens a clause, after at most a short lead-in
    r"(.{0,120}([,:;?!–—-]|\b(and|please|you can|by))\s*)?(sign(ing)? up|subscribe)\b.{0,200}?"
    r"\b(newsletter|inbox|here|today|e-?mail|now|free)\b.{0,200}",
    r".{0,120}\bnewsletter\b.{0,40}\b(sign up|subscribe|inbox|digest)\b.{0,200}",
    r"(get|would you like to receive)\b.{0,60}\bnewsletter\b.{0,200}",
    r"\(?(you can also )?get\b.{0,80}\b(in|to) your inbox\b.{0,200}",
    r".{0,80}\bdelivered (right )?to your inbox\b.{0,60}",
    r"(editor['’]s note:\s*)?(a version of this story|this story is part of)\b.{0,120}\bnewsletter\b.{0,160}",
    r"editor['’]s note:\s*(sign up|get inspired)\b.{0,160}",
    r"(just for subscribers|not a subscriber\?|already a subscriber\b).{0,200}",
    r".{0,80}\bbecome an? .{0,40}\bsubscriber\b.{0,40}",
    r"these articles are for .{0,40} subscribers\.?",
    r".{0,40}\bwant .{0,80}\bin your inbox( every \w+)?\?",
    r"(support (local|quality) journalism|thank you for supporting our journalism|support journalism like this)"
    r".{0,200}",
    r"(explore the universe with news on|get inspired by a weekly roundup|make smart choices without hours of)"
    r".{0,120}",
    r"like what you['’]ve read\?|oh, but there['’]s more\.|enjoying nightcap\?",
    # cookie / privacy / data-processing consent blurbs
    r".{0,160}\b(we|this (site|website)) uses? cookies\b.{0,200}",
    r".{0,100}\bour (cookie|privacy) (policy|settings|preferences|notice)\b.{0,100}",
    r"we will use the (details|information) you have shared\b.{0,230}",
    r"if you wish to object to the use of your data.{0,200}",
    r"'we' includes .{0,200}",
    r".{0,40}\bby (clicking|signing up|submitting)\b.{0,200}\b(agree|consent)\b.{0,200}",
    # ad feedback widgets and bare link prompts
    r"(\d\.\s+)?how relevant is this ad to you\?",
    r"(advertisement|ad feedback|skip advertisement|read more:?|related:?|read more on this topic:?|loading\.\.\.)",
    r"\[?click here\b.{0,150}\]?",
]
_BOILERPLATE = re.compile(r"\s*(?:" + "|".join(_SENTENCE_PATTERNS) + r")\s*", re.IGNORECASE)
# cheap pre-check: a paragraph without any of these cannot hold a boilerplate sentence
_TRIGGERS = (
    "photo", "image", "picture", "video", "getty", "shutterstock", "epa", "reuters", "afp", "©", "(c)",
    "copyright", "rights reserved", "source", "sign", "subscri", "newsletter", "inbox", "cookie", "privacy",
    "we will use", "object to", "'we'", "clicking", "submitting", "relevant is this ad", "advertisement",
    "ad feedback", "read more", "related", "click here", "journalism", "explore the universe", "get inspired",
    "smart choices", "what you", "there's more", "there’s more", "nightcap", "loading...",
)

# Photo credits: an optional label, a credited name of at most four words, then a chain of agencies ("Kevin
# Frayer/Getty Images", "Photograph: Darren Staples/AFP/Getty Images", "Charley Gallay via Getty Images").
_CREDIT_LABEL = re.compile(r"^(?:photo(?:graph)?|image|picture)s?\s*(?:credit)?\s*[:|]\s*", re.IGNORECASE)
_CREDIT_SEPARATOR = re.compile(r"/|\||\(|\bvia\b", re.IGNORECASE)
_AGENCY = re.compile(
    r"\b(getty\s*images?|shutterstock|ap\s*photo|afp|reuters|epa(-efe)?|istockphoto)\b", re.IGNORECASE
)
_BARE_AGENCY = re.compile(r"(getty\s*images?|shutterstock|afp via getty images|ap photo)", re.IGNORECASE)

# Rights and consent notices, the only cut sentences that legal small print after them may continue.
_NOTICE = re.compile(
    r"\s*(©|\(c\)\s*\d|copyright\s*(©|\(c\)|\d{4})|.{0,120}\ball rights reserved\b|we will use the (details|information)"
    r" you have shared|.{0,40}\bby (clicking|signing up|submitting)\b|.{0,160}\b(we|this (site|website)) uses? cookies\b)",
    re.IGNORECASE,
)
# Legal small print that continues a cut rights or consent notice in the same paragraph.
_CONTINUATION = re.compile(
    r".{0,300}\b(intellectual property|trademarks?|shall not be liable|expressly prohibited|prior written consent|"
    r"privacy policy|terms of (use|service)|legitimate interest|you agree)\b.{0,300}",
    re.IGNORECASE,
)

_BLANK_RUN = re.compile(r"\n\s*\n(\s*\n)+")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_LETTER = re.compile(r"[^\W\d_]")


def is_boilerplate(sentence: str) -> bool:
    """Whether one sentence (or a one-sentence line) is page boilerplate as a whole."""
    stripped = sentence.strip()
    if not stripped or len(stripped) > _MAX_BOILERPLATE_SENTENCE:
        return False
    low = stripped.lower()
    if not any(word in low for word in _TRIGGERS):
        return False
    return bool(_BOILERPLATE.fullmatch(stripped)) or _is_credit(stripped)


def _is_credit(sentence: str) -> bool:
    """A photo credit on its own: at most four words before the first "/", "|", "(" or "via" and after the
    last one, an agency somewhere, and no full stop at the end (a caption's sentences end with one)."""
    text = sentence.strip().strip("()").strip()
    if len(text) > 120 or not _AGENCY.search(text):
        return False
    if text.endswith((".", "!", "?")) and not text.lower().endswith("images."):
        return False
    text = _CREDIT_LABEL.sub("", text)
    if _BARE_AGENCY.fullmatch(text.rstrip(".")):
        return True
    separators = list(_CREDIT_SEPARATOR.finditer(text))
    # short on both ends: "Name Name/Agency/Getty Images", not "Name/Getty Images Brady arrives at court."
    return bool(separators) and len(text[: separators[0].start()].split()) <= 4 and len(
        text[separators[-1].end() :].split()
    ) <= 4


def _is_continuation(sentence: str) -> bool:
    return len(sentence) <= _MAX_CONTINUATION_SENTENCE and bool(_CONTINUATION.fullmatch(sentence))


def normalise(text: str) -> str:
    """Unicode NFC, unified newlines, no trailing spaces, at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUN.sub("\n\n", text).strip()


def removed_spans(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the boilerplate sentences of one line (paragraph), in order."""
    low = paragraph.lower()
    if not any(word in low for word in _TRIGGERS):
        return []
    cut: list[tuple[int, int]] = []
    in_notice = False
    for start, end in _sentence_spans(paragraph):
        sentence = paragraph[start:end]
        if in_notice and _is_continuation(sentence):
            cut.append((start, end))
        elif is_boilerplate(sentence):
            cut.append((start, end))
            in_notice = bool(_NOTICE.match(sentence))
        else:
            in_notice = False
    return cut


_NOTICE_START = re.compile(r"(?<=[.!?…\"”’)])\s+(?=©)")


def _sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """``split_sentences``, also ending a sentence before a "©" (which it does not take for a sentence start)."""
    spans: list[tuple[int, int]] = []
    for span in split_sentences(paragraph):
        start = span.start
        for match in _NOTICE_START.finditer(paragraph, span.start, span.end):
            spans.append((start, match.start()))
            start = match.end()
        spans.append((start, span.end))
    return spans


def clean_paragraph(paragraph: str) -> str:
    """One line without its boilerplate sentences; kept sentences keep their text and the spacing between them."""
    cut = removed_spans(paragraph)
    if not cut:
        return paragraph
    pieces: list[str] = []
    cursor = 0
    for start, end in cut:
        pieces.append(paragraph[cursor:start])
        cursor = end
    pieces.append(paragraph[cursor:])
    # the gap before a cut sentence goes with it; the text after it joins the kept text before it
    kept = ""
    for piece in pieces:
        if not piece.strip():
            continue
        kept = f"{kept.rstrip()} {piece.strip()}" if kept else piece.strip()
    return kept if _LETTER.search(kept) else ""


def clean_text(text: str) -> str:
    """Cut boilerplate sentences, drop lines left empty, collapse blank runs; every other sentence is verbatim."""
    lines = normalise(text).split("\n")
    return normalise("\n".join(clean_paragraph(line) if line.strip() else line for line in lines))
