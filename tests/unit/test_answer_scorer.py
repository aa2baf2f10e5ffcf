"""The answer scorer's loader: a model folder that lacks a file is refused with a message naming it (no trained
scorer ships yet; ``NEWSDESK_ANSWER_SCORER=learned`` needs ``NEWSDESK_ANSWER_SCORER_MODEL``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.answering.scorer import AnswerScorer, ScorerError
from service.context import build_extractive
from service.settings import ServiceSettings


def test_an_incomplete_model_folder_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScorerError, match=r"openvino_model\.xml"):
        AnswerScorer(tmp_path)


def test_the_learned_scorer_without_a_model_fails_at_start_with_that_message(tmp_path: Path) -> None:
    settings = ServiceSettings(_env_file=None, answer_scorer="learned", answer_scorer_model=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(ScorerError, match="not found"):
        build_extractive(settings, encoder=None)  # type: ignore[arg-type]  # never reached: the model check comes first
