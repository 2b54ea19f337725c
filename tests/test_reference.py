"""The project's scheduling agrees with the reference FSRS implementation (fsrs-rs).

Random rating histories, with real gaps (minutes to months, reviews early and late relative to
the due date), go through ``scheduler.answer`` on a collection and, one answer at a time, through
``fsrs_rs_python.FSRS([]).next_states`` (the same default FSRS-6 parameters), the memory state
kept between answers as Anki keeps it (4 and 3 decimal places). Stability must agree within
0.1 % and difficulty within 2e-3 after every review, the bounds Anki's own engine is held to in
tests/test_anki_equal.py (fsrs-rs computes in f32, cards in f64).

fsrs-rs takes the elapsed time as whole days (``delta_t``); cards counts them as Anki does, in
study days (the day starts at 04:00 here: a review after the rollover is a day later, however
few hours have passed), and uses FSRS-6's same-day formula when that is 0, as fsrs-rs does for
``delta_t = 0``. Learning and relearning steps decide *when* a card is due next, never its
stability or difficulty, so the models agree on every history.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import fsrs_rs_python as fsrs_rs
import pytest
import sqlite_utils
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flashcards import clock, scheduler, store
from flashcards.settings import DeckSettings, Settings

T0 = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
CARD = "basic:ref/card"

step = st.tuples(
    st.integers(min_value=1, max_value=4),
    st.one_of(
        st.integers(min_value=1, max_value=600).map(lambda m: timedelta(minutes=m)),
        st.floats(min_value=0.2, max_value=3.0).map(lambda f: ("due", f)),
        st.integers(min_value=1, max_value=400).map(lambda d: timedelta(days=d, hours=3)),
    ),
)


def one_card_collection() -> sqlite_utils.Database:
    db = store.open_memory()
    stamp = clock.to_db(T0)
    db.execute(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, "
        "created_at, modified_at) VALUES ('basic:ref', 'basic', 'Ref', '{}', '[]', 'r.yaml', 1, '', ?, ?)",
        [stamp, stamp],
    )
    db.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, "
        "modified_at) VALUES (?, 'basic:ref', 'card', 1, 'Ref', 'f', 'b', 1, ?, ?)",
        [CARD, stamp, stamp],
    )
    return db


@settings(max_examples=150, deadline=None)
@given(history=st.lists(step, min_size=1, max_size=20), steps=st.sampled_from([(), (1, 10), (5,)]))
@example(  # stability passes FSRS's maximum of 36,500 days: fsrs-rs clamps it, so must we
    history=[(4, timedelta(minutes=1)), (4, timedelta(days=13, hours=3)), *[(4, ("due", 3.0))] * 3],
    steps=(),
)
def test_stability_and_difficulty_match_fsrs_rs(
    history: list[tuple[int, timedelta | tuple[str, float]]], steps: tuple[int, ...]
) -> None:
    deck = DeckSettings(
        enable_fuzzing=True,
        learning_steps=tuple(timedelta(minutes=m) for m in steps),
        leech_threshold=0,
    )
    db = one_card_collection()
    random.seed(0)
    reference = fsrs_rs.FSRS([])
    now, last, memory = T0, None, None
    for rating, gap in history:
        if isinstance(gap, tuple):  # relative to the interval: early (< 1) or late (> 1)
            state = scheduler.read_state(db, CARD)
            interval = (state.due - state.last_review) if state.due and state.last_review else timedelta(0)
            gap = interval * gap[1] + timedelta(minutes=1)
        now = now + gap if last is not None else now
        done = scheduler.answer(db, CARD, rating, now, 1000, Settings(deck))
        delta_t = 0 if last is None else clock.StudyDays(4).elapsed(last, now)
        following = reference.next_states(memory, 0.9, delta_t)
        expected = [following.again, following.hard, following.good, following.easy][rating - 1].memory
        # Anki keeps the memory state to 4 and 3 decimal places between answers; fsrs-rs works in f32
        memory = fsrs_rs.MemoryState(round(expected.stability, 4), round(expected.difficulty, 3))
        assert done.after.stability == pytest.approx(memory.stability, rel=1e-3)
        assert done.after.difficulty == pytest.approx(memory.difficulty, abs=2e-3)
        last = now


def test_a_known_history_matches_on_distinct_days() -> None:
    """A fixed history on distinct days, as a readable example of the agreement."""
    db = one_card_collection()
    settings_ = Settings(DeckSettings(enable_fuzzing=False))
    now = T0
    reviews = []
    for rating, days in [(3, 0), (3, 3), (1, 10), (4, 5), (2, 20)]:
        now += timedelta(days=days)
        scheduler.answer(db, CARD, rating, now, 1000, settings_)
        reviews.append(fsrs_rs.FSRSReview(rating, days))
    expected = fsrs_rs.FSRS([]).historical_memory_states(fsrs_rs.FSRSItem(reviews))[-1]
    state = scheduler.read_state(db, CARD)
    assert state.stability == pytest.approx(expected.stability, rel=1e-4)
    assert state.difficulty == pytest.approx(expected.difficulty, abs=1e-3)
