"""Recency: half-life parsing, the question's intent, the decay arithmetic and the anchor date (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.retrieval.recency import (
    MISSING_DATE_DECAY,
    anchored_as_of,
    apply_recency,
    decay,
    parse_half_life,
    recency_intent,
    resolve_half_life,
)

AS_OF = datetime(2024, 2, 7, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("2w", timedelta(weeks=2)),
     ("1y", timedelta(days=365)), (" 1.5D ", timedelta(days=1.5)), ("off", None), ("OFF", None), (None, None)],
)
def test_parse_half_life(text: str | None, expected: timedelta | None) -> None:
    assert parse_half_life(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "30 days", "-3d", "0d", "30m", "soon"])
def test_parse_half_life_rejects_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="recency"):
        parse_half_life(text)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("What is the latest on Russia and Mali?", True),
        ("Who currently leads Mali?", True),
        ("Are Wagner fighters still in Mali?", True),
        ("What happened in Bamako this week?", None),  # dates an event, not a state: off (see _RECENT)
        ("Any recent grain deliveries to Mali?", None),
        ("What is Mali's army doing now?", True),
        ("What did Russia promise Mali in 2023?", False),
        ("What did Lavrov say in February?", False),
        ("What happened on 2023-02-07?", False),
        ("Which countries did Putin offer grain in May 2023?", False),
        ("What was agreed in early May?", False),
        ("What were the latest figures for 2022?", False),  # a stated date wins
        ("What did Russia promise Mali?", None),
        ("Who may be affected by the strike?", None),  # the verb 'may' is not the month
        ("How many of the 1500 residents left?", None),
        ("Did the known facts change?", None),  # 'now' only as a word
    ],
)
def test_recency_intent(question: str, intent: bool | None) -> None:
    assert recency_intent(question) is intent


def test_resolve_half_life_explicit_beats_the_question() -> None:
    assert resolve_half_life(None, "What is the latest on Mali?") == timedelta(days=30)
    assert resolve_half_life("auto", "What is the latest on Mali?", default="7d") == timedelta(days=7)
    assert resolve_half_life(None, "What did Russia promise Mali?") is None
    assert resolve_half_life(None, "What is the latest on Mali in 2023?") is None
    assert resolve_half_life("off", "What is the latest on Mali?") is None
    assert resolve_half_life("2w", "What did Russia promise Mali in 2023?") == timedelta(weeks=2)


def test_decay_halves_every_half_life() -> None:
    hl = timedelta(days=30)
    assert decay(AS_OF, AS_OF, hl) == pytest.approx(1.0)
    assert decay(AS_OF - 30 * DAY, AS_OF, hl) == pytest.approx(0.5)
    assert decay(AS_OF - 60 * DAY, AS_OF, hl) == pytest.approx(0.25)
    assert decay(AS_OF - 45 * DAY, AS_OF, hl) == pytest.approx(0.5 ** 1.5)
    assert decay(AS_OF - 365 * DAY, AS_OF, hl) == pytest.approx(0.5 ** (365 / 30))


def test_decay_of_future_undated_and_string_dates() -> None:
    hl = timedelta(days=30)
    assert decay(AS_OF + 400 * DAY, AS_OF, hl) == 1.0
    assert decay(None, AS_OF, hl) == MISSING_DATE_DECAY == 0.5
    assert decay("not a date", AS_OF, hl) == MISSING_DATE_DECAY
    assert decay("2024-01-08T12:00:00Z", AS_OF, hl) == pytest.approx(0.5)  # the indexer's payload format
    naive = datetime(2024, 1, 8, 12, 0)  # naive = UTC
    assert decay(naive, AS_OF, hl) == pytest.approx(0.5)
    assert decay(datetime(2024, 1, 8, 13, 0, tzinfo=UTC), AS_OF.replace(tzinfo=None), hl) < 0.51
    with pytest.raises(ValueError):
        decay(AS_OF, AS_OF, timedelta(0))


def test_apply_recency_lets_the_newer_of_two_equal_articles_win() -> None:
    dates = ["2023-02-07T00:00:00Z", "2024-02-07T00:00:00Z", None]
    off = apply_recency([0.8, 0.8, 0.8], dates, AS_OF, None)
    assert off == [0.8, 0.8, 0.8]
    on = apply_recency([0.8, 0.8, 0.8], dates, AS_OF, timedelta(days=30), weight=0.5)
    assert on[1] > on[2] > on[0]
    assert on[1] == pytest.approx(0.8 * (0.5 + 0.5 * 0.5 ** (0.5 / 30)))
    assert on[2] == pytest.approx(0.8 * 0.75)
    # a much more relevant old article still beats a fresh, barely relevant one: recency is a factor, not a sort
    assert apply_recency([0.9, 0.3], dates[:2], AS_OF, timedelta(days=30))[0] > 0.3
    assert apply_recency([0.5, 0.2], dates[:2], AS_OF, timedelta(days=30), weight=0.0) == [0.5, 0.2]


def test_apply_recency_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="dates"):
        apply_recency([1.0, 2.0], [None], AS_OF, DAY)
    with pytest.raises(ValueError, match="weight"):
        apply_recency([1.0], [None], AS_OF, DAY, weight=1.5)
    with pytest.raises(ValueError, match="weight"):
        apply_recency([1.0], [None], AS_OF, DAY, weight=-0.1)


def test_anchored_as_of_measures_age_from_the_newest_relevant_candidate() -> None:
    # the Mali samples: relevance and dates of "What is the latest on Russia and Mali?" (rounded)
    scores = [0.998, 0.959, 0.845, 0.458, 0.197, 0.047]
    dates = ["2023-02-07T00:00:00Z", "2024-02-07T00:00:00Z", "2023-07-27T00:00:00Z", "2023-01-31T11:00:00Z",
             None, "2026-03-14T00:00:00Z"]  # an irrelevant fresh article last
    now = datetime(2026, 6, 1, tzinfo=UTC)
    hl = timedelta(days=30)
    flat = apply_recency(scores, dates, now, hl)
    assert flat[0] > flat[1]  # from 'now' both are ~0 decay: the older, more relevant one still leads
    anchor = anchored_as_of(scores, dates, now)
    assert anchor == datetime(2024, 2, 7, tzinfo=UTC)
    anchored = apply_recency(scores, dates, anchor, hl)
    assert anchored[1] > anchored[0] and anchored[1] == pytest.approx(0.959)
    assert anchored_as_of(scores, dates, datetime(2023, 12, 1, tzinfo=UTC)) == datetime(2023, 7, 27, tzinfo=UTC)
    assert anchored_as_of([1.0, 0.9], [None, "bad"], now) == now
    assert anchored_as_of([], [], now) == now


# --- the formula evaluated by Qdrant equals the in-memory arithmetic -----------------------------------------
DATES: list[str | None] = [
    "2024-02-07T12:00:00Z",  # as_of itself
    "2024-02-01T00:00:00Z",
    "2024-01-08T12:00:00Z",  # one half-life old
    "2023-02-07T00:00:00Z",  # a year old
    "2025-06-01T00:00:00Z",  # after as_of
    None,                    # undated (key absent)
]
