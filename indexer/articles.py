"""The article record every reader produces and every later stage consumes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from dateutil import parser as date_parser

from indexer.cleaning import clean_text


class InputError(ValueError):
    """A file or record that cannot be ingested; the message says what is wrong with it."""


@dataclass(slots=True)
class Article:
    doc_id: str
    title: str
    text: str
    """Cleaned article text; chunk and citation offsets index into exactly this string."""
    url: str | None = None
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    """RFC 3339 UTC timestamp (``2023-02-07T00:00:00Z``) or None."""
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    """Where the article came from (the ingested root path, or ``api``); used to scope ``--prune``."""
    source_file: str = ""
    """The file it was read from (resolved path; empty for the API): a file with unreadable lines keeps its
    stored documents safe from ``--prune``. Not part of :meth:`content_hash`."""

    def content_hash(self, pipeline_key: str) -> str:
        """Hash of everything that ends up in the index, plus the settings that shape chunks and vectors."""
        body = json.dumps(
            [self.title, self.text, self.url, self.source, self.author, self.published_at, self.metadata,
             pipeline_key],
            sort_keys=True, ensure_ascii=False, default=str,
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


# Timestamps given as numbers: Unix time in seconds, or in milliseconds when above this (1e11 s is the year
# 5138, 1e11 ms is March 1973), and plausible only when they land in these years.
MILLISECONDS_ABOVE = 1e11
_TIMESTAMP_YEARS = (1900, 2200)


def normalise_date(value: Any, field_name: str = "published_at") -> str | None:
    """Any reasonable date or datetime to an RFC 3339 UTC string; naive values are taken as UTC.

    Accepted: ISO 8601 and other common written forms (``2023-06-16``, ``2023/06/16``, ``Fri, 16 Jun 2023
    10:00:00 GMT``), ``date``/``datetime`` objects (YAML front matter), and numbers as Unix time: seconds, or
    milliseconds when above 1e11 (``1685577600000`` is 2023-06-01). Anything else (a boolean, a number that is no
    plausible timestamp, text that is no date, a year out of range) raises :class:`InputError` naming the field
    and the value, so the reader skips that one record and goes on.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):  # before int: True is an int in Python, and no date
            raise InputError(f"{field_name}: expected a date, got a boolean ({value!r})")
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        elif isinstance(value, int | float):
            parsed = _from_timestamp(value, field_name)
        elif isinstance(value, str):
            parsed = _parse_date_string(value, field_name)
        else:
            raise InputError(f"{field_name}: expected a date, got {type(value).__name__} {value!r:.80}")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        utc = parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{field_name}: cannot read {value!r} as a date ({exc})") from exc
    if not 1 <= utc.year <= 9999:  # pragma: no cover - datetime itself refuses these
        raise InputError(f"{field_name}: {value!r} is out of range")
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def _from_timestamp(value: float, field_name: str) -> datetime:
    seconds = value / 1000 if abs(value) > MILLISECONDS_ABOVE else value
    low, high = _TIMESTAMP_YEARS
    try:
        parsed = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:  # NaN, infinity, beyond the year 9999
        raise InputError(
            f"{field_name}: {value!r} is not a plausible Unix timestamp (seconds, or milliseconds above 1e11)"
        ) from exc
    if not low <= parsed.year < high:
        raise InputError(
            f"{field_name}: {value!r} is not a plausible Unix timestamp (seconds, or milliseconds above 1e11): "
            f"it falls in the year {parsed.year}, outside {low}-{high - 1}"
        )
    return parsed


def _parse_date_string(value: str, field_name: str) -> datetime:
    text = value.strip()
    try:
        return date_parser.isoparse(text)
    except (ValueError, OverflowError):
        pass
    try:
        return date_parser.parse(text)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"{field_name}: cannot read {value!r} as a date") from exc


# Field names lifted into the article's own fields, first match wins (top level before ``metadata`` for each
# name, names in this order). Real feeds and data sets spell the publication date in many ways.
DATE_FIELDS = (
    "published_at", "publish_date", "published_date", "publication_date", "pub_date", "pubDate",
    "datePublished", "published", "date",
)
AUTHOR_FIELDS = ("author", "authors")
_OWN_FIELDS = ("url", "source", "title")
_ID_FIELDS = ("_id", "id", "doc_id")
_TEXT_FIELDS = ("text", "body")
_NEVER_METADATA = {*_ID_FIELDS, *_TEXT_FIELDS, *_OWN_FIELDS, "metadata", "published_at", "author"}
_NEVER_METADATA_IN_METADATA = {*_OWN_FIELDS, "published_at", "author"}


def record_id(record: Any) -> str | None:
    """The id a record names (``_id``, ``id`` or ``doc_id``), or None; for reporting a record that is skipped."""
    if not isinstance(record, dict):
        return None
    raw = next((record[k] for k in _ID_FIELDS if record.get(k) not in (None, "")), None)
    if raw is None or isinstance(raw, dict | list | bool) or not str(raw).strip():
        return None
    doc_id = str(raw).strip()
    return doc_id if len(doc_id) <= 512 else None


