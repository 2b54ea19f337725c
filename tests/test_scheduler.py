"""Answering, undoing and replaying: the review log is the truth, the card row its cache."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from flashcards import clock, reviewlog, scheduler, store
from flashcards.clock import format_interval
from flashcards.compiler import compile_decks
from flashcards.errors import CardsError, NotFoundError
from flashcards.settings import DeckSettings, Settings
from flashcards.states import CardState, Rating, State

AGAIN, HARD, GOOD, EASY = Rating
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DECK = """
deck: Test
notes:
  - front: one
    back: 1
  - type: reversed
    front: two
    back: 2
"""
ONE, TWO, TWO_REVERSE = "basic:one/card", "reversed:two/card", "reversed:two/reverse"


@pytest.fixture(autouse=True)
def local_zone_from_env() -> None:
    """Apply $TZ (UTC, from conftest) even if an earlier test changed the process's zone."""
    time.tzset()


@pytest.fixture
def db(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> sqlite_utils.Database:
    write_deck("test.yaml", DECK)
    compile_decks(fresh_db, decks, T0)
    return fresh_db


def card_row(db: sqlite_utils.Database, card_id: str) -> dict[str, object]:
    return dict(next(db.query("SELECT * FROM cards WHERE id = ?", [card_id])))


def test_answer_writes_one_log_row_and_the_card_state(db: sqlite_utils.Database) -> None:
    random.seed(1)
    done = scheduler.answer(db, ONE, GOOD, T0, 4200, Settings(DeckSettings(enable_fuzzing=False)))
    log = list(db.query("SELECT * FROM reviews"))
    assert len(log) == 1
    row = log[0]
    assert (row["card_id"], row["rating"], row["duration_ms"], row["state_before"], row["state"]) == (
        ONE,
        GOOD,
        4200,
        0,
        1,
    )
    assert row["reviewed_at"] == "2026-11-27T09:00:00.000000+00:00"
    assert row["due"] == "2026-11-27T09:10:00.000000+00:00"
    card = card_row(db, ONE)
    assert (card["state"], card["step"], card["reps"], card["lapses"]) == (1, 1, 1, 0)
    assert card["due"] == row["due"] and card["last_review"] == row["reviewed_at"]
    assert card["stability"] == row["stability"] == done.after.stability
    assert card["difficulty"] == row["difficulty"]


def test_duration_is_capped_at_sixty_seconds(db: sqlite_utils.Database) -> None:
    scheduler.answer(db, ONE, GOOD, T0, 3_600_000, Settings())
    assert db.execute("SELECT duration_ms FROM reviews").fetchone()[0] == 60_000


def test_answer_buries_new_and_review_siblings_until_the_next_day(db: sqlite_utils.Database) -> None:
    scheduler.answer(db, TWO, GOOD, T0, 1000, Settings())
    assert card_row(db, TWO_REVERSE)["buried_until"] == "2026-11-28T04:00:00.000000+00:00"
    assert card_row(db, TWO)["buried_until"] is None
    assert card_row(db, ONE)["buried_until"] is None


def test_undo_restores_card_siblings_and_log_exactly(db: sqlite_utils.Database) -> None:
    first = scheduler.answer(db, TWO, GOOD, T0, 1000, Settings())
    before = {cid: card_row(db, cid) for cid in (ONE, TWO, TWO_REVERSE)}
    second = scheduler.answer(db, TWO, EASY, T0 + timedelta(minutes=10), 1000, Settings())
    scheduler.undo(db, second, Settings())
    assert {cid: card_row(db, cid) for cid in (ONE, TWO, TWO_REVERSE)} == before
    scheduler.undo(db, first, Settings())
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    fresh = card_row(db, TWO)
    assert (fresh["state"], fresh["due"], fresh["stability"], fresh["reps"]) == (0, None, None, 0)
    assert card_row(db, TWO_REVERSE)["buried_until"] is None


def test_undo_refuses_when_the_card_was_answered_again(db: sqlite_utils.Database) -> None:
    first = scheduler.answer(db, ONE, GOOD, T0, 1000, Settings())
    scheduler.answer(db, ONE, GOOD, T0 + timedelta(minutes=10), 1000, Settings())
    with pytest.raises(CardsError, match="answered again"):
        scheduler.undo(db, first, Settings())


def test_leech_after_eight_lapses_is_suspended(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False))
    now = T0
    scheduler.answer(db, ONE, EASY, now, 1000, settings)
    leeches = []
    for _ in range(8):  # a lapse, then relearnt
        now = scheduler.read_state(db, ONE).due or now
        leeches.append(scheduler.answer(db, ONE, AGAIN, now, 1000, settings).leech)
        if not leeches[-1]:
            now = scheduler.read_state(db, ONE).due or now
            scheduler.answer(db, ONE, EASY, now, 1000, settings)
    assert leeches == [False] * 7 + [True]
    card = card_row(db, ONE)
    assert (card["lapses"], card["leech"], card["suspended"]) == (8, 1, 1)


