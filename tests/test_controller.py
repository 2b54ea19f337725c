"""The review controller: whole sessions driven in-process, as any front-end drives them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import clock, scheduler
from flashcards.compiler import compile_decks
from flashcards.errors import CardsError
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Rating, State
from tests.conftest import ManualClock, answer, drain, make_controller

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PLAIN = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0))
DECK = """
deck: Interview::Basics
notes:
  - front: What is a canary deployment?
    back: A release to a small slice of traffic first.
  - type: reversed
    front: Shadow deployment
    back: Live traffic copied to a new model, never served.
  - front: What is drift?
    back: The data changes under the model.
"""
CANARY = "basic:what-is-a-canary-deployment/card"


@pytest.fixture
def db(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> sqlite_utils.Database:
    write_deck("basics.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    return fresh_db


def test_a_card_is_shown_front_first_then_revealed_and_rated(db: sqlite_utils.Database, decks: Path) -> None:
    session = make_controller(db, PLAIN, now=NOW, decks_dir=decks)
    card = session.card()
    assert card is not None and card.id == CANARY and card.kind == "new"
    assert card.front == "What is a canary deployment?"
    assert not session.revealed
    assert session.rate(Rating.GOOD).message == "Show the answer first (Space or Enter)."
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    session.reveal()
    labels = [(c.rating.label, c.label) for c in session.choices()]
    assert labels == [("Again", "1m"), ("Hard", "6m"), ("Good", "10m"), ("Easy", "8d")]
    assert session.rate(Rating.GOOD).message == "Good: next in 10m"
    assert session.card() is not None and session.card().id != CANARY  # type: ignore[union-attr]
    assert db.execute("SELECT card_id, rating FROM reviews").fetchall() == [(CANARY, 3)]


@pytest.mark.parametrize("rating", list(Rating))
def test_each_buttons_label_is_the_interval_its_answer_gives(
    db: sqlite_utils.Database, rating: Rating
) -> None:
    """Review intervals exactly, fuzz included; a step within its fuzz (at most 25 %, 5 minutes)."""
    fuzzed = Settings(DeckSettings(enable_fuzzing=True))
    now = ManualClock(NOW)
    session = make_controller(db, fuzzed, now=now)
    for _ in range(4):  # a new card, learning steps, review cards
        card = session.card()
        assert card is not None
        session.reveal()
        shown = {c.rating: c.interval for c in session.choices()}[rating]
        session.rate(rating)
        after = scheduler.read_state(db, card.id)
        assert after.due is not None
        if after.due_day is not None:
            assert after.due_day - now.now.date().toordinal() == shown.days
        else:
            assert shown <= after.due - now.now <= shown + min(shown / 4, timedelta(minutes=5))
        now.now = max(now.now, after.due) + timedelta(minutes=1)


def test_the_duration_of_an_answer_is_the_time_the_card_was_on_screen(db: sqlite_utils.Database) -> None:
    session = make_controller(db, PLAIN, now=NOW, tick=2.5)
    session.card()
    answer(session, Rating.AGAIN)
    assert db.execute("SELECT duration_ms FROM reviews").fetchone()[0] == 2500
    assert (session.summary.answered, session.summary.again, session.summary.duration_ms) == (1, 1, 2500)


def test_undo_shows_the_card_again_and_restores_the_summary(db: sqlite_utils.Database) -> None:
    session = make_controller(db, PLAIN, now=NOW, tick=2.0)
    card = session.card()
    assert card is not None
    answer(session, Rating.AGAIN)
    assert session.undo().message == f"Undid the answer to {card.id}."
    assert (session.summary.answered, session.summary.again, session.summary.duration_ms) == (0, 0, 0)
    again = session.card()
    assert again == card and not session.revealed
    assert scheduler.read_state(db, card.id).state == State.NEW
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    assert session.undo().message == "Nothing to undo."


def test_undo_gives_back_the_new_option_budget(db: sqlite_utils.Database) -> None:
    session = make_controller(db, PLAIN, now=NOW, new_limit=1)
    card = session.card()
    answer(session, Rating.GOOD)
    assert session.card() is None
    session.undo()
    assert session.card() == card


def test_a_failed_undo_says_why_and_keeps_the_session_counters(db: sqlite_utils.Database) -> None:
    now = ManualClock(NOW)
    session = make_controller(db, PLAIN, now=now, limit=1)
    card = session.card()
    assert card is not None
    answer(session, Rating.GOOD)
    now.now = NOW + timedelta(minutes=10)
    scheduler.answer(db, card.id, Rating.GOOD, now.now, 1000, PLAIN)  # another session answers it again
    assert session.undo().message == f"cannot undo: card {card.id} was answered again since"
    assert session.summary.answered == 1
    assert session.card() is None  # the --limit 1 budget stays used


def test_session_retention_counts_review_cards(db: sqlite_utils.Database) -> None:
    for card_id in (CANARY, "basic:what-is-drift/card"):
        db.execute(
            "UPDATE cards SET state = ?, stability = 5, difficulty = 5, due = ?, due_day = ?, last_review = ? "
            "WHERE id = ?",
            [
                State.REVIEW,
                clock.to_db(NOW - timedelta(days=1)),
                (NOW - timedelta(days=1)).date().toordinal(),
                clock.to_db(NOW - timedelta(days=6)),
                card_id,
            ],
        )
    session = make_controller(db, PLAIN, now=NOW, new_limit=0)
    session.card()
    answer(session, Rating.AGAIN)
    session.card()
    answer(session, Rating.GOOD)
    assert session.summary.retention == 0.5


def test_bury_hides_the_card_until_the_next_study_day(db: sqlite_utils.Database) -> None:
    session = make_controller(db, PLAIN, now=NOW)
    card = session.card()
    assert card is not None
    assert session.bury().message == "Buried until tomorrow."
    assert card.id not in drain(session)
    assert db.execute("SELECT buried_until FROM cards WHERE id = ?", [card.id]).fetchone()[0] == (
        "2026-11-28T04:00:00.000000+00:00"
    )


def test_waiting_for_a_learning_card_moves_a_fixed_clock(db: sqlite_utils.Database) -> None:
    session = make_controller(db, PLAIN, now=NOW, new_limit=1)
    session.card()
    answer(session, Rating.AGAIN)
    assert session.card() is None
    assert session.next_learning_due() == NOW + timedelta(minutes=1)
    assert session.wait_for_learning() == NOW + timedelta(minutes=1)
    assert session.clock() == NOW + timedelta(minutes=1)
    card = session.card()
    assert card is not None and card.id == CANARY and card.kind == "learning"


def test_a_note_added_while_editing_is_offered_in_the_same_session(
    db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    session = make_controller(db, PLAIN, now=NOW, decks_dir=decks)
    assert session.card() is not None
    path, line = session.source()
    assert path == (decks / "basics.yaml").resolve() and path.is_absolute() and line == 3
    write_deck("basics.yaml", DECK + "  - front: What is a feature store?\n    back: Shared features.\n")
    assert session.edited().message == "Recompiled."
    assert "basic:what-is-a-feature-store/card" in drain(session)
    assert session.counts().new == 0


def test_an_edit_of_the_card_on_screen_shows_the_new_text(
    db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    session = make_controller(db, PLAIN, now=NOW, decks_dir=decks)
    session.card()
    session.reveal()
    write_deck("basics.yaml", DECK.replace("small slice", "tiny slice"))
    assert session.edited().message == "Recompiled."
    card = session.card()
    assert card is not None and card.id == CANARY and "tiny slice" in card.back
    assert session.edited().message == "No change."


def test_an_edit_that_breaks_the_deck_changes_nothing_and_says_where(
    db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    session = make_controller(db, PLAIN, now=NOW, decks_dir=decks)
    card = session.card()
    write_deck("basics.yaml", DECK + "  - front: [unclosed\n")
    message = session.edited().message
    assert message.startswith("Not recompiled, fix these first:\n")
    assert "basics.yaml:" in message
    assert session.card() == card


def test_an_edit_that_removes_the_card_on_screen_moves_on(
    db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    session = make_controller(db, PLAIN, now=NOW, decks_dir=decks)
    assert session.card().id == CANARY  # type: ignore[union-attr]
    write_deck(
        "basics.yaml", DECK.replace("What is a canary deployment?", "What is a blue-green deployment?")
    )
    session.edited()
    card = session.card()
    assert card is not None and card.id != CANARY


def test_a_leech_is_announced_and_counted(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, leech_threshold=1))
    session = make_controller(db, settings, now=NOW, new_limit=1)
    session.card()
    answer(session, Rating.EASY)
    later = make_controller(db, settings, now=NOW + timedelta(days=30), new_limit=0)
    assert later.card() is not None
    message = answer(later, Rating.AGAIN)
    assert message == "This card is a leech (1 lapses): it is suspended until you rework it."
    assert later.summary.leeches == [CANARY]
    later.undo()
    assert later.summary.leeches == []


def test_actions_without_a_card_on_screen_are_errors(db: sqlite_utils.Database) -> None:
    db.execute("UPDATE cards SET suspended = 1")
    session = make_controller(db, PLAIN, now=NOW)
    assert session.card() is None
    for action in (session.reveal, session.bury, session.choices, session.source):
        with pytest.raises(CardsError, match="no card is on screen"):
            action()
    with pytest.raises(CardsError, match="no card is on screen"):
        session.rate(Rating.GOOD)


def test_a_learning_card_due_within_the_learn_ahead_limit_is_shown_rather_than_waited_for(
    db: sqlite_utils.Database,
) -> None:
    ahead = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=20))
    session = make_controller(db, ahead, now=NOW, new_limit=1)
    session.card()
    answer(session, Rating.GOOD)  # next step in 10 minutes; nothing else is left
    card = session.card()
    assert card is not None and card.id == CANARY and card.kind == "learning"
    answer(session, Rating.GOOD)  # graduates
    assert session.card() is None
    no_ahead = make_controller(db, PLAIN, now=NOW, new_limit=0)
    db.execute("UPDATE cards SET state = 1, step = 1, due = ?, due_day = NULL WHERE id = ?",
               [clock.to_db(NOW + timedelta(minutes=9)), CANARY])  # fmt: skip
    assert no_ahead.card() is None and no_ahead.next_learning_due() == NOW + timedelta(minutes=9)


def test_an_interday_step_is_shown_all_day(db: sqlite_utils.Database) -> None:
    steps = Settings(
        DeckSettings(enable_fuzzing=False, learning_steps=(timedelta(minutes=10), timedelta(days=1)))
    )
    evening = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    session = make_controller(db, steps, now=evening, new_limit=1)
    session.card()
    answer(session, Rating.GOOD)  # to the one-day step: due tomorrow, for the whole day
    state = scheduler.read_state(db, CANARY)
    assert state.state == State.LEARNING and state.due_day == evening.date().toordinal() + 1
    early = make_controller(db, steps, now=datetime(2026, 11, 28, 5, 0, tzinfo=UTC), new_limit=0)
    assert early.counts().learning == 1
    card = early.card()
    assert card is not None and card.id == CANARY  # at 05:00, not only from 22:00


def test_a_session_answers_with_parameters_fitted_while_it_was_open(db: sqlite_utils.Database) -> None:
    from flashcards.optimize import Evaluation, Score, save_parameters
    from flashcards.simulate import TRUE_PARAMETERS

    session = make_controller(db, PLAIN, now=NOW)
    session.card()
    answer(session, Rating.GOOD)
    session.card()
    session.reveal()
    score = Score(0.3, 0.01)
    save_parameters(db, "", Evaluation(TRUE_PARAMETERS, score, score), 500, NOW)  # another process, meanwhile
    done = session.rate(Rating.GOOD).answer
    assert done is not None
    assert done.after.stability == TRUE_PARAMETERS[2]  # Good's first stability under the new set


def test_an_edit_that_removes_the_decks_directory_is_a_message(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    session = make_controller(db, PLAIN, now=NOW, decks_dir=gone)
    assert session.card() is not None
    assert session.edited().message.startswith("Not recompiled: decks directory")
    assert session.card() is not None
