"""Rehearsal cards: the note type, the grading rule, the checklist in a session, covered notes."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import scheduler
from flashcards.cli import cli
from flashcards.compiler import check_paths, compile_decks
from flashcards.rehearsal import duration_cap_ms, grade, parse_time
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Kind, Rating, State
from tests.conftest import answer, make_controller

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLAIN = Settings(DeckSettings(enable_fuzzing=False))
FACTS = """
deck: Prep::Facts
notes:
  - id: canary
    front: What is a canary deployment?
    back: A release to a small slice of traffic first.
  - id: shadow
    front: What is a shadow deployment?
    back: A copy of live traffic, never served.
"""
STORY = """
deck: Prep::Stories
notes:
  - type: rehearsal
    id: star-rollout
    prompt: Tell me about a time you rolled out a risky model change.
    time: 1m30s
    points:
      - "Situation: the fraud model drifted"
      - Canary to 5 % of traffic first
      - Shadow run for a week before
      - Result in numbers
    covers: [canary, [shadow, canary], [], ~]
"""
STAR = "star-rollout/rehearse"


@pytest.mark.parametrize(
    ("points", "ticked", "spoken", "target", "rating"),
    [
        (4, {1, 2, 3, 4}, 80, 90, Rating.GOOD),  # every point, in time
        (4, {1, 2, 3, 4}, 90, 90, Rating.GOOD),  # exactly the target is in time
        (4, {1, 2, 3, 4}, 91, 90, Rating.HARD),  # every point, over time
        (4, {1, 2, 3, 4}, 900, None, Rating.GOOD),  # no target: time does not count
        (4, {1, 2, 4}, 60, 90, Rating.HARD),  # one missed
        (4, {1, 2, 4}, 200, 90, Rating.HARD),  # one missed, over time
        (4, {1, 4}, 60, 90, Rating.AGAIN),  # two missed
        (4, set(), 60, 90, Rating.AGAIN),  # none
        (1, set(), 10, 90, Rating.AGAIN),  # the only point missed
        (1, {1}, 10, 90, Rating.GOOD),
        (2, {2, 7}, 10, 90, Rating.HARD),  # a tick outside the points does not count
    ],
)
def test_the_rating_follows_from_coverage_and_time(
    points: int, ticked: set[int], spoken: float, target: int | None, rating: Rating
) -> None:
    assert grade(points, ticked, spoken, target) == rating


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("2m", 120), ("1.5m", 90), ("1m30s", 90), ("2 min", 120)]
)
def test_target_times(text: str, seconds: int) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["3 hours", "1s", "45m", "m", "", "2m 5"])
def test_bad_target_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_the_recorded_time_is_capped_at_a_few_times_the_target() -> None:
    assert duration_cap_ms(90) == 270_000
    assert duration_cap_ms(10) == 60_000
    assert duration_cap_ms(None) == 600_000


def test_a_rehearsal_note_compiles_into_one_card_with_its_checklist_on_the_back(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> None:
    write_deck("facts.yaml", FACTS)
    write_deck("stories.yaml", STORY)
    compile_decks(fresh_db, decks, NOW)
    front, back = fresh_db.execute("SELECT front, back FROM cards WHERE id = ?", [STAR]).fetchone()
    assert (
        front
        == "Tell me about a time you rolled out a risky model change.\n\n*Answer aloud, in about 1m30s.*"
    )
    assert back.splitlines()[-4:] == [
        "1. ☐ Situation: the fraud model drifted",
        "2. ☐ Canary to 5 % of traffic first",
        "3. ☐ Shadow run for a week before",
        "4. ☐ Result in numbers",
    ]


def test_rehearsal_mistakes_are_located(write_deck: Callable[..., Path]) -> None:
    path = write_deck(
        "bad.yaml",
        """
deck: Prep
notes:
  - type: rehearsal
    prompt: One
    points:
      - Situation: unquoted
  - type: rehearsal
    prompt: Two
    time: 3 hours
    points: just one
  - type: rehearsal
    prompt: Three
    points: [a, b]
    covers: [canary]
  - type: rehearsal
    prompt: Four
    points: [a, b, c, d, e, f, g, h, i, j]
  - type: rehearsal
    prompt: Five
    points: [a]
    covers: ["not an id!"]
  - type: rehearsal
    points: [a]
