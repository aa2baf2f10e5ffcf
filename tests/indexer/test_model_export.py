"""A fresh machine exports the OpenVINO model once into the cache, even with warnings as errors (the trace warns)."""

from pathlib import Path

from indexer.embedding import Embedder
from indexer.settings import IndexerSettings


def test_export_under_warnings_as_errors(tmp_path: Path) -> None:
    e = Embedder(IndexerSettings(_env_file=None, model_cache_dir=tmp_path / "models"))
    assert e.encode(["hello world"]).shape == (1, e.dim)
    assert list((tmp_path / "models").glob("*/openvino/openvino_model.xml"))
