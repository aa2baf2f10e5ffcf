"""A record the store could not keep is that record's problem: refused with a reason, before anything is written."""

from __future__ import annotations

import pytest

from indexer.articles import MAX_METADATA_DEPTH, InputError, article_from_record


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_deeply_nested_metadata_is_refused_by_name() -> None:
    with pytest.raises(InputError, match="metadata: nested deeper than"):
        article_from_record({"id": "deep", "text": "A real sentence of text.", "metadata": {"x": _nested(600)}})


def test_metadata_at_the_depth_limit_is_kept() -> None:
    # the record itself is one level (metadata object) around the nested value
    a = article_from_record({"id": "ok", "text": "A real sentence of text.",
                             "metadata": {"x": _nested(MAX_METADATA_DEPTH - 1)}})
    assert a.metadata["x"] == _nested(MAX_METADATA_DEPTH - 1)
