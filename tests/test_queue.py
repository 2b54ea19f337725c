"""The review queue: order, daily limits from the log, siblings, scope, burying.

Whole sessions are driven in-process through the review controller, as a front-end drives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import clock
from flashcards.compiler import compile_decks
from flashcards.queue import Counts, ReviewQueue, deck_status
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Rating, State
from tests.conftest import ManualClock, answer, drain, make_controller

AGAIN, GOOD = Rating.AGAIN, Rating.GOOD

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PLAIN = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0))


@pytest.fixture(autouse=True)
def local_zone_from_env() -> None:
    """Apply $TZ (UTC, from conftest) even if an earlier test changed the process's zone."""
    time.tzset()


def basic(*fronts: str) -> str:
    return "".join(f"  - front: {f}\n    back: answer {f}\n" for f in fronts)


@pytest.fixture
def db(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> sqlite_utils.Database:
    write_deck(
        "a.yaml",
        "deck: A\nnotes:\n"
        + basic("a1", "a2", "a3")
        + "  - type: reversed\n    front: pair\n    back: twin\n",
    )
    write_deck("b.yaml", "deck: A::Sub\nnotes:\n" + basic("b1", "b2"))
    write_deck("c.yaml", "deck: AB\nnotes:\n" + basic("c1"))
    compile_decks(fresh_db, decks, NOW - timedelta(days=30))
    return fresh_db


def cid(front: str) -> str:
    return f"basic:{front}/card"


def make_due(db: sqlite_utils.Database, card_id: str, state: State, due: datetime) -> None:
    """Make a card due: a review card on the study day of ``due``, a learning card at ``due``."""
    day = clock.study_day(due) if state == State.REVIEW else None
    db.execute(
        "UPDATE cards SET state = ?, step = ?, stability = 5, difficulty = 5, due = ?, due_day = ?, "
        "last_review = ? WHERE id = ?",
        [
            state,
            0 if state in (State.LEARNING, State.RELEARNING) else None,
            clock.to_db(clock.day_start(day) if day else due),
            day.toordinal() if day else None,
            clock.to_db(due - timedelta(days=5)),
            card_id,
        ],
    )


def test_new_cards_come_in_source_order_and_siblings_are_buried(db: sqlite_utils.Database) -> None:
    session = make_controller(db, PLAIN, now=NOW, new_limit=100)
    shown = drain(session)
    assert shown == [cid("a1"), cid("a2"), cid("a3"), "reversed:pair/card", cid("b1"), cid("b2"), cid("c1")]
    assert session.card() is None  # the reverse sibling is buried; learning cards are not yet due


def test_learning_first_then_reviews_by_due_then_new(db: sqlite_utils.Database) -> None:
    make_due(db, cid("b2"), State.REVIEW, NOW - timedelta(days=1))
    make_due(db, cid("b1"), State.REVIEW, NOW - timedelta(days=3))
    make_due(db, cid("a3"), State.RELEARNING, NOW - timedelta(minutes=5))
    make_due(db, cid("c1"), State.LEARNING, NOW + timedelta(minutes=5))  # learning, not yet due
    now = ManualClock(NOW)
    session = make_controller(db, PLAIN, now=now, new_limit=0)
    assert session.counts() == Counts(new=0, learning=2, review=2)
    first = session.card()
    assert first is not None and first.id == cid("a3") and first.kind == "learning"
    answer(session, GOOD)
    assert drain(session) == [cid("b1"), cid("b2")]
    assert session.next_learning_due() == NOW + timedelta(minutes=5)
    now.now = NOW + timedelta(minutes=5)
    assert drain(session) == [cid("c1")]


def test_reviews_due_later_today_count_and_tomorrows_do_not(db: sqlite_utils.Database) -> None:
    make_due(
        db, cid("a1"), State.REVIEW, datetime(2026, 11, 28, 3, 59, tzinfo=UTC)
    )  # before the 04:00 boundary
    make_due(db, cid("a2"), State.REVIEW, datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    queue = ReviewQueue(db, PLAIN, new_limit=0)
    assert queue.counts(NOW).review == 1
    assert queue.next(NOW).id == cid("a1")  # type: ignore[union-attr]
    assert queue.due_tomorrow(NOW) == 1


def test_new_limit_counts_new_cards_answered_today_from_the_log(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, new_per_day=2))
    first = make_controller(db, settings, now=NOW)
    assert first.counts().new == 2
    card = first.card()
    assert card is not None
    answer(first, AGAIN)
    second = make_controller(db, settings, now=NOW)  # another session the same day
    assert second.counts().new == 1
    assert len([c for c in drain(second) if c != card.id]) == 1
    assert second.counts().new == 0
    tomorrow = NOW + timedelta(days=1)
    assert ReviewQueue(db, settings).counts(tomorrow).new == 2


def test_review_limit(db: sqlite_utils.Database) -> None:
    for front in ("a1", "a2", "a3", "b1"):
        make_due(db, cid(front), State.REVIEW, NOW - timedelta(days=1))
    settings = Settings(
        DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, reviews_per_day=3, new_per_day=0)
    )
    assert len(drain(make_controller(db, settings, now=NOW))) == 3
    assert ReviewQueue(db, settings).counts(NOW).review == 0


