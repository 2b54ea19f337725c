"""The fast replay is py-fsrs's arithmetic exactly: compared with py-fsrs over random histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from flashcards.replay import Replayer
from flashcards.scheduler import make_scheduler, review
from flashcards.settings import DeckSettings, parse_steps
from flashcards.simulate import TRUE_PARAMETERS
from flashcards.states import CardState

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
GAPS = [0, 30, 600, 3600, 20 * 3600, 86400, 86400 + 1, 3 * 86400, 40 * 86400, 400 * 86400, 4000 * 86400]

parameters = st.tuples(
    *(
        st.floats(low, high, allow_nan=False)
        for low, high in zip(LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    )
)
histories = st.lists(st.tuples(st.integers(1, 4), st.sampled_from(GAPS)), max_size=30)
steps = st.sampled_from(["1m 10m", "", "5m", "1m 10m 1h 1d"])


def reference(deck: DeckSettings, history: list[tuple[int, int]]) -> tuple[object, ...]:
    """What the answers give through py-fsrs (fuzz off), one review at a time."""
    scheduler = make_scheduler(deck, fuzz=False)
    state, at = CardState(), T0
    for rating, gap in history:
        at += timedelta(seconds=gap)
        state = review(scheduler, state, rating, at)
    return (state.state, state.step, state.stability, state.difficulty, state.reps, state.lapses)


def fast(deck: DeckSettings, history: list[tuple[int, int]]) -> tuple[object, ...]:
    at, reviews = T0, []
    for rating, gap in history:
        at += timedelta(seconds=gap)
        reviews.append((rating, at))
    return Replayer(make_scheduler(deck, fuzz=False)).replay(reviews)


@hsettings(max_examples=300, deadline=None)
@given(history=histories, learning=steps, relearning=steps, weights=st.sampled_from([None, TRUE_PARAMETERS]))
def test_fast_replay_is_py_fsrs_exactly(
    history: list[tuple[int, int]], learning: str, relearning: str, weights: tuple[float, ...] | None
) -> None:
    deck = DeckSettings(
        learning_steps=parse_steps(learning), relearning_steps=parse_steps(relearning), parameters=weights
    )
    assert fast(deck, history) == reference(deck, history)


@hsettings(max_examples=200, deadline=None)
@given(history=histories, weights=parameters, retention=st.floats(0.7, 0.97))
def test_fast_replay_is_py_fsrs_exactly_for_any_parameters(
    history: list[tuple[int, int]], weights: tuple[float, ...], retention: float
) -> None:
    deck = DeckSettings(parameters=weights, desired_retention=retention)
    assert fast(deck, history) == reference(deck, history)


@pytest.mark.parametrize("rating", [1, 2, 3, 4])
def test_a_long_run_of_one_rating_matches(rating: int) -> None:
    """Stability at its ceiling, difficulty at its bounds: the clamps agree too."""
    history = [(rating, 0)] + [(rating, 30 * 86400)] * 40
    deck = DeckSettings(parameters=DEFAULT_PARAMETERS)
    assert fast(deck, history) == reference(deck, history)


def test_no_reviews_is_a_new_card() -> None:
    assert Replayer(make_scheduler(DeckSettings(), fuzz=False)).replay([]) == (0, None, None, None, 0, 0)