def source_from_url(url: str | None) -> str | None:
    """The URL's host without ``www.`` (``https://www.usatoday.com/x`` -> ``usatoday.com``), or None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return host.removeprefix("www.") or None


class _Fields:
    """Looks fields up at the top level, then in ``metadata``, and remembers which ones it lifted."""

    def __init__(self, record: dict[str, Any], meta: dict[str, Any]) -> None:
        self.record = record
        self.meta = meta
        self.lifted_top: set[str] = set()
        self.lifted_meta: set[str] = set()

    def first(self, names: tuple[str, ...]) -> tuple[str, Any]:
        """(field name as the user wrote it, value) of the first non-empty field of ``names``; ("", None) if none."""
        for name in names:
            value = self.record.get(name)
            if value not in (None, "", []):
                self.lifted_top.add(name)
                return name, value
            value = self.meta.get(name)
            if value not in (None, "", []):
                self.lifted_meta.add(name)
                return f"metadata.{name}", value
        return "", None


def _authors(where: str, value: Any) -> str | None:
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if not isinstance(value, list):
        raise InputError(f"{where}: expected a name or a list of names, got {type(value).__name__}")
    names: list[str] = []
    for item in value:
        if isinstance(item, dict):  # JSON Feed / schema.org: {"name": "..."}
            item = item.get("name")
        if item is None or item == "":
            continue
        if not isinstance(item, str):
            raise InputError(f"{where}: expected names (strings), got {type(item).__name__}")
        name = " ".join(item.split())
        if name and name not in names:
            names.append(name)
    return ", ".join(names) or None


MAX_METADATA_DEPTH = 64
"""Deeper metadata is refused: the store cannot keep it (its JSON encoder recursed on 600 levels and failed the
whole batch), and no article needs it. The same bound as the service's request body (``service.guards``)."""


def _depth(value: Any, limit: int = MAX_METADATA_DEPTH + 1) -> int:
    """Nesting depth of lists and objects, counted up to ``limit`` (iteratively: no recursion to overflow)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list) and level < limit:
            deepest = max(deepest, level + 1)
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def article_from_record(record: Any, origin: str = "", source_file: str = "") -> Article:
    """Build an article from a BEIR corpus record or a plain article record (the JSONL and API shape).

    BEIR: ``_id``, ``title``, ``text``, ``metadata``. Plain: ``id`` (or ``doc_id``), ``title``, ``text`` or
    ``body``, and any of the fields below. Each field below is read from the top level first, then from
    ``metadata``; the first non-empty one wins:

    * date (``published_at``): ``published_at``, ``publish_date``, ``published_date``, ``publication_date``,
      ``pub_date``, ``pubDate``, ``datePublished``, ``published``, ``date`` (see :func:`normalise_date` for the
      forms read; a value that is no date skips the record with the field's name and value);
    * ``author``: ``author`` or ``authors``, a name or a list of names (or of ``{"name": ...}``), joined with
      ", ";
    * ``url``, ``source``, ``title``; without a ``source``, the URL's host without ``www.`` is the source.

    Every other field, at the top level or in ``metadata``, is kept in ``metadata``; a lifted field is not
    repeated there.
    """
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}")
    raw_id = next((record[k] for k in _ID_FIELDS if k in record), None)
    if raw_id is None or str(raw_id).strip() == "":
        raise InputError("record has no id (expected '_id' or 'id')")
    if isinstance(raw_id, dict | list | bool):
        raise InputError(f"id: expected a string or a number, got {type(raw_id).__name__}")
    doc_id = str(raw_id).strip()
    if len(doc_id) > 512:
        raise InputError("id: longer than 512 characters")
    meta_in = record.get("metadata") or {}
    if not isinstance(meta_in, dict):
        raise InputError("metadata: expected a JSON object")
    fields = _Fields(record, meta_in)

    text = record.get("text")
    if text in (None, ""):
        text = record.get("body")
    if text is None:
        raise InputError("record has no 'text' or 'body'")
    if not isinstance(text, str):
        raise InputError(f"text: expected a string, got {type(text).__name__}")
    where, title = fields.first(("title",))
    if title is None:
        title = ""
    if not isinstance(title, str):
        raise InputError(f"{where}: expected a string, got {type(title).__name__}")
    own: dict[str, str | None] = {}
    for name in ("url", "source"):
        where, value = fields.first((name,))
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: expected a string, got {type(value).__name__}")
        own[name] = value.strip() if value else None
    where, author_value = fields.first(AUTHOR_FIELDS)
    author = _authors(where, author_value) if author_value is not None else None
    where, date_value = fields.first(DATE_FIELDS)
    published_at = normalise_date(date_value, where) if date_value is not None else None
    source = own["source"] or source_from_url(own["url"])

    metadata: dict[str, Any] = {
        k: v for k, v in meta_in.items() if k not in _NEVER_METADATA_IN_METADATA and k not in fields.lifted_meta
    }
    metadata.update(
        {k: v for k, v in record.items() if k not in _NEVER_METADATA and k not in fields.lifted_top}
    )
    if _depth(metadata) > MAX_METADATA_DEPTH:
        raise InputError(f"metadata: nested deeper than {MAX_METADATA_DEPTH} levels")
    cleaned = clean_text(text)
    if not cleaned:
        raise InputError("article text is empty once boilerplate is removed")
    return Article(
        doc_id=doc_id,
        title=" ".join(title.split()),
        text=cleaned,
        url=own["url"],
        source=source,
        author=author,
        published_at=published_at,
        metadata=metadata,
        origin=origin,
        source_file=source_file,
    )
