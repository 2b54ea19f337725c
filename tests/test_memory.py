"""The FSRS-6 memory model on floats is py-fsrs's arithmetic, bit for bit."""

from __future__ import annotations

import fsrs
import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from flashcards.memory import Model
from flashcards.simulate import TRUE_PARAMETERS
from flashcards.states import STABILITY_MAX

parameters = st.tuples(
    *(
        st.floats(low, high, allow_nan=False)
        for low, high in zip(LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    )
)
ratings = st.sampled_from([fsrs.Rating.Again, fsrs.Rating.Hard, fsrs.Rating.Good, fsrs.Rating.Easy])


def reference(weights: tuple[float, ...], retention: float = 0.9) -> fsrs.Scheduler:
    return fsrs.Scheduler(parameters=weights, desired_retention=retention, enable_fuzzing=False)


@hsettings(max_examples=300, deadline=None)
@given(
    weights=st.one_of(st.just(tuple(DEFAULT_PARAMETERS)), st.just(TRUE_PARAMETERS), parameters),
    stability=st.floats(0.001, 36500),
    difficulty=st.floats(1, 10),
    days=st.integers(0, 4000),
    rating=ratings,
)
def test_one_answer_is_py_fsrs_exactly(
    weights: tuple[float, ...], stability: float, difficulty: float, days: int, rating: fsrs.Rating
) -> None:
    py = reference(weights)
    model = Model(weights)
    if days == 0:
        expected_s = py._short_term_stability(stability=stability, rating=rating)
    else:
        retrievability = (1 + py._FACTOR * days / stability) ** py._DECAY
        assert model.retrievability(stability, days) == retrievability
        expected_s = py._next_stability(
            difficulty=difficulty, stability=stability, retrievability=retrievability, rating=rating
        )
    expected_d = py._next_difficulty(difficulty=difficulty, rating=rating)
    assert model.next(stability, difficulty, days, int(rating)) == (
        min(expected_s, STABILITY_MAX),
        expected_d,
    )


@pytest.mark.parametrize("rating", list(fsrs.Rating))
def test_a_first_answer_and_the_interval_are_py_fsrs_exactly(rating: fsrs.Rating) -> None:
    py = reference(tuple(DEFAULT_PARAMETERS), 0.87)
    model = Model(DEFAULT_PARAMETERS)
    first = model.first(int(rating))
    assert first == (
        py._initial_stability(rating=rating),
        py._initial_difficulty(rating=rating, clamp=True),
    )
    # py-fsrs rounds its interval; the model keeps the float, as fsrs-rs does
    assert max(1, round(model.interval(first[0], 0.87))) == py._next_interval(stability=first[0])


def test_short_term_needs_both_parameters() -> None:
    assert Model(DEFAULT_PARAMETERS).allows_short_term
    no_short_term = list(DEFAULT_PARAMETERS)
    no_short_term[17] = 0.0
    assert not Model(no_short_term).allows_short_term
