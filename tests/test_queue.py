"""The review queue: order, daily limits from the log, siblings, scope, burying, undo."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import clock, scheduler
from flashcards.compiler import compile_decks
from flashcards.errors import CardsError
from flashcards.queue import Counts, ReviewQueue, deck_status
from flashcards.scheduler import AGAIN, GOOD
from flashcards.settings import DeckSettings, Settings

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PLAIN = Settings(DeckSettings(enable_fuzzing=False))


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


def make_due(db: sqlite_utils.Database, card_id: str, state: int, due: datetime) -> None:
    db.execute(
        "UPDATE cards SET state = ?, step = ?, stability = 5, difficulty = 5, due = ?, last_review = ? WHERE id = ?",
        [
            state,
            0 if state in (1, 3) else None,
            clock.to_db(due),
            clock.to_db(due - timedelta(days=5)),
            card_id,
        ],
    )


def drain(queue: ReviewQueue, now: datetime, rating: int = GOOD) -> list[str]:
    seen = []
    while (card := queue.next(now)) is not None:
        seen.append(card.id)
        queue.answer(card, rating, now, 1000)
    return seen


def test_new_cards_come_in_source_order_and_siblings_are_buried(db: sqlite_utils.Database) -> None:
    queue = ReviewQueue(db, PLAIN, new_limit=100)
    shown = []
    for _ in range(7):
        card = queue.next(NOW)
        assert card is not None
        shown.append(card.id)
        queue.answer(card, GOOD, NOW, 1000)
    assert shown == [cid("a1"), cid("a2"), cid("a3"), "reversed:pair/card", cid("b1"), cid("b2"), cid("c1")]
    assert queue.next(NOW) is None  # the reverse sibling is buried; learning cards are not yet due


def test_learning_first_then_reviews_by_due_then_new(db: sqlite_utils.Database) -> None:
    make_due(db, cid("b2"), 2, NOW - timedelta(days=1))
    make_due(db, cid("b1"), 2, NOW - timedelta(days=3))
    make_due(db, cid("a3"), 3, NOW - timedelta(minutes=5))
    make_due(db, cid("c1"), 1, NOW + timedelta(minutes=5))  # learning, not yet due
    queue = ReviewQueue(db, PLAIN, new_limit=0)
    assert queue.counts(NOW) == Counts(new=0, learning=2, review=2)
    first = queue.next(NOW)
    assert first is not None and first.id == cid("a3") and first.kind == "learning"
    queue.answer(first, GOOD, NOW, 1000)
    assert [c for c in drain(queue, NOW)] == [cid("b1"), cid("b2")]
    assert queue.next_learning_due(NOW) == NOW + timedelta(minutes=5)
    later = NOW + timedelta(minutes=5)
    assert [queue.next(later).id] == [cid("c1")]  # type: ignore[union-attr]


def test_reviews_due_later_today_count_and_tomorrows_do_not(db: sqlite_utils.Database) -> None:
    make_due(db, cid("a1"), 2, datetime(2026, 11, 28, 3, 59, tzinfo=UTC))  # before the 04:00 boundary
    make_due(db, cid("a2"), 2, datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    queue = ReviewQueue(db, PLAIN, new_limit=0)
    assert queue.counts(NOW).review == 1
    assert queue.next(NOW).id == cid("a1")  # type: ignore[union-attr]
    assert queue.due_tomorrow(NOW) == 1


def test_new_limit_counts_new_cards_answered_today_from_the_log(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, new_per_day=2))
    first = ReviewQueue(db, settings)
    assert first.counts(NOW).new == 2
    card = first.next(NOW)
    assert card is not None
    first.answer(card, AGAIN, NOW, 1000)
    second = ReviewQueue(db, settings)  # another session the same day
    assert second.counts(NOW).new == 1
    assert len([c for c in drain(second, NOW) if c != card.id]) == 1
    assert second.counts(NOW).new == 0
    tomorrow = NOW + timedelta(days=1)
    assert ReviewQueue(db, settings).counts(tomorrow).new == 2


def test_review_limit(db: sqlite_utils.Database) -> None:
    for front in ("a1", "a2", "a3", "b1"):
        make_due(db, cid(front), 2, NOW - timedelta(days=1))
    settings = Settings(DeckSettings(enable_fuzzing=False, reviews_per_day=3, new_per_day=0))
    assert len(drain(ReviewQueue(db, settings), NOW)) == 3
    assert ReviewQueue(db, settings).counts(NOW).review == 0


def test_deck_scope_includes_sub_decks_only(db: sqlite_utils.Database) -> None:
    shown = drain(ReviewQueue(db, PLAIN, deck="A::Sub"), NOW)
    assert shown == [cid("b1"), cid("b2")]
    # a1 a2 a3, and one of pair and its reverse (answering one buries the other)
    assert ReviewQueue(db, PLAIN, deck="A").counts(NOW).new == 4
    assert drain(ReviewQueue(db, PLAIN, deck="AB"), NOW) == [cid("c1")]


def test_new_and_limit_options_override_for_one_session(db: sqlite_utils.Database) -> None:
    assert ReviewQueue(db, PLAIN, new_limit=2).counts(NOW).new == 2
    for front in ("a1", "a2"):
        make_due(db, cid(front), 2, NOW - timedelta(days=1))
    limited = ReviewQueue(db, PLAIN, limit=3)
    assert limited.counts(NOW) == Counts(new=1, learning=0, review=2)
    started = drain(limited, NOW, rating=AGAIN)
    # three cards started; the failed ones come back through their (re)learning steps
    assert len(set(started)) == 3
    assert limited.next(NOW + timedelta(minutes=1)) is not None
    assert limited.counts(NOW + timedelta(minutes=1)).new == 0


def test_configured_deck_limit_caps_its_sub_tree(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False), {"A::Sub": {"new_per_day": 1}})
    queue = ReviewQueue(db, settings)
    assert queue.counts(NOW).new == 6  # 4 in A itself (pair once), 1 of the 2 in A::Sub, 1 in AB
    shown = drain(queue, NOW)
    assert [c for c in shown if "b" in c.split(":")[1][:1]] == [cid("b1")]


def test_suspended_retired_and_buried_cards_never_appear(
    db: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path
) -> None:
    db.execute("UPDATE cards SET suspended = 1 WHERE id = ?", [cid("a1")])
    write_deck("c.yaml", "deck: AB\nnotes:\n" + basic("c2"))
    compile_decks(db, decks, NOW)
    queue = ReviewQueue(db, PLAIN, new_limit=100)
    card = queue.next(NOW)
    assert card is not None and card.id == cid("a2")
    queue.bury(card, NOW)
    shown = drain(queue, NOW)
    assert not {cid("a1"), cid("a2"), cid("c1")} & set(shown)
    assert cid("c2") in shown
    assert cid("a2") in drain(ReviewQueue(db, PLAIN), NOW + timedelta(days=1))


def test_new_cards_are_spread_among_reviews(db: sqlite_utils.Database) -> None:
    for front in ("a1", "a2", "a3", "b1"):
        make_due(db, cid(front), 2, NOW - timedelta(days=1))
    settings = Settings(DeckSettings(enable_fuzzing=False, new_per_day=2))
    kinds = []
    queue = ReviewQueue(db, settings)
    while (card := queue.next(NOW)) is not None and len(kinds) < 6:
        kinds.append(card.kind)
        queue.answer(card, GOOD, NOW, 1000)
    assert kinds == ["review", "review", "new", "review", "new", "review"]


def test_undo_puts_the_card_back_and_the_summary_too(db: sqlite_utils.Database) -> None:
    queue = ReviewQueue(db, PLAIN)
    card = queue.next(NOW)
    assert card is not None
    queue.answer(card, AGAIN, NOW, 2000)
    assert (queue.summary.answered, queue.summary.again, queue.summary.duration_ms) == (1, 1, 2000)
    assert queue.undo() == card
    assert (queue.summary.answered, queue.summary.again, queue.summary.duration_ms) == (0, 0, 0)
    assert queue.next(NOW) == card
    assert queue.undo() is None


def test_session_retention_counts_review_cards(db: sqlite_utils.Database) -> None:
    for front in ("a1", "a2"):
        make_due(db, cid(front), 2, NOW - timedelta(days=1))
    queue = ReviewQueue(db, PLAIN, new_limit=0)
    queue.answer(queue.next(NOW), AGAIN, NOW, 1000)  # type: ignore[arg-type]
    queue.answer(queue.next(NOW), GOOD, NOW, 1000)  # type: ignore[arg-type]
    assert queue.summary.retention == 0.5


def test_deck_status_per_deck(db: sqlite_utils.Database) -> None:
    make_due(db, cid("b1"), 2, NOW - timedelta(days=1))
    make_due(db, cid("c1"), 1, NOW + timedelta(minutes=30))
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
    settings = Settings(DeckSettings(enable_fuzzing=False, new_per_day=3))
    assert len(drain(ReviewQueue(db, settings), NOW)) == 3  # the daily limit is used up
    assert ReviewQueue(db, settings).counts(NOW).new == 0
    session = ReviewQueue(db, settings, new_limit=2)
    assert session.counts(NOW).new == 2
    assert drain(session, NOW) == ["reversed:pair/card", cid("b1")]
    assert session.counts(NOW).new == 0
    more = ReviewQueue(db, settings, new_limit=10)  # above the daily limit: what is left
    assert more.counts(NOW).new == 2  # b2 and c1; pair's reverse is buried
    assert len(drain(more, NOW)) == 2


def test_undo_gives_back_the_new_option_budget(db: sqlite_utils.Database) -> None:
    queue = ReviewQueue(db, PLAIN, new_limit=1)
    card = queue.next(NOW)
    assert card is not None
    queue.answer(card, GOOD, NOW, 1000)
    assert queue.next(NOW) is None
    assert queue.undo() == card
    assert queue.next(NOW) == card


def test_top_level_limit_caps_a_deck_review_and_its_status_row(db: sqlite_utils.Database) -> None:
    settings = Settings(DeckSettings(enable_fuzzing=False, new_per_day=3))
    assert len(drain(ReviewQueue(db, settings, deck="A::Sub"), NOW)) == 2
    status = {s.deck: s.counts.new for s in deck_status(db, settings, NOW)}
    assert status == {"A": 1, "A::Sub": 0, "AB": 1}
    assert ReviewQueue(db, settings).counts(NOW).new == 1
    deck_queue = ReviewQueue(db, settings, deck="A")
    assert deck_queue.counts(NOW).new == 1
    assert len([c for c in drain(deck_queue, NOW) if c.startswith("basic:a")]) == 1
    assert ReviewQueue(db, settings, deck="AB").counts(NOW).new == 0
    assert drain(ReviewQueue(db, settings, deck="AB"), NOW) == []
    assert all(s.counts.new == 0 for s in deck_status(db, settings, NOW))


def test_status_rows_count_what_a_review_of_the_deck_shows(db: sqlite_utils.Database, tmp_path: Path) -> None:
    settings = Settings(
        DeckSettings(enable_fuzzing=False),
        {"A": {"new_per_day": 4}, "A::Sub": {"new_per_day": 1}},
    )
    make_due(db, cid("a3"), 2, NOW - timedelta(days=1))
    db.execute("UPDATE cards SET note_id = ? WHERE id = ?", ["basic:a3", cid("a2")])  # a3's sibling now
    status = {s.deck: s.counts.new for s in deck_status(db, settings, NOW)}
    # A: a1 and one of pair (a2 is buried once its due sibling a3 is answered), 1 of A::Sub's 2
    assert status == {"A": 3, "A::Sub": 1, "AB": 1}
    for deck, new in status.items():
        assert ReviewQueue(db, settings, deck=deck).counts(NOW).new == new
        copy = sqlite_utils.Database(tmp_path / f"{deck}.db")
        db.conn.backup(copy.conn)
        shown = drain(ReviewQueue(copy, settings, deck=deck), NOW)
        assert len([c for c in shown if c != cid("a3")]) == new


def test_a_failed_undo_keeps_the_session_counters(db: sqlite_utils.Database) -> None:
    queue = ReviewQueue(db, PLAIN, limit=1)
    card = queue.next(NOW)
    assert card is not None
    queue.answer(card, GOOD, NOW, 1000)
    later = NOW + timedelta(minutes=10)
    scheduler.answer(db, card.id, GOOD, later, 1000, PLAIN)  # another session answers it again
    with pytest.raises(CardsError, match="answered again since"):
        queue.undo()
    assert queue.summary.answered == 1
    assert queue.next(later) is None  # the --limit 1 budget stays used