def test_leech_threshold_is_configurable_per_deck(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False), {"Test": {"leech_threshold": 1}})
    scheduler.answer(db, ONE, EASY, T0, 1000, settings)
    done = scheduler.answer(db, ONE, AGAIN, T0 + timedelta(days=9), 1000, settings)
    assert done.leech and card_row(db, ONE)["suspended"] == 1


@pytest.mark.parametrize(("rating", "interval"), [(AGAIN, "1m"), (HARD, "6m"), (GOOD, "10m"), (EASY, "8d")])
def test_preview_of_a_new_card_gives_ankis_labels(rating: int, interval: str) -> None:
    shown = scheduler.preview(DeckSettings(), CardState(), T0)
    assert format_interval(shown[rating].interval) == interval


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(hours=1, minutes=30), "1.5h"),
        (timedelta(days=3), "3d"),
        (timedelta(days=63), "2.1mo"),
        (timedelta(days=730), "2y"),
    ],
)
def test_format_interval(delta: timedelta, text: str) -> None:
    assert format_interval(delta) == text


def test_the_rules_take_fitted_parameters() -> None:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    fitted = (0.5, *DEFAULT_PARAMETERS[1:])
    assert scheduler.rules_for(DeckSettings(parameters=fitted), 4).model.w == fitted
    assert scheduler.rules_for(DeckSettings(), 4).model.w == tuple(DEFAULT_PARAMETERS)


def test_rebuild_repairs_a_damaged_cache(db: sqlite_utils.Database) -> None:
    scheduler.answer(db, ONE, GOOD, T0, 1000, Settings())
    scheduler.answer(db, ONE, GOOD, T0 + timedelta(minutes=12), 1000, Settings())
    expected = card_row(db, ONE)
    db.execute("UPDATE cards SET stability = 99, state = 3, reps = 0, due = NULL WHERE id = ?", [ONE])
    db.execute("UPDATE cards SET state = 2 WHERE id = ?", [TWO])
    assert sorted(scheduler.rebuild(db, Settings(), write=False).changed) == [ONE, TWO]
    assert card_row(db, ONE)["stability"] == 99
    result = scheduler.rebuild(db, Settings())
    assert sorted(result.changed) == [ONE, TWO]
    assert (result.cards, result.reviews) == (3, 2)
    assert card_row(db, ONE) == expected
    assert card_row(db, TWO)["state"] == 0
    assert scheduler.rebuild(db, Settings()).changed == []


def test_rebuild_corrects_rows_that_found_another_history_only_when_asked(db: sqlite_utils.Database) -> None:
    """An Again logged as an answer to a new card though an Easy came before it (as an earlier
    version left a row when the Easy was taken in later): ``rows=True`` finds it, lists the card,
    and corrects the row to what it found (a lapse of a review card, its memory) and the cache
    counted from it; the answer itself is unchanged. Without ``rows``, rebuilds leave rows alone."""
    scheduler.answer(db, ONE, EASY, T0, 1000, Settings())
    scheduler.answer(db, ONE, AGAIN, T0 + timedelta(days=5), 1000, Settings())
    columns = (
        "id, card_id, rating, reviewed_at, duration_ms, due, state_before, state, step, stability, difficulty"
    )
    logged = db.execute(f"SELECT {columns} FROM reviews ORDER BY id").fetchall()
    expected = card_row(db, ONE)
    assert logged[1][6] == State.REVIEW and expected["lapses"] == 1
    db.execute(
        "UPDATE reviews SET state_before = 0, stability = 0.2, difficulty = 7.0 WHERE id = ?", [logged[1][0]]
    )
    db.execute("UPDATE cards SET lapses = 0 WHERE id = ?", [ONE])  # as the stale row counts them
    assert scheduler.rebuild(db, Settings(), write=False).changed == []  # rows not looked at: all agrees
    check = scheduler.rebuild(db, Settings(), write=False, rows=True)
    assert (check.changed, check.found_again) == ([ONE], 1)
    assert db.execute(f"SELECT {columns} FROM reviews ORDER BY id").fetchall()[1][6] == 0  # unchanged
    fixed = scheduler.rebuild(db, Settings(), rows=True)
    assert (fixed.changed, fixed.found_again) == ([ONE], 1)
    assert db.execute(f"SELECT {columns} FROM reviews ORDER BY id").fetchall() == logged
    assert card_row(db, ONE) == expected
    assert scheduler.rebuild(db, Settings(), write=False, rows=True).changed == []


