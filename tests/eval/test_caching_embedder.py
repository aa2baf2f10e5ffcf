"""The eval harness's embedding cache serves queries too: a second run's query vectors are the first run's, bit
for bit (a model call could land on the other OpenVINO compilation and break near-ties between runs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.index import CachingEmbedder
from indexer.settings import IndexerSettings


def test_query_vectors_come_from_the_cache(base_settings: IndexerSettings, tmp_path: Path) -> None:
    first = CachingEmbedder(base_settings, tmp_path)
    vec = first.encode_query("What did Russia promise Mali?")
    first.save()
    second = CachingEmbedder(base_settings, tmp_path)
    second._encode_pooled = None  # type: ignore[assignment,method-assign]  # any model call would fail now
    second._encode_locked = None  # type: ignore[assignment,method-assign]
    again = second.encode_query("What did Russia promise Mali?")
    assert np.array_equal(vec, again)
    assert abs(float(np.linalg.norm(again)) - 1.0) < 1e-5
