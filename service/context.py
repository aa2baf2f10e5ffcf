"""What the service builds once per process and hands to every request: store, encoder, retriever, question
pipeline and indexer (``Services``), and the Litestar dependency providers that inject them into handlers.

The store and the encoder are thread-safe themselves (either store backend, ``indexer.collection.open_store``:
the Edge engine searches from any thread and serialises writes; ``indexer.embedding.Embedder`` runs OpenVINO inferences in parallel, one per stream, two on two CPUs).
Handlers run in Litestar's thread pool (``sync_to_thread``), so two requests embed at once on two cores while
the event loop parses the next; what stays serial is Python holding the GIL (HTTP parsing, routing, validation,
payload conversion).
Writes are additionally serialised among themselves (``write_lock``): the indexer decides replace/unchanged
from a scan of the documents' state, which a concurrent write could make stale.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

from indexer.collection import Store, open_store
from indexer.embedding import Embedder, usable_cpus
from indexer.payload import DocumentSummary, article_text
from indexer.pipeline import Indexer, IngestReport
from service.answering import ExtractiveComposer, QuestionPipeline
from service.answering.learned import LearnedComposer
from service.answering.scorer import BUNDLED, AnswerScorer
from service.errors import ServiceUnavailable
from service.ports import Encoder
from service.retrieval import Retriever
from service.settings import ServiceSettings

log = logging.getLogger("newsdesk.service")

API_ORIGIN = "api"
"""The ``origin`` of documents added through ``POST /v1/documents``."""


class Services:
    """The process's shared objects. A plain class (not a dataclass): Litestar hands injected values through
    as they are only for types it does not know how to convert."""

    def __init__(self, settings: ServiceSettings, store: Store, encoder: Embedder, retriever: Retriever,
                 pipeline: QuestionPipeline, indexer: Indexer) -> None:
        self.settings = settings
        self.store = store
        self.encoder = encoder
        self.retriever = retriever
        self.pipeline = pipeline
        self.indexer = indexer
        self.write_lock = threading.Lock()

    # --- the write side, serialised ---------------------------------------------------------------------------
    def ingest(self, records: list[Any]) -> IngestReport:
        with self.write_lock:
            return self.indexer.ingest_records(records, API_ORIGIN)

    def delete(self, doc_id: str) -> int:
        with self.write_lock:
            return self.indexer.delete([doc_id])[doc_id]

    def document(self, doc_id: str) -> DocumentSummary | None:
        return self.store.document(doc_id)

    def article_text(self, doc_id: str) -> str:
        """The cleaned article rebuilt from its stored chunks (citation offsets index into it)."""
        return article_text(self.store.document_chunks(doc_id))

    def close(self) -> None:
        self.store.close()


def build_services(settings: ServiceSettings, encoder: Embedder | None = None) -> Services:
    """Open the store and load the model. Raises StoreLockedError / EmbeddingError with a readable message.

    The store is opened first: when another process holds it, that is reported before seconds of model
    loading. ``encoder`` lets a caller (tests, benchmarks) share an already loaded model.
    """
    store = open_store(settings)
    try:
        model = encoder if encoder is not None else Embedder(settings)
    except BaseException:
        store.close()
        raise
    retriever = Retriever.for_store(settings, store, model)
    pipeline = build_pipeline(settings, retriever)
    indexer = Indexer(settings, store=store, embedder=model)
    log.info("ready: collection %r, model %s", settings.collection, model.name)
    return Services(settings, store, model, retriever, pipeline, indexer)


def build_extractive(settings: ServiceSettings, encoder: Encoder) -> ExtractiveComposer | LearnedComposer:
    """The extractive composer these settings ask for: the learned reader (default) or the rules baseline."""
    if settings.answer_scorer == "rules":
        return ExtractiveComposer(encoder)
    threads = settings.embed_threads or usable_cpus()
    ov_config = {k: str(v) for k, v in settings.embed_ov_config.items() if k == "INFERENCE_PRECISION_HINT"}
    scorer = AnswerScorer(settings.answer_scorer_model or BUNDLED, threads=threads, ov_config=ov_config)
    return LearnedComposer(scorer, settings.answer_candidates)


def build_pipeline(settings: ServiceSettings, retriever: Retriever) -> QuestionPipeline:
    """The question pipeline for these settings: the extractive composer always; the generated one (and the
    support checker its citations need) when a language model is configured. Used by the service and eval."""
    extractive = build_extractive(settings, retriever.encoder)
    if not settings.llm_configured:
        return QuestionPipeline(retriever, extractive, prefer=settings.composer)
    from service.answering.generated import GeneratedComposer  # the openai client only when a model is set
    from service.answering.rewrite import ModelRewriter
    from service.answering.support import SupportChecker

    checker = SupportChecker(retriever.encoder)
    generated = GeneratedComposer(settings, checker, extractive)
    rewriter = ModelRewriter(settings) if settings.llm_rewrite else None
    log.info("language model: %s at %s", settings.llm_model, settings.llm_base_url)
    return QuestionPipeline(retriever, extractive, generated, prefer=settings.composer, support=checker,
                            rewriter=rewriter)


# --- dependency injection -------------------------------------------------------------------------------------
def provide_services(state: State) -> Services:
    services: Services | None = state.get("newsdesk")
    if services is None:
        raise ServiceUnavailable("the service is starting or failed to start")
    return services


def provide_settings(services: Services) -> ServiceSettings:
    return services.settings


def provide_pipeline(services: Services) -> QuestionPipeline:
    return services.pipeline


def provide_retriever(services: Services) -> Retriever:
    return services.retriever


DEPENDENCIES = {
    "services": Provide(provide_services, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "pipeline": Provide(provide_pipeline, sync_to_thread=False),
    "retriever": Provide(provide_retriever, sync_to_thread=False),
}
