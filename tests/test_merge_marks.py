"""Replay marks: a merge of answers given after a card's whole log goes on from where the last
replay ended, and gives the rows and states a replay of the whole log gives."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashcards import clock, merge, reviewlog, scheduler
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Kind, State

from .test_import import SETTINGS, START, compiled

# one answer from elsewhere: rating, minutes after the one before, the state it left, its step
ANSWER = st.tuples(
    st.integers(1, 4),
    st.sampled_from([1, 10, 300, 1440 * 2 - 5, 1440 * 9, 1440 * 40]),
    st.sampled_from([State.LEARNING, State.REVIEW, State.RELEARNING]),
    st.sampled_from([None, 0, 1]),
)


def incoming(
    card_id: str, index: int, at_minutes: int, answer: tuple[Any, ...], kind: Kind
) -> merge.Incoming:
    rating, _, state, step = answer
    at = START + timedelta(minutes=at_minutes)
    review = state == State.REVIEW
    return merge.Incoming(
        card_id=card_id,
        rating=rating,
        reviewed_at=clock.to_db(at),
        duration_ms=3000,
        source="journal:elsewhere",
        source_id=f"{card_id}:{index}",
        state=state,
        due=clock.to_db(at + (timedelta(days=3) if review else timedelta(minutes=10))),
        due_day=(at + timedelta(days=3)).date().toordinal() if review else None,
        step=None if review else step,
        kind=kind,
    )


def offers(card_id: str, answers: list[merge.Incoming]) -> Iterator[merge.Offer]:
    if answers:
        yield merge.Offer(
            card_id,
            "journal:elsewhere",
            [None] * len(answers),
            lambda position: answers[position].source_id,
            lambda positions: [answers[position] for position in positions],
        )


def take_in(db: Any, card_id: str, answers: list[merge.Incoming], deck_settings: Settings = SETTINGS) -> int:
    with db.conn:
        db.execute("BEGIN")
        return merge.take_in(db, deck_settings, offers(card_id, answers)).added


def log_and_card(db: Any, card_id: str) -> tuple[list[Any], Any]:
    rows = db.execute(
        "SELECT rating, reviewed_at, due, state_before, state, stability, difficulty, due_day, step, day_end, "
        "source, source_id, anki_id, kind FROM reviews WHERE card_id = ? ORDER BY reviewed_at, id",
        [card_id],
    ).fetchall()
    return rows, db.execute("SELECT * FROM cards WHERE id = ?", [card_id]).fetchone()


@pytest.fixture
def read_in_full(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cards whose whole history a merge read (and replayed)."""
    read: list[str] = []
    histories = merge._histories

    def spy(db: Any, card_ids: list[str]) -> Any:
        read.extend(card_ids)
        return histories(db, card_ids)

    monkeypatch.setattr(merge, "_histories", spy)
    return read


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.lists(ANSWER, min_size=2, max_size=12), cut=st.integers(1, 11), here=st.booleans())
def test_going_on_from_a_mark_gives_what_the_whole_log_gives(
    tmp_path_factory: pytest.TempPathFactory, answers: list[tuple[Any, ...]], cut: int, here: bool
) -> None:
    """The same answers merged at once, in two merges (the second going on from the mark), and in
    two merges with the mark forgotten between them give the same log and card state, which a
    replay of the whole log (``rebuild --check``) finds nothing to correct in. With ``here``, an
    answer given here first (a review path the merge does not write)."""
    cut = min(cut, len(answers) - 1)
    results = []
    for way in ("at once", "from the mark", "in full"):
        db = compiled(tmp_path_factory.mktemp("marks"))
        card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
        start = 0
        if here:
            scheduler.answer(db, card_id, 3, START, 2000, SETTINGS)
            start = 1
        at = start
        built = []
        for index, answer in enumerate(answers):
            at += answer[1]
            built.append(incoming(card_id, index, at, answer, Kind.ANSWER))
        if way == "at once":
            assert take_in(db, card_id, built) == len(built)
        else:
            assert take_in(db, card_id, built[:cut]) == cut
            assert db.execute(
                "SELECT count(*) FROM replay_marks WHERE card_id = ?", [card_id]
            ).fetchone() == (1,)
            if way == "in full":
                reviewlog.forget_marks(db, [card_id])
            assert take_in(db, card_id, built[cut:]) == len(built) - cut
            assert take_in(db, card_id, built) == 0  # taken in before: found through the index
        assert scheduler.rebuild(db, SETTINGS, write=False).changed == []
        results.append(log_and_card(db, card_id))
        db.conn.close()
    assert results[0] == results[1] == results[2]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.one_of(st.tuples(st.just("here"), st.integers(1, 4), st.integers(1, 3000)), ANSWER),
        min_size=3,
        max_size=14,
    )
)
def test_answers_here_between_merges_carry_the_mark_as_a_replay_would(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[Any, ...]]
) -> None:
    """Answers given here and merged from elsewhere, in turns: keeping marks (carried over each
    answer here, gone on from by each merge) gives the log and card state that forgetting them
    before every merge gives, which a replay of the whole log finds nothing to correct in."""
    results = []
    for keep in (True, False):
        db = compiled(tmp_path_factory.mktemp("turns"))
        card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
        at = 0
        for index, step in enumerate(steps):
            if step[0] == "here":
                at += step[2]
                scheduler.answer(db, card_id, step[1], START + timedelta(minutes=at), 2000, SETTINGS)
                continue
            at += step[1]
            if not keep:
                reviewlog.forget_marks(db, [card_id])
            assert take_in(db, card_id, [incoming(card_id, index, at, step, Kind.ANSWER)]) == 1
        if keep and any(step[0] != "here" for step in steps):
            assert db.execute("SELECT count(*) FROM replay_marks").fetchone() == (1,)
        assert scheduler.rebuild(db, SETTINGS, write=False).changed == []
        results.append(log_and_card(db, card_id))
        db.conn.close()
    assert results[0] == results[1]


