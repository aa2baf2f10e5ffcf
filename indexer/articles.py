"""The article record every reader produces and every later stage consumes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

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

    def content_hash(self, pipeline_key: str) -> str:
        """Hash of everything that ends up in the index, plus the settings that shape chunks and vectors."""
        body = json.dumps(
            [self.title, self.text, self.url, self.source, self.author, self.published_at, self.metadata,
             pipeline_key],
            sort_keys=True, ensure_ascii=False, default=str,
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def normalise_date(value: Any, field_name: str = "published_at") -> str | None:
    """Any reasonable date or datetime to an RFC 3339 UTC string; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float):
        parsed = datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str):
        try:
            parsed = date_parser.isoparse(value.strip())
        except ValueError:
            try:
                parsed = date_parser.parse(value.strip())
            except (ValueError, OverflowError) as exc:
                raise InputError(f"{field_name}: cannot read {value!r} as a date") from exc
    else:
        raise InputError(f"{field_name}: expected a date string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_KNOWN = {"_id", "id", "doc_id", "title", "text", "body", "url", "source", "author", "published_at", "metadata"}


def article_from_record(record: Any, origin: str = "") -> Article:
    """Build an article from a BEIR corpus record or a plain article record (the JSONL and API shape).

    BEIR: ``_id``, ``title``, ``text``, ``metadata`` (whose url/source/author/published_at are lifted).
    Plain: ``id``, ``title``, ``text`` or ``body``, ``url``, ``source``, ``author``, ``published_at``; any
    other field is kept in ``metadata``.
    """
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}")
    raw_id = record.get("_id", record.get("id", record.get("doc_id")))
    if raw_id is None or str(raw_id).strip() == "":
        raise InputError("record has no id (expected '_id' or 'id')")
    doc_id = str(raw_id).strip()
    if len(doc_id) > 512:
        raise InputError("id: longer than 512 characters")
    meta_in = record.get("metadata") or {}
    if not isinstance(meta_in, dict):
        raise InputError("metadata: expected a JSON object")
    metadata: dict[str, Any] = {k: v for k, v in meta_in.items()
                                if k not in {"url", "source", "author", "published_at", "title"}}
    metadata.update({k: v for k, v in record.items() if k not in _KNOWN})

    def pick(name: str) -> Any:
        value = record.get(name)
        return meta_in.get(name) if value in (None, "") else value

    text = record.get("text")
    if text in (None, ""):
        text = record.get("body")
    if text is None:
        raise InputError("record has no 'text' or 'body'")
    if not isinstance(text, str):
        raise InputError(f"text: expected a string, got {type(text).__name__}")
    title = pick("title") or ""
    if not isinstance(title, str):
        raise InputError(f"title: expected a string, got {type(title).__name__}")
    for name in ("url", "source", "author"):
        value = pick(name)
        if value is not None and not isinstance(value, str):
            if name == "author" and isinstance(value, list):
                continue
            raise InputError(f"{name}: expected a string, got {type(value).__name__}")
    author = pick("author")
    if isinstance(author, list):
        author = ", ".join(str(a) for a in author)
    cleaned = clean_text(text)
    if not cleaned:
        raise InputError("article text is empty once boilerplate is removed")
    return Article(
        doc_id=doc_id,
        title=" ".join(title.split()),
        text=cleaned,
        url=pick("url") or None,
        source=pick("source") or None,
        author=author or None,
        published_at=normalise_date(pick("published_at")),
        metadata=metadata,
        origin=origin,
    )
