"""``cards review --cram``: a pass over studied cards whose answers are history and change nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import scheduler, stats, training
from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.limits import done_today
from flashcards.queue import deck_status
from flashcards.settings import DeckSettings, Settings
from flashcards.states import CACHE_COLUMNS, Kind, Rating
from tests.conftest import ManualClock, answer, drain, make_controller

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
DECK = "deck: Prep\nnotes:\n" + "".join(
    f"  - front: Question {i}?\n    back: Answer {i}.\n" for i in range(8)
)


@pytest.fixture
def db(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> sqlite_utils.Database:
    write_deck("prep.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    return fresh_db


def cache(db: sqlite_utils.Database) -> list[tuple[object, ...]]:
    return db.execute(
        f"SELECT id, {', '.join(CACHE_COLUMNS)}, buried_until FROM cards ORDER BY id"
    ).fetchall()


def study_a_week(db: sqlite_utils.Database, settings: Settings) -> ManualClock:
    clock = ManualClock(NOW)
    for day in range(7):
        clock.now = NOW + day * DAY
        session = make_controller(db, settings, now=clock)
        while (card := session.card()) is not None:
            answer(session, Rating.AGAIN if (day + len(card.id)) % 5 == 0 else Rating.GOOD)
        session.wait_for_learning()
        drain(session)
    clock.now = NOW + 7 * DAY
    return clock


def test_a_cram_pass_leaves_every_memory_state_and_due_date_unchanged(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(interview_date=(NOW + 9 * DAY).date()))
    clock = study_a_week(db, settings)
    before = cache(db)
    status_before = [d.as_dict() for d in deck_status(db, settings, clock.now)]
    items_before = training.training_set(db, 4).items
    stats_before = stats.collection_stats(db, clock.now)
    answers_before = db.execute("SELECT count(*) FROM reviews").fetchone()[0]

    session = make_controller(db, settings, now=clock, cram=True)
    assert session.counts().review == 8
    seen = []
    for rating in [Rating.AGAIN, Rating.EASY, Rating.HARD, Rating.GOOD] * 2:
        card = session.card()
        assert card is not None
        seen.append(card.id)
        session.reveal()
        assert [choice.label for choice in session.choices()] == ["", "", "", ""]
        assert session.rate(rating).message.endswith("(cram: the card's schedule is unchanged)")
    assert session.card() is None and len(set(seen)) == 8

    assert cache(db) == before
    rows = db.execute("SELECT kind, count(*) FROM reviews GROUP BY kind ORDER BY kind").fetchall()
    assert rows == [(Kind.ANSWER, answers_before), (Kind.CRAM, 8)]
    assert scheduler.rebuild(db, settings, write=False).changed == []
    assert [d.as_dict() for d in deck_status(db, settings, clock.now)] == status_before
    assert done_today(db, settings, clock.now) == {"new": {}, "review": {}}
    assert stats.collection_stats(db, clock.now) == stats_before
    assert training.training_set(db, 4).items == items_before
    assert sum(1 for _ in training.histories(db)) == 8
    assert sum(len(h) for _, h in training.histories(db)) == answers_before


def test_the_weakest_card_on_the_day_comes_first_and_undo_shows_it_again(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(interview_date=(NOW + 30 * DAY).date()))
    clock = study_a_week(db, settings)
    weakest = db.execute("SELECT id FROM cards ORDER BY stability, id LIMIT 1").fetchone()[0]
    session = make_controller(db, settings, now=clock, cram=True, limit=3)
    assert session.counts().review == 3
    first = session.card()
    assert first is not None and first.id == weakest
    answer(session, Rating.GOOD)
    assert session.undo().message == f"Undid the answer to {weakest}."
    assert session.card() is not None and session.card().id == weakest  # type: ignore[union-attr]
    assert session.counts().review == 3
    assert drain(session)[0] == weakest
    assert db.execute("SELECT count(*) FROM reviews WHERE kind = ?", [Kind.CRAM]).fetchone()[0] == 3


def test_new_cards_are_not_crammed(db: sqlite_utils.Database) -> None:
    session = make_controller(db, Settings(), now=NOW, cram=True)
    assert session.card() is None


def test_cram_through_the_command_line_then_rebuild_check_passes(
    db: sqlite_utils.Database, db_path: Path, decks: Path
) -> None:
    settings = Settings()
    clock = study_a_week(db, settings)
    before = cache(db)
    env = {**os.environ, "CARDS_NOW": clock.now.isoformat()}
    runner = CliRunner()
    result = runner.invoke(cli, ["review", "--cram", "--limit", "2"], input="\n1\n\n4\n", env=env)
    assert result.exit_code == 0, result.output
    assert "cram · 2 left" in result.output
    assert "Again (cram: the card's schedule is unchanged)" in result.output
    assert "Cram pass: 0 cards left; no schedule changed." in result.output
    assert cache(db) == before
    check = runner.invoke(cli, ["rebuild", "--check"], env=env)
    assert check.exit_code == 0 and "0 differ from the log" in check.output
    shown = runner.invoke(cli, ["review", "--cram", "--new", "3"], env=env)
    assert shown.exit_code == 2 and "--new does not apply to --cram" in shown.output
