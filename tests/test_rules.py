"""Anki's rules around FSRS: study days, steps, the order of the four intervals, fuzz, leeches.

Expected numbers are what the real Anki engine (26.9, FSRS on, fuzz off) shows for the same
answers at the same instants; tests/test_anki_equal.py compares the two engines directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from flashcards.clock import StudyDays, format_interval
from flashcards.rules import Rules, _fuzz_bounds, is_leech
from flashcards.settings import DeckSettings, parse_steps
from flashcards.states import CardState, Rating, State

T0 = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)  # 13:00 in the test zone (UTC), day start 04:00


def rules(**settings: object) -> Rules:
    return Rules(DeckSettings(enable_fuzzing=False, **settings), StudyDays(4))  # type: ignore[arg-type]


def labels(engine: Rules, card: CardState, now: datetime) -> list[str]:
    return [format_interval(s.interval) for s in engine.next_states(card, now).values()]


def answer(engine: Rules, card: CardState, rating: Rating, now: datetime) -> CardState:
    return engine.next_states(card, now)[rating].card


def test_a_new_cards_buttons() -> None:
    assert labels(rules(), CardState(), T0) == ["1m", "6m", "10m", "8d"]


def test_without_learning_steps_short_intervals_stay_in_learning() -> None:
    engine = rules(learning_steps=())
    assert labels(engine, CardState(), T0) == ["5.1h", "1d", "2d", "8d"]
    again = answer(engine, CardState(), Rating.AGAIN, T0)
    assert again.state == State.LEARNING and again.due == T0 + timedelta(seconds=18316)
    assert labels(engine, again, T0 + timedelta(minutes=1)) == ["2h", "5.1h", "5.9h", "2d"]


def test_a_review_cards_intervals_keep_their_order_early_on_time_and_late() -> None:
    engine = rules()
    card = answer(engine, CardState(), Rating.EASY, T0)
    assert (card.state, card.stability, card.difficulty) == (State.REVIEW, 8.2956, 1.0)
    assert card.due_day is not None and card.due_day - T0.date().toordinal() == 8
    for days, expected in [(8, ["10m", "27d", "1.3mo", "2.2mo"]), (6, ["10m", "23d", "1.1mo", "1.8mo"])]:
        shown = engine.next_states(card, T0 + timedelta(days=days))
        assert [format_interval(s.interval) for s in shown.values()] == expected
        assert [s.interval.days for s in list(shown.values())[1:]] == (
            [27, 39, 66] if days == 8 else [23, 33, 55]
        )
    late = engine.next_states(card, T0 + timedelta(days=12))
    assert [s.interval.days for s in list(late.values())[1:]] == [33, 49, 84]


def test_a_lapse_relearns_through_its_step() -> None:
    engine = rules()
    card = answer(engine, CardState(), Rating.EASY, T0)
    lapsed = answer(engine, card, Rating.AGAIN, T0 + timedelta(days=8))
    assert (lapsed.state, lapsed.step, lapsed.lapses) == (State.RELEARNING, 0, 1)
    assert labels(engine, lapsed, T0 + timedelta(days=8, minutes=10)) == ["10m", "15m", "1d", "2d"]


def test_elapsed_days_are_study_days() -> None:
    """Three minutes across the 04:00 rollover is a day later; three minutes before it is not."""
    engine = rules()
    evening = datetime(2026, 1, 5, 3, 58, tzinfo=UTC)
    learnt = answer(engine, CardState(), Rating.GOOD, evening)
    assert learnt.stability == pytest.approx(2.3065)
    same_day = answer(engine, learnt, Rating.GOOD, evening + timedelta(minutes=1))
    next_day = answer(engine, learnt, Rating.GOOD, evening + timedelta(minutes=3))
    assert same_day.stability == pytest.approx(2.3065)
    assert next_day.stability == pytest.approx(7.3154, rel=1e-4)


def test_an_interday_step_is_due_for_its_whole_day() -> None:
    engine = rules(learning_steps=parse_steps(["10m", "1d"]))
    first = answer(engine, CardState(), Rating.GOOD, T0)
    assert first.state == State.LEARNING and first.due_day == T0.date().toordinal() + 1
    assert first.due == datetime(2026, 1, 6, 4, 0, tzinfo=UTC)  # the start of that study day
    shown = engine.next_states(CardState(), T0)
    assert format_interval(shown[Rating.HARD].interval) == "12.1h"  # the mean of 10m and 1d


def test_a_step_due_before_the_rollover_is_due_at_an_instant() -> None:
    card = answer(rules(), CardState(), Rating.GOOD, T0)
    assert card.due_day is None and card.due == T0 + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30, "30s"), (60, "1m"), (89, "1m"), (90, "2m"), (150, "3m"), (1199, "20m"), (3599, "60m"),
     (3600, "1h"), (5400, "1.5h")],
)  # fmt: skip
def test_labels_of_steps(seconds: int, text: str) -> None:
    assert format_interval(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("days", "text"),
    [(30, "30d"), (31, "1mo"), (45, "1.5mo"), (100, "3.3mo"), (364, "12mo"), (365, "1y"), (400, "1.1y"),
     (438, "1.2y")],
)  # fmt: skip
def test_labels_of_days(days: int, text: str) -> None:
    assert format_interval(timedelta(days=days)) == text


def test_leeches_at_the_threshold_then_every_half_threshold() -> None:
    assert [lapses for lapses in range(1, 13) if is_leech(lapses, 5)] == [5, 8, 11]
    assert [lapses for lapses in range(1, 17) if is_leech(lapses, 8)] == [8, 12, 16]
    assert not any(is_leech(lapses, 0) for lapses in range(20))


history = st.lists(
    st.tuples(st.sampled_from(list(Rating)), st.integers(0, 60 * 24 * 40)), min_size=1, max_size=25
)
steps = st.sampled_from([(), ("1m", "10m"), ("5m",), ("10m", "1d", "3d")])


@hsettings(max_examples=300, deadline=None)
@given(answers=history, learning=steps, relearning=steps, fuzz=st.booleans())
def test_replaying_the_log_gives_the_state_the_answers_gave(
    answers: list[tuple[Rating, int]], learning: tuple[str, ...], relearning: tuple[str, ...], fuzz: bool
) -> None:
    engine = Rules(
        DeckSettings(
            enable_fuzzing=fuzz,
            learning_steps=parse_steps(list(learning)),
            relearning_steps=parse_steps(list(relearning)),
        ),
        StudyDays(4),
    )
    card, now, log = CardState(), T0, []
    for index, (rating, minutes) in enumerate(answers):
        now += timedelta(minutes=minutes)
        card = engine.next_states(card, now, (index * 0.37) % 1)[rating].card
        log.append((int(rating), now.timestamp(), None))
    replayed = engine.replay(log)
    assert replayed == (card.state, card.step, card.stability, card.difficulty, card.reps, card.lapses)


@hsettings(max_examples=300, deadline=None)
@given(answers=history, fuzz=st.floats(0, 0.999))
def test_hard_good_easy_are_always_in_order_on_a_review_card(
    answers: list[tuple[Rating, int]], fuzz: float
) -> None:
    engine = Rules(DeckSettings(enable_fuzzing=True), StudyDays(4))
    card, now = CardState(), T0
    for rating, minutes in answers:
        now += timedelta(minutes=minutes)
        shown = engine.next_states(card, now, fuzz)
        if card.state == State.REVIEW:
            hard, good, easy = (shown[r].interval for r in (Rating.HARD, Rating.GOOD, Rating.EASY))
            assert timedelta(days=1) <= hard < good < easy
        else:  # out of (re)learning, Easy is at least Good's graduating interval and a day (fuzz aside)
            plain = engine.next_states(card, now)
            assert plain[Rating.EASY].interval >= plain[Rating.GOOD].interval + timedelta(days=1) or (
                plain[Rating.GOOD].card.state != State.REVIEW
            )
        card = shown[rating].card


@pytest.mark.parametrize(
    ("interval", "bounds"), [(2.0, (2, 2)), (2.5, (2, 4)), (5.0, (4, 6)), (10.0, (8, 12)), (100.0, (93, 107))]
)
def test_fuzz_ranges_are_ankis(interval: float, bounds: tuple[int, int]) -> None:
    assert _fuzz_bounds(interval, 1, 36500) == bounds