def test_deck_scope_includes_sub_decks_only(db: sqlite_utils.Database) -> None:
    shown = drain(make_controller(db, PLAIN, now=NOW, deck="A::Sub"))
    assert shown == [cid("b1"), cid("b2")]
    # a1 a2 a3, and one of pair and its reverse (answering one buries the other)
    assert ReviewQueue(db, PLAIN, deck="A").counts(NOW).new == 4
    assert drain(make_controller(db, PLAIN, now=NOW, deck="AB")) == [cid("c1")]


def test_new_and_limit_options_override_for_one_session(db: sqlite_utils.Database) -> None:
    assert ReviewQueue(db, PLAIN, new_limit=2).counts(NOW).new == 2
    for front in ("a1", "a2"):
        make_due(db, cid(front), State.REVIEW, NOW - timedelta(days=1))
    now = ManualClock(NOW)
    limited = make_controller(db, PLAIN, now=now, limit=3)
    assert limited.counts() == Counts(new=1, learning=0, review=2)
    started = drain(limited, rating=AGAIN)
    # three cards started; the failed ones come back through their (re)learning steps
    assert len(set(started)) == 3
    now.now = NOW + timedelta(minutes=1)
    assert limited.card() is not None
    assert limited.counts().new == 0


def test_configured_deck_limit_caps_its_sub_tree(db: sqlite_utils.Database) -> None:
    settings = Settings(
        DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0), {"A::Sub": {"new_per_day": 1}}
    )
    session = make_controller(db, settings, now=NOW)
    assert session.counts().new == 6  # 4 in A itself (pair once), 1 of the 2 in A::Sub, 1 in AB
    shown = drain(session)
    assert [c for c in shown if "b" in c.split(":")[1][:1]] == [cid("b1")]


def test_suspended_retired_and_buried_cards_never_appear(
    db: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path
) -> None:
    db.execute("UPDATE cards SET suspended = 1 WHERE id = ?", [cid("a1")])
    write_deck("c.yaml", "deck: AB\nnotes:\n" + basic("c2"))
    compile_decks(db, decks, NOW)
    session = make_controller(db, PLAIN, now=NOW, new_limit=100)
    card = session.card()
    assert card is not None and card.id == cid("a2")
    assert session.bury().message == "Buried until tomorrow."
    shown = drain(session)
    assert not {cid("a1"), cid("a2"), cid("c1")} & set(shown)
    assert cid("c2") in shown
    assert cid("a2") in drain(make_controller(db, PLAIN, now=NOW + timedelta(days=1)))


