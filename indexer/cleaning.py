"""Removes page boilerplate that pollutes retrieval: credits, rights notices, sign-up and cookie blurbs.

Works line by line on already-extracted text (HTML goes through trafilatura first). A line is dropped only when
it is short and matches a boilerplate pattern as a whole, so that a sentence of the story that merely mentions a
photo or a newsletter survives.
"""

from __future__ import annotations

import re
import unicodedata

_MAX_BOILERPLATE_LINE = 400

# Lines that are boilerplate wherever they appear.
_LINE_PATTERNS = [
    # photo / image credits and captions ending in an agency credit
    r"(photo|image|picture|video)s?\s*(credit|courtesy)?\s*[:©].{0,120}",
    r"\(?(photo|image)s?\s+(by|courtesy of|credit)\b.{0,120}\)?",
    r".{0,300}\b(getty images?|ap photo(/[^\s]+)?|afp via getty images|shutterstock|epa-efe|reuters/[\w .]+)\.?\)?",
    r"photo of the day|photos of the week",
    # copyright and rights notices
    r"(©|\(c\)|copyright\b).{0,800}",
    r".{0,300}\ball rights reserved\b.{0,800}",
    # "Source link" footers, sometimes with a scraper's stray counter after them
    r"source\s+link\b.{0,20}",
    # newsletter and subscription blurbs
    r".{0,200}\b(sign(ing)? up|subscribe|subscription|subscriber)\b.{0,300}\b(newsletter|inbox|here|today|email)\b.{0,200}",
    r".{0,120}\bnewsletter\b.{0,40}\b(sign up|subscribe|inbox|digest)\b.{0,200}",
    r"(get|would you like to receive)\b.{0,60}\bnewsletter\b.{0,200}",
    r".{0,200}\bnewsletter provides you with\b.{0,200}",
    r"(just for subscribers|not a subscriber\?).{0,200}",
    r"(support local journalism|thank you for supporting our journalism).{0,300}",
    # cookie / privacy / data-processing consent blurbs
    r".{0,200}\b(we|this (site|website)) uses? cookies\b.{0,400}",
    r".{0,100}\b(cookie|privacy) (policy|settings|preferences|notice)\b.{0,300}",
    r"we will use the (details|information) you have shared\b.{0,600}",
    r"if you wish to object to the use of your data.{0,300}",
    r"'we' includes .{0,200}",
    r"by (clicking|signing up|submitting)\b.{0,200}\b(agree|consent)\b.{0,300}",
    # ad feedback widgets and bare link prompts
    r"\d\.\s+how relevant is this ad to you\?",
    r"(advertisement|ad feedback|skip advertisement|read more:?|related:?|read more on this topic:?)",
    r"\[?click here\b.{0,150}\]?",
]
_BOILERPLATE = re.compile(r"^\s*(?:" + "|".join(_LINE_PATTERNS) + r")\s*$", re.IGNORECASE)
# cheap pre-check: a line without any of these words cannot match the patterns above
_TRIGGERS = (
    "photo", "image", "picture", "video", "getty", "shutterstock", "epa-efe", "reuters/", "©", "(c)",
    "copyright", "rights reserved", "source", "sign", "subscri", "newsletter", "cookie", "privacy", "we will use",
    "object to", "'we'", "clicking", "submitting", "relevant is this ad", "advertisement", "ad feedback",
    "read more", "related", "click here", "journalism",
)
_BLANK_RUN = re.compile(r"\n\s*\n(\s*\n)+")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")


def is_boilerplate(line: str) -> bool:
    stripped = line.strip()
    if not stripped or (len(stripped) > _MAX_BOILERPLATE_LINE and not _is_rights_notice(stripped)):
        return False
    low = stripped.lower()
    return any(word in low for word in _TRIGGERS) and bool(_BOILERPLATE.match(stripped))


def _is_rights_notice(line: str) -> bool:
    low = line.lower()
    return low.startswith(("©", "(c)", "copyright")) or "all rights reserved" in low[:300]


def normalise(text: str) -> str:
    """Unicode NFC, unified newlines, no trailing spaces, at most one blank line between paragraphs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUN.sub("\n\n", text).strip()


def clean_text(text: str) -> str:
    """Drop boilerplate lines and collapse blank runs; the story's own sentences are left untouched."""
    lines = normalise(text).split("\n")
    kept = [line for line in lines if not is_boilerplate(line)]
    return normalise("\n".join(kept))