""",
    )
    _, problems = check_paths([path])
    shown = [f"{p.line}:{p.column}: {p.message}" for p in problems]
    assert shown == [
        "6:9: point 1 reads as a mapping: quote it, since it holds ': '",
        "9:11: time: '3 hours' is not a time such as '90s', '2m' or '1m30s'",
        "10:13: 'points' must be a non-empty list of key points (lines starting with '- ')",
        "14:13: 'covers' has 1 entries for 2 points; give one per point ([] for none)",
        "17:41: a rehearsal has at most 9 points (one digit key each)",
        "21:14: note id 'not an id!' is not valid: use letters, digits and '-_.:', as in 'id:'",
        "22:5: field 'prompt' of a 'rehearsal' note is empty",
    ]


@pytest.fixture
def db(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> sqlite_utils.Database:
    write_deck("facts.yaml", FACTS)
    write_deck("stories.yaml", STORY)
    compile_decks(fresh_db, decks, NOW)
    # the two facts are learnt first: Easy, due in days
    session = make_controller(fresh_db, PLAIN, now=NOW, deck="Prep::Facts")
    while session.card() is not None:
        answer(session, Rating.EASY)
    return fresh_db


def due_days(db: sqlite_utils.Database) -> dict[str, int]:
    return dict(db.execute("SELECT id, due_day FROM cards WHERE id != ? ORDER BY id", [STAR]).fetchall())


def test_ticks_give_the_rating_live_and_missed_points_bring_their_notes_forward(
    db: sqlite_utils.Database,
) -> None:
    later = NOW + timedelta(days=1)
    session = make_controller(db, PLAIN, now=later, deck="Prep::Stories", tick=20.0)
    card = session.card()
    assert card is not None and card.id == STAR and session.rehearsal is not None
    assert session.tick(1).message == "Show the checklist first (Space or Enter)."
    session.reveal()
    spoken = session.speaking_seconds()
    assert spoken == session.speaking_seconds()  # stopped at the reveal
    assert session.rehearsal_rating() == Rating.AGAIN
    for number, rating in ((1, Rating.AGAIN), (3, Rating.AGAIN), (4, Rating.HARD), (2, Rating.GOOD)):
        session.tick(number)
        assert session.rehearsal_rating() == rating
    session.tick(2)  # untick: one point missed
    assert session.tick(7).message == "There is no point 7."
    assert session.rehearsal_rating() == Rating.HARD
    before = due_days(db)
    today = later.date().toordinal()
    outcome = session.commit()
    assert outcome.message.startswith("Hard: next in ")
    assert outcome.message.endswith("(3/4 points; 2 cards behind the missed points due today)")
    # point 2 covers shadow and canary: both due today now, with a log row each that keeps their memory
    assert due_days(db) == {"canary/card": today, "shadow/card": today}
    assert all(day > today for day in before.values())
    rows = db.execute("SELECT card_id, rating, kind, points, ticked FROM reviews ORDER BY id").fetchall()
    assert rows[-3:] == [
        (STAR, Rating.HARD, Kind.ANSWER, 4, "1 3 4"),
        ("shadow/card", 0, Kind.RESCHEDULED, None, None),  # point 2's notes, in the order given
        ("canary/card", 0, Kind.RESCHEDULED, None, None),
    ]
    assert scheduler.rebuild(db, PLAIN, write=False).changed == []
    states = db.execute("SELECT stability, reps FROM cards WHERE id != ? ORDER BY id", [STAR]).fetchall()
    assert [reps for _, reps in states] == [1, 1]
    # a session over their deck shows them today
    assert make_controller(db, PLAIN, now=later, deck="Prep::Facts").counts().review == 2
    # undo puts everything back
    assert session.undo().message == f"Undid the answer to {STAR}."
    assert due_days(db) == before
    assert db.execute("SELECT count(*) FROM reviews WHERE kind = ?", [Kind.RESCHEDULED]).fetchone()[0] == 0
    assert scheduler.rebuild(db, PLAIN, write=False).changed == []


def test_the_time_recorded_for_a_rehearsal_is_capped_at_three_times_its_target(
    db: sqlite_utils.Database,
) -> None:
    session = make_controller(db, PLAIN, now=NOW + timedelta(days=1), deck="Prep::Stories", tick=200.0)
    assert session.card() is not None
    session.reveal()
    for number in (1, 2, 3, 4):
        session.tick(number)
    assert session.speaking_seconds() > 90
    assert session.rehearsal_rating() == Rating.HARD  # every point, over time
    assert session.commit().answer is not None
    duration = db.execute("SELECT duration_ms FROM reviews ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert duration == 270_000  # not 60 s: a few times the 1m30s target


def test_a_scripted_rehearsal_reads_one_key_per_line(db: sqlite_utils.Database, db_path: Path) -> None:
    runner = CliRunner()
    env = {**os.environ, "CARDS_NOW": (NOW + timedelta(days=1)).isoformat()}
    result = runner.invoke(cli, ["review", "--deck", "Prep::Stories"], input="\n1\n3\n\nq\n", env=env)
    assert result.exit_code == 0, result.output
    assert "Time 0:00 / 1:30" in result.output
    assert "[x] 1. Situation: the fraud model drifted" in result.output
    assert "[ ] 2. Canary to 5 % of traffic first" in result.output
    assert "2/4 points, 0:00 of 1:30 → Again" in result.output
    assert "Again: next in 1m (2/4 points; 2 cards behind the missed points due today)" in result.output
    rows = db.execute("SELECT rating, points, ticked FROM reviews WHERE card_id = ?", [STAR]).fetchall()
    assert rows == [(Rating.AGAIN, 4, "1 3")]
    assert db.execute("SELECT state FROM cards WHERE id = ?", [STAR]).fetchone()[0] == State.LEARNING
    check = runner.invoke(cli, ["rebuild", "--check"], env=env)
    assert check.exit_code == 0, check.output
    shown = runner.invoke(cli, ["show", "shadow", "--json"], env=env)
    assert '"rescheduled": [' in shown.output


def test_stats_show_the_share_of_points_made_over_the_last_answers(db: sqlite_utils.Database) -> None:
    from flashcards import stats

    clock = NOW + timedelta(days=1)
    for ticks in ((1, 3), (1, 2, 3, 4)):
        session = make_controller(db, PLAIN, now=clock, deck="Prep::Stories")
        assert session.card() is not None
        session.reveal()
        for number in ticks:
            session.tick(number)
        session.commit()
        clock += timedelta(days=3)
    cram = make_controller(db, PLAIN, now=clock, deck="Prep::Stories", cram=True)
    assert cram.card() is not None
    cram.reveal()
    cram.commit()  # no point made, but a cram answer: not in stats
    figures = stats.collection_stats(db, clock)
    assert figures["rehearsals"] == [{"id": STAR, "answers": 2, "share": 0.75}]
    assert "    75%  of 2 answers  star-rollout/rehearse" in stats.render(figures)
    assert stats.collection_stats(db, clock, deck="Prep::Facts")["rehearsals"] == []