def test_new_cards_are_spread_among_reviews(db: sqlite_utils.Database) -> None:
    for front in ("a1", "a2", "a3", "b1"):
        make_due(db, cid(front), State.REVIEW, NOW - timedelta(days=1))
    settings = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, new_per_day=2))
    kinds = []
    session = make_controller(db, settings, now=NOW)
    while (card := session.card()) is not None and len(kinds) < 6:
        kinds.append(card.kind)
        answer(session, GOOD)
    assert kinds == ["review", "review", "new", "review", "new", "review"]


def test_deck_status_per_deck(db: sqlite_utils.Database) -> None:
    make_due(db, cid("b1"), State.REVIEW, NOW - timedelta(days=1))
    make_due(db, cid("c1"), State.LEARNING, NOW + timedelta(minutes=30))
    status = {s.deck: s for s in deck_status(db, PLAIN, NOW)}
    assert list(status) == ["A", "A::Sub", "AB"]
    assert status["A"].counts == Counts(new=5, learning=0, review=1)  # A::Sub included
    assert status["A::Sub"].counts == Counts(new=1, learning=0, review=1)
    assert status["AB"].counts == Counts(new=0, learning=1, review=0)
    assert status["AB"].as_dict() == {
        "deck": "AB",
        "new": 0,
        "learning": 1,
        "review": 0,
        "next_learning": "2026-11-27T09:30:00.000000+00:00",
    }


def test_new_option_counts_this_sessions_new_cards_not_todays(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, new_per_day=3))
    assert len(drain(make_controller(db, settings, now=NOW))) == 3  # the daily limit is used up
    assert ReviewQueue(db, settings).counts(NOW).new == 0
    session = make_controller(db, settings, now=NOW, new_limit=2)
    assert session.counts().new == 2
    assert drain(session) == ["reversed:pair/card", cid("b1")]
    assert session.counts().new == 0
    more = make_controller(db, settings, now=NOW, new_limit=10)  # above the daily limit: what is left
    assert more.counts().new == 2  # b2 and c1; pair's reverse is buried
    assert len(drain(more)) == 2


def test_top_level_limit_caps_a_deck_review_and_its_status_row(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, new_per_day=3))
    assert len(drain(make_controller(db, settings, now=NOW, deck="A::Sub"))) == 2
    status = {s.deck: s.counts.new for s in deck_status(db, settings, NOW)}
    assert status == {"A": 1, "A::Sub": 0, "AB": 1}
    assert ReviewQueue(db, settings).counts(NOW).new == 1
    deck_queue = ReviewQueue(db, settings, deck="A")
    assert deck_queue.counts(NOW).new == 1
    assert (
        len([c for c in drain(make_controller(db, settings, now=NOW, deck="A")) if c.startswith("basic:a")])
        == 1
    )
    assert ReviewQueue(db, settings, deck="AB").counts(NOW).new == 0
    assert drain(make_controller(db, settings, now=NOW, deck="AB")) == []
    assert all(s.counts.new == 0 for s in deck_status(db, settings, NOW))


def test_status_rows_count_what_a_review_of_the_deck_shows(db: sqlite_utils.Database, tmp_path: Path) -> None:
    settings = Settings(
        DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0),
        {"A": {"new_per_day": 4}, "A::Sub": {"new_per_day": 1}},
    )
    make_due(db, cid("a3"), State.REVIEW, NOW - timedelta(days=1))
    db.execute("UPDATE cards SET note_id = ? WHERE id = ?", ["basic:a3", cid("a2")])  # a3's sibling now
    status = {s.deck: s.counts.new for s in deck_status(db, settings, NOW)}
    # A: a1 and one of pair (a2 is buried once its due sibling a3 is answered), 1 of A::Sub's 2
    assert status == {"A": 3, "A::Sub": 1, "AB": 1}
    for deck, new in status.items():
        assert ReviewQueue(db, settings, deck=deck).counts(NOW).new == new
        copy = sqlite_utils.Database(tmp_path / f"{deck}.db")
        db.conn.backup(copy.conn)
        shown = drain(make_controller(copy, settings, now=NOW, deck=deck))
        assert len([c for c in shown if c != cid("a3")]) == new


