"""Dates and metadata lifted from what real feeds and data sets write; a bad date is one record's problem.

``article_from_record`` is what the HTTP API (POST /v1/documents) and the JSONL reader both use: it must raise
``InputError`` (reported per record) for any bad date, never a bare ValueError or OverflowError that aborts a
run or a batch. The CLI test ingests tests/fixtures/dates as a user would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from indexer.articles import DATE_FIELDS, InputError, article_from_record, normalise_date, source_from_url
from indexer.readers import Skipped, SourceFile, discover, read_file, read_sources, unreadable_files
from indexer.settings import IndexerSettings
from tests.indexer.helpers import FIXTURES, read_points, run_cli

JUNE_1_2023 = "2023-06-01T00:00:00Z"


def record(**fields: Any) -> dict[str, Any]:
    return {"id": "r1", "title": "Ferry timetable", "text": "The ferry adds two evening crossings.", **fields}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1685577600, JUNE_1_2023),  # seconds
        (1685577600000, JUNE_1_2023),  # milliseconds: above 1e11
        (1685577600000.0, JUNE_1_2023),
        ("2023/06/16", "2023-06-16T00:00:00Z"),  # news-rtqa's publish_date
        ("2023-02-07T10:15:00+02:00", "2023-02-07T08:15:00Z"),
        ("Fri, 16 Jun 2023 10:00:00 GMT", "2023-06-16T10:00:00Z"),  # RSS pubDate
        ("2023", "2023-01-01T00:00:00Z"),
    ],
)
def test_dates_are_read(value: Any, expected: str) -> None:
    assert normalise_date(value) == expected
    assert article_from_record(record(published_at=value)).published_at == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (1e20, "1e+20 is not a plausible Unix timestamp"),
        (99999999999999, "99999999999999 is not a plausible Unix timestamp"),  # ms: the year 5138
        (-1e15, "is not a plausible Unix timestamp"),
        (float("nan"), "nan is not a plausible"),
        (float("inf"), "inf is not a plausible"),
        (True, "expected a date, got a boolean (True)"),
        (False, "expected a date, got a boolean (False)"),
        ("99999999999999", "cannot read '99999999999999' as a date"),
        ("9999-12-31T23:00:00-05:00", "cannot read '9999-12-31T23:00:00-05:00' as a date"),
        ("sometime last spring", "cannot read 'sometime last spring' as a date"),
        ([2023, 6, 1], "expected a date, got list"),
    ],
)
def test_a_bad_date_is_an_input_error_naming_the_field_and_value(value: Any, fragment: str) -> None:
    with pytest.raises(InputError) as raised:
        article_from_record(record(published_at=value))
    assert str(raised.value).startswith("published_at: ") and fragment in str(raised.value)
    with pytest.raises(InputError, match=r"^metadata\.publish_date: "):
        article_from_record({"_id": "b1", "text": "Body.", "metadata": {"publish_date": value}})


@pytest.mark.parametrize("name", DATE_FIELDS)
def test_every_common_date_name_is_lifted_from_top_level_and_metadata(name: str) -> None:
    top = article_from_record(record(**{name: "2023/06/16", "section": "local"}))
    beir = article_from_record({"_id": "b1", "text": "Body.", "metadata": {name: "2023/06/16", "section": "x"}})
    for article in (top, beir):
        assert article.published_at == "2023-06-16T00:00:00Z"
        assert name not in article.metadata  # lifted, not repeated in metadata
        assert "section" in article.metadata


def test_published_at_wins_over_the_other_names_and_unused_ones_stay_in_metadata() -> None:
    a = article_from_record(record(date="2020-01-01", metadata={"published_at": "2023-06-16", "pubDate": "x"}))
    assert a.published_at == "2023-06-16T00:00:00Z"
    assert a.metadata == {"date": "2020-01-01", "pubDate": "x"}


def test_news_rtqa_shaped_record_gets_date_source_and_authors() -> None:
    a = article_from_record({
        "_id": "146926c199e00f4b", "title": "Super Bowl 2023 guide", "text": "The NFL is bringing its game back.",
        "metadata": {"url": "https://www.usatoday.com/story/sports/nfl/2023/02/01/x", "publish_date": "2022/10/07",
                     "authors": ["Jane Doe", "  John   Roe ", "Jane Doe"]},
    })
    assert (a.published_at, a.source, a.author) == ("2022-10-07T00:00:00Z", "usatoday.com", "Jane Doe, John Roe")
    assert a.url == "https://www.usatoday.com/story/sports/nfl/2023/02/01/x"
    assert a.metadata == {}


def test_authors_as_objects_and_empty_lists() -> None:
    assert article_from_record(record(authors=[{"name": "Ann Lee"}, {"name": "Bo Chen"}])).author == "Ann Lee, Bo Chen"
    assert article_from_record(record(metadata={"authors": []})).author is None
    assert article_from_record(record(author="Ann Lee", authors=["Someone Else"])).author == "Ann Lee"
    with pytest.raises(InputError, match="authors: expected names"):
        article_from_record(record(authors=["Ann Lee", 7]))


def test_source_comes_from_the_url_only_when_none_is_given() -> None:
    assert article_from_record(record(url="https://www.theweek.co.uk/news/x")).source == "theweek.co.uk"
    assert article_from_record(record(url="https://edition.cnn.com/x", source="CNN")).source == "CNN"
    assert article_from_record(record(url="https://WWW.Example.ORG:8080/x")).source == "example.org"
    for url in ("javascript:alert(1)", "not a url", "ftp://files.example.org/x", "https://[::1"):
        assert source_from_url(url) is None
    assert article_from_record(record()).source is None


def test_front_matter_dates_and_authors(tmp_path: Path) -> None:
    folder = FIXTURES / "dates"
    [dated] = list(read_file(SourceFile(folder / "dated.md", folder)))
    assert not isinstance(dated, Skipped), dated
    assert dated.published_at == "2023-05-02T16:30:00Z"
    assert dated.author == "Mira Okafor, Tomas Reyes"
    assert dated.source == "coastal-ledger.example"
    [far] = list(read_file(SourceFile(folder / "far-future.md", folder)))
    assert isinstance(far, Skipped)
    assert far.location == str(folder / "far-future.md")
    assert far.reason.startswith("date: 99999999999999 is not a plausible Unix timestamp")
    assert far.doc_id == "far-future.md"
    plain = tmp_path / "plain.md"
    plain.write_text("---\ntitle: Dated by YAML\ndate: 2023-06-16\n---\nBody of the story.\n")
    [a] = list(read_file(SourceFile(plain, tmp_path)))
    assert not isinstance(a, Skipped) and a.published_at == "2023-06-16T00:00:00Z"


def test_jsonl_reader_skips_each_bad_record_with_file_line_id_and_reason() -> None:
    folder = FIXTURES / "dates"
    files, _ = discover([folder / "records.jsonl"])
    items = list(read_sources(files))
    articles = {i.doc_id: i for i in items if not isinstance(i, Skipped)}
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert articles["ms-epoch"].published_at == JUNE_1_2023
    assert articles["feed-style"].published_at == "2023-06-16T00:00:00Z"
    assert articles["feed-style"].source == "example-news.com"
    assert articles["evidence-style"].published_at == "2023-07-28T00:00:00Z"
    assert articles["evidence-style"].text == "The face coverings are made of UV-resistant material."
    path = folder / "records.jsonl"
    assert [(s.location, s.doc_id) for s in skipped] == [
        (f"{path}:2", "far-future-number"), (f"{path}:3", "boolean-date"),
    ]
    assert skipped[0].reason.startswith("published_at: 1e+20 is not a plausible Unix timestamp")
    assert skipped[1].reason == "published_at: expected a date, got a boolean (True)"
    # every item names the file it came from; skips with a known id protect only that id from --prune
    assert {i.source_file for i in items} == {str(path.resolve())}
    assert unreadable_files(skipped) == set()


def test_lines_without_a_readable_id_mark_their_file_for_prune(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"id": "kept", "text": "A good record."}\n'
        '{"id": "cut-off", "text": "The line ends\n'
        + "[" * 100_000 + "\n"  # nested deeper than the JSON parser's recursion limit
        + '["not", "an", "object"]\n'
        '{"text": "A record without any id."}\n',
        encoding="utf-8",
    )
    items = list(read_file(SourceFile(path, tmp_path)))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [s.location for s in skipped] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert "nested too deeply" in skipped[1].reason
    assert all(s.doc_id is None for s in skipped)
    assert unreadable_files(skipped) == {str(path.resolve())}


def test_cli_ingest_skips_bad_dates_and_indexes_the_rest(settings: IndexerSettings, tmp_path: Path) -> None:
    folder = tmp_path / "dates"
    shutil.copytree(FIXTURES / "dates", folder)
    result = run_cli(settings, "ingest", "--progress-interval", "0", str(folder), cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    records = folder / "records.jsonl"
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert skipped == [
        f"skipped {folder / 'far-future.md'}: date: 99999999999999 is not a plausible Unix timestamp (seconds, "
        "or milliseconds above 1e11): it falls in the year 5138, outside 1900-2199",
        f"skipped {records}:2: published_at: 1e+20 is not a plausible Unix timestamp (seconds, or milliseconds "
        "above 1e11)",
        f"skipped {records}:3: published_at: expected a date, got a boolean (True)",
    ]
    assert result.stdout.startswith("4 indexed, 0 replaced, 0 unchanged, 3 skipped, 0 deleted")
    # stderr is a pipe here: progress comes as plain lines, the last one marked done
    progress = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert progress and progress[-1].startswith("progress: 7/7 docs (100%), ") and progress[-1].endswith("(done)")
    assert "chunks/s" in progress[-1]
    stored = {p.payload["doc_id"]: p.payload for p in read_points(settings, False)}
    assert set(stored) == {"ms-epoch", "feed-style", "evidence-style", "dated.md"}
    assert stored["ms-epoch"]["published_at"] == JUNE_1_2023
    assert stored["feed-style"]["source"] == "example-news.com"
    assert stored["dated.md"]["author"] == "Mira Okafor, Tomas Reyes"
