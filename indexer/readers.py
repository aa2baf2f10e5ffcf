"""Turn files and folders into articles: ``.txt``, ``.md``, ``.html``/``.htm`` and ``.jsonl``.

Reading never raises for bad input: each unreadable file or malformed JSONL line becomes a :class:`Skipped`
naming the file, the line and the reason, and reading goes on with the rest.

``--prune`` safety: a skipped input whose document id is known carries it (``Skipped.doc_id``); one whose id
cannot be known (a JSONL line that is no JSON, or has no id; a JSONL file that cannot be read at all) carries
``doc_id=None`` and the file it came from (``Skipped.source_file``), so that pruning can keep every stored
document read from that file (see :func:`unreadable_files`). Every article carries its ``source_file`` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from indexer.articles import Article, InputError, article_from_record, record_id

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_FILE_BYTES = 50_000_000


@dataclass(frozen=True, slots=True)
class Skipped:
    location: str
    """``path`` or ``path:line``."""
    reason: str
    doc_id: str | None = None
    """The document this input would have been, where known (kept safe from ``--prune``)."""
    source_file: str | None = None
    """Resolved path of the file this input came from; with ``doc_id`` None, every document stored from that
    file is to be kept safe from ``--prune`` (its id may be the one that could not be read)."""

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    root: Path
    """The path the user named; document ids of plain files are relative to it."""

    @property
    def doc_id(self) -> str:
        if self.root.is_file():
            return self.path.name
        return self.path.relative_to(self.root).as_posix()

    @property
    def origin(self) -> str:
        return str(self.root.resolve())

    @property
    def resolved(self) -> str:
        """The file's resolved path: what ``Article.source_file`` and ``Skipped.source_file`` hold."""
        return str(self.path.resolve())


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """Supported files under each path (recursive, sorted, hidden files skipped)."""
    found: list[SourceFile] = []
    problems: list[Skipped] = []
    for root in paths:
        if not root.exists():
            problems.append(Skipped(str(root), "no such file or folder"))
        elif root.is_file():
            if root.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(SourceFile(root, root))
            else:
                problems.append(Skipped(str(root), f"unsupported file type {root.suffix or '(none)'!r}"))
        else:
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                # a dangling symlink is kept so that reading reports it instead of it vanishing silently
                dangling = path.is_symlink() and not path.exists()
                if (path.is_file() or dangling) and path.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(SourceFile(path, root))
    return found, problems


def read_sources(files: list[SourceFile]) -> Iterator[Article | Skipped]:
    for source in files:
        yield from read_file(source)


def unreadable_files(items: list[Skipped]) -> set[str]:
    """Files with input whose document id is unknown: ``--prune`` must keep every document stored from them."""
    return {s.source_file for s in items if s.doc_id is None and s.source_file}


def read_file(source: SourceFile) -> Iterator[Article | Skipped]:
    path = source.path
    resolved = source.resolved
    suffix = path.suffix.lower()
    try:
        text = _read_text(path)
    except InputError as exc:
        yield Skipped(str(path), str(exc), None if suffix in JSONL_SUFFIXES else source.doc_id, resolved)
        return
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(path, text, source.origin, resolved)
        return
    try:
        if suffix in HTML_SUFFIXES:
            yield _article_from_html(text, source.doc_id, source.origin, resolved)
        else:
            yield _article_from_text(text, source.doc_id, source.origin, resolved)
    except InputError as exc:
        yield Skipped(str(path), str(exc), source.doc_id, resolved)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise InputError("file is empty")
    if b"\x00" in data[:8192]:
        raise InputError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc


def _read_jsonl(path: Path, text: str, origin: str, resolved: str) -> Iterator[Article | Skipped]:
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = (f"malformed JSON ({exc.msg}; column {exc.colno})" if isinstance(exc, json.JSONDecodeError)
                      else "JSON nested too deeply")
            yield Skipped(where, reason, None, resolved)
            continue
        try:
            article = article_from_record(record, origin, resolved)
        except InputError as exc:
            # a record with a readable id but a bad field keeps that id safe from --prune
            yield Skipped(where, str(exc), record_id(record), resolved)
            continue
        if article.doc_id in seen:
            yield Skipped(where, f"duplicate id {article.doc_id!r} in this file (first one kept)", article.doc_id,
                          resolved)
            continue
        seen.add(article.doc_id)
        yield article


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Optional YAML front matter (``---`` ... ``---``) at the top of a text or Markdown file."""
    stripped = text.lstrip("\ufeff")
    if not stripped.startswith("---\n"):
        return {}, text
    end = stripped.find("\n---", 4)
    if end < 0:
        return {}, text
    try:
        meta = yaml.safe_load(stripped[4:end]) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"front matter is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(meta, dict):
        raise InputError("front matter must be a mapping of fields")
    body_start = stripped.find("\n", end + 4)
    return meta, stripped[body_start + 1 :] if body_start >= 0 else ""


def _article_from_text(text: str, doc_id: str, origin: str, resolved: str = "") -> Article:
    """First non-empty line is the title (a Markdown ``#`` is dropped); front matter may add the rest."""
    meta, body = _split_front_matter(text)
    lines = body.splitlines()
    title = str(meta.pop("title", "") or "")
    for i, line in enumerate(lines):
        if line.strip():
            heading = line.strip().lstrip("#").strip()
            # the first line is the title, unless front matter named one and the body does not repeat it
            if not title or heading == " ".join(title.split()):
                title = title or heading
                lines = lines[i + 1 :]
            break
    record: dict[str, Any] = {"id": doc_id, "title": title, "text": "\n".join(lines)}
    # front matter fields are read like a JSONL record's: ``date``, ``published``, ``authors``... are lifted
    record.update(meta)
    record["id"] = doc_id
    return _with_title_as_text_fallback(record, origin, resolved)


def _article_from_html(html: str, doc_id: str, origin: str, resolved: str = "") -> Article:
    import trafilatura  # heavy import, only when HTML is actually read

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True)
    if doc is None or not (doc.text or "").strip():
        raise InputError("no article text found in the HTML page")
    title = (doc.title or "").strip()
    lines = doc.text.splitlines()
    if lines and title and lines[0].strip() == title:
        lines = lines[1:]
    record = {
        "id": doc_id,
        "title": title,
        "text": "\n\n".join(line for line in lines if line.strip()),
        "url": doc.url,
        "source": doc.sitename or doc.hostname,
        "author": doc.author,
        "published_at": doc.date,
    }
    return _with_title_as_text_fallback(record, origin, resolved)


def _with_title_as_text_fallback(record: dict[str, Any], origin: str, resolved: str) -> Article:
    if not str(record.get("text", "")).strip():
        raise InputError("no article text after the title line")
    return article_from_record(record, origin, resolved)