def test_new_cards_count_against_the_review_limit_as_in_anki(db: sqlite_utils.Database) -> None:
    for front in ("a1", "a2"):
        make_due(db, cid(front), State.REVIEW, NOW - timedelta(days=1))
    capped = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, reviews_per_day=3))
    assert ReviewQueue(db, capped).counts(NOW) == Counts(new=1, learning=0, review=2)
    ignoring = Settings(
        DeckSettings(enable_fuzzing=False, reviews_per_day=3, new_cards_ignore_review_limit=True)
    )
    assert ReviewQueue(db, ignoring).counts(NOW).new == 5  # a3, one of pair, b1, b2, c1
    session = make_controller(db, capped, now=NOW)
    drain(session)
    assert session.summary.answered == 3
    assert (
        make_controller(db, capped, now=NOW).counts().new,
        ReviewQueue(db, capped).counts(NOW).review,
    ) == (0, 0)


@pytest.mark.parametrize("bury_new", [True, False])
def test_burying_new_siblings_is_a_setting(db: sqlite_utils.Database, bury_new: bool) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, bury_new=bury_new))
    assert ReviewQueue(db, settings, deck="A").counts(NOW).new == (6 if bury_new else 7)  # A::Sub too
    shown = drain(make_controller(db, settings, now=NOW, deck="A"))
    assert ("reversed:pair/reverse" in shown) is not bury_new


def test_bury_new_set_for_one_deck_counts_alike_in_status_and_in_every_session(
    db: sqlite_utils.Database,
) -> None:
    settings = Settings(
        DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0), {"A::Sub": {"bury_new": False}}
    )
    db.execute("UPDATE cards SET note_id = 'basic:b1' WHERE id = ?", [cid("b2")])  # b1 and b2: one note
    status = {s.deck: s.counts.new for s in deck_status(db, settings, NOW)}
    assert status["A::Sub"] == 2  # both: answering one does not bury the other there
    assert ReviewQueue(db, settings, deck="A::Sub").counts(NOW).new == 2
    assert ReviewQueue(db, settings).counts(NOW).new == status["A"] + status["AB"] == 7
    shown = drain(make_controller(db, settings, now=NOW))
    assert {cid("b1"), cid("b2")} <= set(shown) and len(shown) == 7


def test_interday_steps_take_from_the_review_limit_as_in_anki(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> None:
    """Steps 10m 1d, 2 reviews a day: tomorrow's two interday cards use the day's review limit."""
    write_deck("d.yaml", "deck: D\nnotes:\n" + basic("d1", "d2", "d3", "d4"))
    compile_decks(fresh_db, decks, NOW)
    settings = Settings(
        DeckSettings(enable_fuzzing=False, learn_ahead_minutes=0, reviews_per_day=2, new_per_day=10,
                     learning_steps=(timedelta(minutes=10), timedelta(days=1)))
    )  # fmt: skip
    first = make_controller(fresh_db, settings, now=NOW, new_limit=2)
    assert len(drain(first)) == 2  # Good: to the one-day step
    tomorrow = NOW + timedelta(days=1)
    assert ReviewQueue(fresh_db, settings).counts(tomorrow) == Counts(new=0, learning=2, review=0)
    assert [s.counts for s in deck_status(fresh_db, settings, tomorrow)] == [Counts(0, 2, 0)]
    session = make_controller(fresh_db, settings, now=tomorrow)
    assert [c.split("/")[0] for c in drain(session)] == ["basic:d1", "basic:d2"]
    # both answers were reviews by Anki's count: nothing is left today, new cards included
    assert make_controller(fresh_db, settings, now=tomorrow).counts() == Counts(0, 0, 0)
