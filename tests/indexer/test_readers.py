"""Reading real files into articles: every supported format, metadata, ids relative to the ingested root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.articles import Article
from indexer.readers import Skipped, SourceFile, discover, read_file, read_sources
from tests.indexer.helpers import FIXTURES


def read_folder(root: Path) -> tuple[dict[str, Article], list[Skipped]]:
    files, missing = discover([root])
    articles: dict[str, Article] = {}
    skipped: list[Skipped] = list(missing)
    for item in read_sources(files):
        if isinstance(item, Article):
            articles[item.doc_id] = item
        else:
            skipped.append(item)
    return articles, skipped


@pytest.fixture(scope="module")
def samples() -> dict[str, Article]:
    from tests.conftest import SAMPLES

    articles, skipped = read_folder(SAMPLES)
    assert skipped == []
    return articles


def test_txt_first_non_empty_line_is_the_title(samples: dict[str, Article]) -> None:
    a = samples["volcano-alert.txt"]
    assert a.title == "Authorities raise alert level as Mount Teravo rumbles"
    assert a.text.startswith("Volcanologists raised the alert level for Mount Teravo")
    assert a.title not in a.text
    assert "Source link" not in a.text  # the footer line of the sample
    assert (a.url, a.source, a.author, a.published_at) == (None, None, None, None)


def test_txt_with_bom_crlf_and_leading_blank_lines() -> None:
    a = read_one(FIXTURES / "odd" / "news" / "crlf-bom.txt", FIXTURES / "odd")
    assert a.title == "Night trains return to the coast route"
    assert a.text == "Night trains will run on the coast route again from June, the rail operator said."


def test_markdown_front_matter_fills_metadata_and_heading_is_not_repeated(samples: dict[str, Article]) -> None:
    a = samples["harbor-reopens.md"]
    assert a.title == "Storm-damaged Port of Kestrel Bay reopens to cargo ships"
    assert a.source == "Coastal Ledger"
    assert a.author == "Mira Okafor"
    assert a.url == "https://example.org/coastal-ledger/kestrel-bay-port-reopens"
    assert a.published_at == "2026-03-14T00:00:00Z"
    # the '# title' heading that repeats the front-matter title is the title, not body text
    assert a.text.startswith("The Port of Kestrel Bay reopened")
    assert "#" not in a.text
    # boilerplate at the end of the file is gone, the story's last sentence is kept
    assert "Photo credit" not in a.text and "newsletter" not in a.text
    assert a.text.endswith("once a second crane arrives from Rotterdam.")
    # a plain (un-hashed) first line equal to the front-matter title is dropped the same way
    b = samples["library-funding.md"]
    assert b.text.startswith("The Riverside city council voted 7 to 2")
    assert "All rights reserved" not in b.text


def test_markdown_hash_heading_without_front_matter() -> None:
    a = read_one(FIXTURES / "odd" / "news" / "heading-only.md", FIXTURES / "odd")
    assert a.title == "Tram line extension approved"
    assert a.text == (
        "The regional council approved a four-kilometre extension of the tram line on Thursday.\n\n"
        "Construction starts next spring."
    )


def test_html_via_trafilatura_keeps_the_story_and_its_metadata(samples: dict[str, Article]) -> None:
    a = samples["solar-farm.html"]
    assert a.title == "Desert solar farm begins supplying power to 90,000 homes"
    assert a.source == "Energy Wire"
    assert a.url == "https://example.org/energy-wire/desert-solar-farm"
    assert a.author == "Lena Brandt"
    assert a.published_at is not None and a.published_at.startswith("2026-01-22T")
    assert a.text.startswith("The Sol Arena solar farm in the Varga desert")
    assert "cut the region's gas use for power generation by roughly a fifth." in a.text
    for chrome in ("Home", "Subscribe", "cookie", "All rights reserved", "Privacy policy"):
        assert chrome not in a.text


def test_html_page_with_nav_cookie_banner_and_footer() -> None:
    a = read_one(FIXTURES / "odd" / "news" / "2023" / "page.htm", FIXTURES / "odd")
    assert a.doc_id == "news/2023/page.htm"
    assert a.title == "Glacier retreat speeds up, survey finds"
    assert a.source == "Alpine Times"
    assert a.url == "https://example.org/alpine-times/glacier-retreat"
    assert a.published_at == "2023-09-18T00:00:00Z"
    assert a.text.splitlines()[0].startswith("The Morteratsch glacier lost 42 metres")
    assert a.text.endswith("be moved because of falling rocks.")
    for chrome in ("Home", "Log in", "cookies", "Accept", "Copyright", "Privacy", "Terms"):
        assert chrome not in a.text


def test_jsonl_plain_records_text_or_body_and_extra_fields_in_metadata(samples: dict[str, Article]) -> None:
    rail = samples["wire-rail-strike"]
    assert rail.title == "Rail workers call off strike after pay deal"
    assert rail.source == "Metro Wire" and rail.author == "Jonas Eklund"
    assert rail.url == "https://example.org/wire/rail-strike-called-off"
    assert rail.published_at == "2026-04-07T16:00:00Z"
    assert rail.metadata == {"section": "business"}
    museum = samples["wire-museum-theft"]  # 'body' instead of 'text', date only
    assert museum.text.startswith("Police recovered a 14th-century illuminated manuscript")
    assert museum.published_at == "2026-05-16T00:00:00Z"
    assert museum.author is None
    assert museum.metadata == {"section": "culture"}


def test_jsonl_beir_records_lift_metadata_fields() -> None:
    articles, skipped = read_folder(FIXTURES / "odd")
    assert skipped == []
    a = articles["beir-001"]
    assert a.title == "Wheat shipments leave Odesa port"
    assert a.url == "https://example.org/beir/wheat"
    assert a.source == "Harbour Daily"
    assert a.author == "Ana Pop, Li Wei"
    assert a.published_at == "2023-02-07T08:15:00Z"  # +02:00 converted to UTC
    assert a.metadata == {"category": "business"}
    assert a.text == "Three ships carrying wheat left the port of Odesa on Tuesday, the port authority said.\n\n" \
        "The cargo is bound for Egypt and Lebanon."
    numeric = articles["42"]
    assert numeric.title == "" and numeric.text.startswith("A record whose id is a number")


def test_doc_ids_are_relative_to_the_ingested_root_and_folders_are_recursive(tmp_path: Path) -> None:
    articles, _ = read_folder(FIXTURES / "odd")
    assert set(articles) == {
        "beir-001", "42", "news/2023/page.htm", "news/crlf-bom.txt", "news/heading-only.md",
    }
    assert {a.origin for a in articles.values()} == {str((FIXTURES / "odd").resolve())}
    # the same tree copied elsewhere gives the same ids: they do not depend on where the root is
    copy = tmp_path / "elsewhere" / "odd"
    shutil.copytree(FIXTURES / "odd", copy)
    moved, _ = read_folder(copy)
    assert set(moved) == set(articles)
    # ingesting a sub-folder makes ids relative to that sub-folder; a single file is named by itself
    sub, _ = read_folder(copy / "news")
    assert "2023/page.htm" in sub and "crlf-bom.txt" in sub
    files, _ = discover([copy / "news" / "heading-only.md"])
    assert [f.doc_id for f in files] == ["heading-only.md"]


def test_hidden_and_unsupported_files_are_not_read(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("Hidden\n\nnot an article.\n")
    (tmp_path / ".draft.txt").write_text("Draft\n\nnot yet.\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "story.txt").write_text("Title\n\nThe story.\n")
    files, problems = discover([tmp_path])
    assert [f.doc_id for f in files] == ["story.txt"]
    assert problems == []


def read_one(path: Path, root: Path) -> Article:
    items = list(read_file(SourceFile(path, root)))
    assert len(items) == 1 and isinstance(items[0], Article), items
    return items[0]