def test_an_answer_here_carries_the_mark_and_the_next_merge_goes_on_from_it(
    tmp_path: Path, read_in_full: list[str]
) -> None:
    """A learning card answered here moves to its second step; a learning answer from elsewhere
    without its step then counts on from it. Going on from the carried mark (no history read)
    logs what a merge that forgot the mark logs."""
    results = []
    for keep in (True, False):
        db = compiled(tmp_path / f"keep-{keep}")
        card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
        take_in(db, card_id, [incoming(card_id, 0, 0, (1, 0, State.LEARNING, 0), Kind.ANSWER)])
        scheduler.answer(db, card_id, 3, START + timedelta(minutes=2), 2000, SETTINGS)
        assert db.execute("SELECT step FROM cards WHERE id = ?", [card_id]).fetchone() == (1,)
        if not keep:
            reviewlog.forget_marks(db, [card_id])
        read_in_full.clear()
        assert take_in(db, card_id, [incoming(card_id, 1, 5, (2, 0, State.LEARNING, None), Kind.ANSWER)]) == 1
        assert read_in_full == ([] if keep else [card_id])
        assert scheduler.rebuild(db, SETTINGS, write=False).changed == []
        results.append(log_and_card(db, card_id))
        db.conn.close()
    assert results[0] == results[1]
    assert results[0][0][-1][8] == 1  # Hard repeats the step the answer here reached


def test_a_merge_goes_on_from_the_mark_and_reads_no_history(tmp_path: Path, read_in_full: list[str]) -> None:
    db = compiled(tmp_path / "c")
    card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
    first = [incoming(card_id, i, 60 * 24 * 3 * i, (3, 0, State.REVIEW, None), Kind.ANSWER) for i in range(5)]
    take_in(db, card_id, first)
    assert read_in_full == [card_id]  # no mark yet: the (empty) history is read
    read_in_full.clear()
    later = [
        incoming(card_id, 5 + i, 60 * 24 * 3 * (5 + i), (3, 0, State.REVIEW, None), Kind.ANSWER)
        for i in range(2)
    ]
    assert take_in(db, card_id, later) == 2
    assert take_in(db, card_id, later) == 0  # again: already taken in, still without reading it
    assert read_in_full == []
    assert scheduler.rebuild(db, SETTINGS, write=False).changed == []


@pytest.mark.parametrize(
    "change",
    ["earlier answer", "cram answer", "cram here", "undo", "other steps"],
)
def test_what_the_mark_cannot_go_on_from_reads_the_whole_log(
    tmp_path: Path, read_in_full: list[str], change: str
) -> None:
    """An answer placed before the card's last row, a row that is not an answer (from elsewhere,
    or given here), an undo, rules that changed: the whole log is read and replayed again."""
    db = compiled(tmp_path / "c")
    card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
    day = 60 * 24
    take_in(
        db,
        card_id,
        [incoming(card_id, i, 3 * day * i, (3, 0, State.REVIEW, None), Kind.ANSWER) for i in range(4)],
    )
    read_in_full.clear()
    at, kind, rules = 20 * day, Kind.ANSWER, SETTINGS
    if change == "earlier answer":
        at = 3 * day * 3 - 60
    elif change == "cram answer":
        kind = Kind.CRAM
    elif change == "cram here":
        scheduler.cram(db, card_id, 1, START + timedelta(days=15), 2000, SETTINGS)
    elif change == "undo":
        done = scheduler.answer(db, card_id, 1, START + timedelta(days=15), 2000, SETTINGS)
        scheduler.undo(db, done, SETTINGS)
    else:
        rules = Settings(defaults=DeckSettings(enable_fuzzing=False, learning_steps=(timedelta(minutes=5),)))
    assert take_in(db, card_id, [incoming(card_id, 9, at, (1, 0, State.RELEARNING, 0), kind)], rules) == 1
    assert read_in_full == [card_id]
    assert scheduler.rebuild(db, rules, write=False).changed == []


