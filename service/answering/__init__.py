"""Answering questions: the question pipeline, its composers and the citation verifier."""

from service.answering.extractive import ExtractiveComposer
from service.answering.pipeline import Ask, Composer, QuestionPipeline, Retrieved
from service.answering.types import NOT_FOUND_ANSWER, Answer, AnswerPiece, Citation, Draft

__all__ = ["NOT_FOUND_ANSWER", "Answer", "AnswerPiece", "Ask", "Citation", "Composer", "Draft",
           "ExtractiveComposer", "QuestionPipeline", "Retrieved"]