answers = st.lists(
    st.tuples(
        st.sampled_from([ONE, TWO, TWO_REVERSE]),
        st.integers(min_value=1, max_value=4),
        st.sampled_from([0, 30, 600, 3600, 20 * 3600, 86400, 3 * 86400, 40 * 86400]),
    ),
    max_size=25,
)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=answers, seed=st.integers(0, 2**16), steps=st.sampled_from(["1m 10m", "", "5m"]))
def test_replay_equals_cache_over_random_histories(
    db: sqlite_utils.Database, history: list[tuple[str, int, int]], seed: int, steps: str
) -> None:
    """Fuzz on and random: replaying the log (fuzz off, due from the log) gives the cache exactly."""
    from flashcards.settings import parse_steps

    db.execute("DELETE FROM reviews")
    db.execute(
        "UPDATE cards SET state = 0, step = NULL, stability = NULL, difficulty = NULL, due = NULL, "
        "last_review = NULL, reps = 0, lapses = 0, due_day = NULL, suspended = 0, leech = 0, buried_until = NULL"
    )
    settings = Settings(DeckSettings(learning_steps=parse_steps(steps), leech_threshold=3))
    random.seed(seed)
    now = T0
    for card_id, rating, gap in history:
        now += timedelta(seconds=gap)
        scheduler.answer(db, card_id, rating, now, 1000, settings)
    cached = {r["id"]: r for r in db.query("SELECT * FROM cards")}
    result = scheduler.rebuild(db, settings)
    assert result.changed == []
    assert result.reviews == len(history)
    assert {r["id"]: r for r in db.query("SELECT * FROM cards")} == cached


def test_rebuild_of_chosen_cards_only(db: sqlite_utils.Database) -> None:
    scheduler.answer(db, ONE, GOOD, T0, 1000, Settings())
    db.execute("UPDATE cards SET stability = 1 WHERE id = ?", [ONE])
    assert scheduler.rebuild(db, Settings(), [TWO]).changed == []
    assert scheduler.rebuild(db, Settings(), [ONE]).changed == [ONE]


def test_answer_on_an_unknown_card_is_not_found() -> None:
    memory = store.open_memory()
    with pytest.raises(NotFoundError):
        scheduler.answer(memory, "nope", GOOD, T0, 0, Settings())


@pytest.mark.parametrize("rating", [HARD, GOOD, EASY])
def test_button_labels_are_the_intervals_the_answers_give(db: sqlite_utils.Database, rating: int) -> None:
    settings = Settings()
    when = T0
    for _ in range(3):  # long enough intervals that fuzz applies
        scheduler.answer(db, ONE, EASY, when, 1000, settings)
        when = clock.from_db(str(card_row(db, ONE)["due"]))
    state = scheduler.read_state(db, ONE)
    shown = scheduler.preview(DeckSettings(), state, when, ONE)
    assert shown[rating].interval > timedelta(days=3)
    random.seed(12345)  # the global random state must not matter
    done = scheduler.answer(db, ONE, rating, when, 1000, settings)
    assert done.after.due_day is not None
    assert timedelta(days=done.after.due_day - when.date().toordinal()) == shown[rating].interval


def test_changing_the_learning_steps_keeps_the_log_and_the_cache_in_agreement(
    db: sqlite_utils.Database,
) -> None:
    """The log holds the step each answer left the card on: replay under new steps changes nothing."""
    from flashcards.settings import parse_steps

    before = Settings(DeckSettings(enable_fuzzing=False, learning_steps=parse_steps(["1m", "10m", "1h"])))
    scheduler.answer(db, ONE, GOOD, T0, 1000, before)
    scheduler.answer(db, ONE, GOOD, T0 + timedelta(minutes=10), 1000, before)
    scheduler.answer(db, TWO, AGAIN, T0, 1000, before)
    assert (scheduler.read_state(db, ONE).state, scheduler.read_state(db, ONE).step) == (State.LEARNING, 2)
    after = Settings(DeckSettings(enable_fuzzing=False, learning_steps=parse_steps(["5m"])))
    assert scheduler.rebuild(db, after, write=False).changed == []
    # the next answer follows the new steps: step 2 is past the single step, so Good graduates
    done = scheduler.answer(db, ONE, GOOD, T0 + timedelta(hours=2), 1000, after)
    assert done.after.state == State.REVIEW
    assert scheduler.rebuild(db, after, write=False).changed == []


def test_undo_keeps_a_suspension_made_since_the_answer(db: sqlite_utils.Database) -> None:
    done = scheduler.answer(db, ONE, GOOD, T0, 1000, Settings())
    scheduler.set_suspended(db, [ONE], True)  # another terminal, meanwhile
    scheduler.undo(db, done, Settings())
    row = card_row(db, ONE)
    assert (row["state"], row["reps"], row["suspended"]) == (0, 0, 1)


def test_an_answer_timed_before_the_last_one_keeps_log_and_cache_in_agreement(
    db: sqlite_utils.Database,
) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False))
    scheduler.answer(db, ONE, GOOD, T0, 1000, settings)
    shown = scheduler.read_state(db, ONE)
    late = scheduler.answer(
        db, ONE, AGAIN, T0 - timedelta(minutes=1), 1000, settings, shown
    )  # clock set back
    assert late.reviewed_at == T0
    assert scheduler.rebuild(db, settings, write=False).changed == []
    assert reviewlog.latest(db, ONE) == late.review_id


def test_a_reschedule_by_another_command_is_not_taken_for_an_answer(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False))
    scheduler.answer(db, ONE, GOOD, T0, 1000, settings)
    shown = scheduler.read_state(db, ONE)
    db.execute("UPDATE cards SET stability = stability * 2 WHERE id = ?", [ONE])  # e.g. optimize's rebuild
    done = scheduler.answer(db, ONE, GOOD, T0 + timedelta(minutes=10), 1000, settings, shown)
    assert done.before.reps == 1