def test_every_change_to_a_cards_log_forgets_its_mark(tmp_path: Path) -> None:
    """An undo, a bulk load, a card renamed: each forgets the mark (a merge's own rows write it
    again, and an answer here after all its rows carries it over itself)."""
    db = compiled(tmp_path / "c")
    card_id, other = [row[0] for row in db.execute("SELECT id FROM cards ORDER BY id LIMIT 2")]

    def marked() -> set[str]:
        return {row[0] for row in db.execute("SELECT card_id FROM replay_marks")}

    def merged(index: int) -> None:
        for card in (card_id, other):
            take_in(
                db, card, [incoming(card, index, 3 * 1440 * index, (3, 0, State.REVIEW, None), Kind.ANSWER)]
            )

    merged(1)
    assert marked() == {card_id, other}
    done = scheduler.answer(db, card_id, 3, START + timedelta(days=10), 2000, SETTINGS)
    assert marked() == {card_id, other}  # carried over the answer
    take_in(db, card_id, [incoming(card_id, 2, 3 * 1440 * 2, (3, 0, State.REVIEW, None), Kind.ANSWER)])
    assert marked() == {card_id, other}  # an answer before the one given here: a mark written again
    scheduler.undo(db, done, SETTINGS)
    assert marked() == {other}
    merged(6)
    at = clock.to_db(START + timedelta(days=30))
    reviewlog.append_many(db, [(card_id, 3, at, 1000, at, State.REVIEW, State.REVIEW, 3.0, 5.0)])
    assert marked() == {other}
    reviewlog.move(db, other, card_id)
    assert marked() == set()


def test_a_rebuild_that_corrects_a_card_forgets_its_mark(tmp_path: Path) -> None:
    db = compiled(tmp_path / "c")
    card_id, other = [row[0] for row in db.execute("SELECT id FROM cards ORDER BY id LIMIT 2")]
    for card in (card_id, other):
        take_in(db, card, [incoming(card, 1, 60, (3, 0, State.REVIEW, None), Kind.ANSWER)])
    db.execute("UPDATE cards SET stability = 99 WHERE id = ?", [card_id])  # a cache gone wrong
    assert scheduler.rebuild(db, SETTINGS).changed == [card_id]
    assert [row[0] for row in db.execute("SELECT card_id FROM replay_marks")] == [other]


def test_the_rules_key_is_the_same_in_every_process_and_changes_with_the_rules() -> None:
    import subprocess
    import sys

    from flashcards.clock import StudyDays
    from flashcards.rules import Rules

    script = (
        "from flashcards.rules import Rules; from flashcards.settings import DeckSettings; "
        "from flashcards.clock import StudyDays; print(Rules(DeckSettings(), StudyDays()).replay_key)"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {str(Rules(DeckSettings(), StudyDays()).replay_key)}
    other = DeckSettings(learning_steps=(timedelta(minutes=5),))
    assert Rules(other, StudyDays()).replay_key != Rules(DeckSettings(), StudyDays()).replay_key
    assert Rules(DeckSettings(desired_retention=0.85), StudyDays()).replay_key != int(keys.pop())


def test_answers_offered_out_of_time_order_are_logged_and_replayed_in_time(tmp_path: Path) -> None:
    """A card's first merge (no history) places its answers in time as its log reads them back,
    whatever order a source offers them in, and its mark follows."""
    results = []
    for order in (1, -1):
        db = compiled(tmp_path / f"order{order}")
        card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
        answers = [
            incoming(card_id, 0, 10, (1, 0, State.LEARNING, 0), Kind.ANSWER),
            incoming(card_id, 1, 600, (3, 0, State.REVIEW, None), Kind.ANSWER),
        ]
        take_in(db, card_id, answers[::order])
        assert scheduler.rebuild(db, SETTINGS, write=False).changed == []
        take_in(db, card_id, [incoming(card_id, 2, 60 * 24 * 9, (3, 0, State.REVIEW, None), Kind.ANSWER)])
        assert scheduler.rebuild(db, SETTINGS, write=False).changed == []
        results.append(log_and_card(db, card_id)[1])
        db.conn.close()
    assert results[0][1:] == results[1][1:]


def test_an_undo_after_a_merge_placed_an_answer_before_it_gives_what_the_log_gives(tmp_path: Path) -> None:
    """Answered here; then another terminal's take-in merges an answer from elsewhere given just
    before it; then the answer here is undone: the card's state is the log's (the merged answer
    in it), not the one from before the answer here."""
    db = compiled(tmp_path / "c")
    card_id = db.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
    done = scheduler.answer(db, card_id, 3, START + timedelta(minutes=30), 2000, SETTINGS)
    take_in(db, card_id, [incoming(card_id, 0, 20, (3, 0, State.LEARNING, 1), Kind.ANSWER)])
    scheduler.undo(db, done, SETTINGS)
    assert db.execute("SELECT reps, state FROM cards WHERE id = ?", [card_id]).fetchone() == (
        1,
        State.LEARNING,
    )
    assert scheduler.rebuild(db, SETTINGS, write=False).changed == []
