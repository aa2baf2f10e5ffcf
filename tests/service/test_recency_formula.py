"""Recency inside Qdrant's query API (a real server, ``rrf`` fusion) against the same arithmetic in Python.

On a server with a Qdrant-side fusion the decay runs as a ``FormulaQuery`` over the fused ``$score``; everywhere
else :func:`by_recency` applies it to the fused candidates. Both must give the same ranking and scores for the
same candidates, and the "latest" question must cite the newer of the two Mali articles through real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from indexer.collection import open_store
from indexer.embedding import Embedder
from indexer.pipeline import Indexer
from service.retrieval.retriever import RECENCY_DEPTH, Retriever, by_recency
from service.settings import ServiceSettings
from tests.conftest import SAMPLES
from tests.qdrant_server import QdrantServer, QdrantUnavailable
from tests.service.helpers import ServerThread

pytestmark = pytest.mark.server

YEAR_ON = "mali-one-year-on.txt"
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def server_settings(base_settings: ServiceSettings, embedder: Embedder) -> Iterator[ServiceSettings]:
    try:
        qdrant = QdrantServer().__enter__()
    except QdrantUnavailable as exc:
        pytest.skip(str(exc))
    try:
        settings = base_settings.model_copy(update={"qdrant_url": qdrant.url, "collection": "recency-formula",
                                                    "fusion": "rrf"})
        indexer = Indexer(settings, embedder=embedder)
        try:
            assert indexer.ingest_paths([SAMPLES]).count("indexed") >= 10
        finally:
            indexer.close()
        yield settings
    finally:
        qdrant.close()


@pytest.mark.parametrize("query", ["What did Russia promise Mali?", "Port of Kestrel Bay cargo ships",
                                   "library funding vote"])
@pytest.mark.parametrize("recency", ["30d", "2y"])
def test_the_formula_ranks_as_the_python_arithmetic(
    server_settings: ServiceSettings, embedder: Embedder, query: str, recency: str
) -> None:
    store = open_store(server_settings)
    try:
        retriever = Retriever(server_settings, store, embedder)
        formulas: list[object] = []
        fused = store.query_fused

        def spy(*args: object, **kwargs: object) -> object:
            formulas.append(kwargs.get("recency"))
            return fused(*args, **kwargs)  # type: ignore[arg-type]

        store.query_fused = spy  # type: ignore[method-assign]
        in_qdrant = retriever.search(query, limit=5, recency=recency, as_of=AS_OF).hits
        assert len(formulas) == 2 and formulas[0] is None and formulas[1] is not None  # ranked inside Qdrant
        store.query_fused = fused  # type: ignore[method-assign]
        candidates = retriever.search(query, limit=5 * RECENCY_DEPTH, recency="off").hits
        half_life = timedelta(days=30) if recency == "30d" else timedelta(days=730)
        in_python = by_recency(candidates, half_life, AS_OF, 0.5)[:5]
    finally:
        store.close()
    assert [h.score for h in in_qdrant] == pytest.approx([h.score for h in in_python], rel=1e-4, abs=1e-6)
    # near-ties (same score within float noise) may come back in either order
    assert {h.chunk_id for h in in_qdrant} == {h.chunk_id for h in in_python}
    changed = [a.chunk_id for a, b in zip(in_qdrant, candidates, strict=False) if a.chunk_id != b.chunk_id]
    assert changed or recency == "2y" or query != "What did Russia promise Mali?"


def test_latest_question_cites_the_newer_article_on_a_server(
    server_settings: ServiceSettings, embedder: Embedder
) -> None:
    with ServerThread(server_settings, embedder) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        search = c.post("/v1/search", json={"query": "What did Russia promise Mali?", "recency": "30d",
                                            "collapse": True, "limit": 3}).json()
        assert search["hits"][0]["doc_id"] == YEAR_ON and search["recency"] == "30d"
        latest = c.post("/v1/ask", json={"question": "What is the latest on Russia's ties with Mali?"}).json()
        assert latest["found"] and latest["citations"][0]["doc_id"] == YEAR_ON
