"""The default OpenVINO backend gives the same embeddings as plain PyTorch (what justifies it as default)."""

from __future__ import annotations

import numpy as np

from indexer.articles import Article
from indexer.chunking import Chunker
from indexer.embedding import Embedder
from indexer.readers import discover, read_sources
from indexer.settings import IndexerSettings
from tests.conftest import SAMPLES


def sample_chunk_texts(settings: IndexerSettings) -> list[str]:
    files, _ = discover([SAMPLES])
    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap)
    texts: list[str] = []
    for article in read_sources(files):
        assert isinstance(article, Article)
        texts += [f"{article.title}\n{c.text}" for c in chunker.chunk(article.text)]
        # smaller pieces too, so that short and long inputs (padding inside one batch) are both compared
        texts += [s for s in article.text.split("\n\n") if s]
    return texts


def test_openvino_matches_torch_per_chunk(base_settings: IndexerSettings, embedder: Embedder) -> None:
    assert base_settings.embed_backend == "openvino" and embedder.backend == "openvino"
    torch_embedder = Embedder(base_settings.model_copy(update={"embed_backend": "torch"}))
    texts = sample_chunk_texts(base_settings)
    assert len(texts) >= 20
    ov = embedder.encode(texts)
    pt = torch_embedder.encode(texts)
    assert ov.shape == pt.shape == (len(texts), 384)
    cosines = np.sum(ov * pt, axis=1)  # both normalised
    assert float(cosines.min()) > 0.99, cosines
    # and the two agree on neighbours: each text's nearest other text is the same, or the two backends' choices
    # are a near-tie (within 0.01 cosine) that float rounding may break either way
    ov_sim, pt_sim = ov @ ov.T, pt @ pt.T
    np.fill_diagonal(ov_sim, -np.inf)
    np.fill_diagonal(pt_sim, -np.inf)
    ov_nn, pt_nn = ov_sim.argmax(axis=1), pt_sim.argmax(axis=1)
    rows = np.arange(len(texts))
    assert np.all(ov_sim[rows, pt_nn] >= ov_sim[rows, ov_nn] - 0.01)
    assert np.all(pt_sim[rows, ov_nn] >= pt_sim[rows, pt_nn] - 0.01)
    assert float(np.mean(ov_nn == pt_nn)) >= 0.9
