"""The default OpenVINO backend gives the same embeddings as plain PyTorch (what justifies it as default)."""

from __future__ import annotations

import numpy as np

from indexer.articles import Article
from indexer.chunking import Chunker
from indexer.embedding import Embedder
from indexer.readers import discover, read_sources
from indexer.settings import Settings
from tests.conftest import SAMPLES


def sample_chunk_texts(settings: Settings) -> list[str]:
    files, _ = discover([SAMPLES])
    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap)
    texts: list[str] = []
    for article in read_sources(files):
        assert isinstance(article, Article)
        texts += [f"{article.title}\n{c.text}" for c in chunker.chunk(article.text)]
        # smaller pieces too, so that short and long inputs (padding inside one batch) are both compared
        texts += [s for s in article.text.split("\n\n") if s]
    return texts


def test_openvino_matches_torch_per_chunk(base_settings: Settings, embedder: Embedder) -> None:
    assert base_settings.embed_backend == "openvino" and embedder.backend == "openvino"
    torch_embedder = Embedder(base_settings.model_copy(update={"embed_backend": "torch"}))
    texts = sample_chunk_texts(base_settings)
    assert len(texts) >= 20
    ov = embedder.encode(texts)
    pt = torch_embedder.encode(texts)
    assert ov.shape == pt.shape == (len(texts), 384)
    cosines = np.sum(ov * pt, axis=1)  # both normalised
    assert float(cosines.min()) > 0.99, cosines
    # and the two rank the same neighbours: same nearest text for every text
    np.testing.assert_array_equal(
        np.argsort(-(ov @ ov.T), axis=1)[:, 1], np.argsort(-(pt @ pt.T), axis=1)[:, 1]
    )
