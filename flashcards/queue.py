"""Today's review queue, and the answer / undo / bury actions of a session (no terminal code).

Order: learning and relearning cards when due (by due time); then due reviews; then new cards
within today's remaining limit (see :mod:`flashcards.limits`), in source order, spread among the
reviews. Every choice is read from the collection, so two sessions at once see each other's
answers. New cards are counted one per note (answering a card buries its siblings), leaving out
notes with another card due today.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from flashcards import clock, scheduler
from flashcards.browse import deck_filter
from flashcards.limits import Cap, capped_count, caps_for, done_today, in_deck, remaining
from flashcards.scheduler import AGAIN, LEARNING, NEW, RELEARNING, REVIEW, Answer
from flashcards.settings import Settings

_ACTIVE = "c.retired_at IS NULL AND c.suspended = 0 AND (c.buried_until IS NULL OR c.buried_until <= ?)"
_CARD_COLUMNS = "c.id, c.note_id, c.deck, c.front, c.back, c.state, c.due, n.source_file, n.source_line"
_NEW_ORDER = "n.source_file, c.position"
# a new card counts when it is its note's first available new card and no other card of the note
# is due today: answering any card of a note buries the rest (arguments: now, day end)
_COUNTED_NEW = (
    "c.state = 0 AND NOT EXISTS (SELECT 1 FROM cards s WHERE s.note_id = c.note_id AND s.id != c.id "
    "AND s.retired_at IS NULL AND s.suspended = 0 AND (s.buried_until IS NULL OR s.buried_until <= ?) "
    "AND ((s.state = 0 AND s.id < c.id) OR (s.state IN (1, 2, 3) AND s.due < ?)))"
)


@dataclass(frozen=True)
class QueuedCard:
    """A card as the session shows it."""

    id: str
    note_id: str
    deck: str
    front: str
    back: str
    state: int
    due: datetime | None
    source_file: str
    source_line: int

    @property
    def kind(self) -> str:
        """``new``, ``learning`` (learning or relearning) or ``review``."""
        return {NEW: "new", REVIEW: "review"}.get(self.state, "learning")


@dataclass(frozen=True)
class Counts:
    """What remains for today: new, learning, review."""

    new: int = 0
    learning: int = 0
    review: int = 0

    @property
    def total(self) -> int:
        """All remaining cards."""
        return self.new + self.learning + self.review


@dataclass
class Summary:
    """What a session did."""

    answered: int = 0
    again: int = 0
    reviewed_passed: int = 0
    reviewed: int = 0
    duration_ms: int = 0
    leeches: list[str] = field(default_factory=list)

    @property
    def retention(self) -> float | None:
        """Share of review-state answers that were not Again (None when there were none)."""
        return self.reviewed_passed / self.reviewed if self.reviewed else None


class ReviewQueue:
    """The queue of one session: which card comes next, and the actions on it."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: Settings,
        deck: str | None = None,
        new_limit: int | None = None,
        limit: int | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.deck = deck
        self.new_limit = new_limit
        self.limit = limit
        self.summary = Summary()
        self._history: list[tuple[Answer, QueuedCard, int, int, int]] = []
        self._since_new = 0
        self._started = 0
        self._new_started = 0
        self._new_window: list[str] | None = None
        self._window_size = 64

    # -- choosing ---------------------------------------------------------------------------

    def next(self, now: datetime) -> QueuedCard | None:
        """Return the card to show now, or None when nothing is due now."""
        learning = self._select("c.state IN (1, 3) AND c.due <= ?", [clock.to_db(now)], "c.due", now)
        if learning:
            return learning[0]
        if self.limit is not None and self._started >= self.limit:
            return None
        counts = self.counts(now)
        # spread new cards evenly: one after every (reviews left / new cards left) reviews
        pick_new = counts.new > 0 and self._since_new * counts.new >= counts.review
        if counts.review > 0 and not pick_new:
            return self._first_review(now)
        # a new card not counted (its note has a card due today) may still be shown when it is left
        return self._first_new(now)

    def counts(self, now: datetime) -> Counts:
        """Remaining cards for today within the limits: new, learning, review."""
        day_end = clock.to_db(self._day_end(now))
        learning = self._count("c.state IN (1, 3) AND c.due < ?", [day_end], now)
        caps, done = self._caps(), self._done_today(now)
        session = None if self.limit is None else max(0, self.limit - self._started)
        review = self._capped(caps, done, "review", "c.state = 2 AND c.due < ?", [day_end], now)
        new_caps, new_done = self._new_caps(caps, done)
        new = self._capped(new_caps, new_done, "new", _COUNTED_NEW, [clock.to_db(now), day_end], now)
        if session is not None:
            review = min(review, session)
            new = min(new, session - review)
        return Counts(new, learning, review)

    def next_learning_due(self, now: datetime) -> datetime | None:
        """When the next learning card later today becomes due (None if there is none)."""
        later = self._select(
            "c.state IN (1, 3) AND c.due > ? AND c.due < ?",
            [clock.to_db(now), clock.to_db(self._day_end(now))],
            "c.due",
            now,
        )
        return later[0].due if later else None

    def _first_review(self, now: datetime) -> QueuedCard | None:
        where, args = self._exhausted("review", now)
        day_end = clock.to_db(self._day_end(now))
        found = self._select(f"c.state = 2 AND c.due < ? AND {where}", [day_end, *args], "c.due", now)
        return found[0] if found else None

    def _first_new(self, now: datetime) -> QueuedCard | None:
        """The first new card in source order, looked up among a window of candidates.

        Sorting every new card by source order costs a pass over the table, so it is done once
        for a window of candidates; each pick then re-checks the window in the collection.
        """
        where, args = self._exhausted("new", now)
        while True:
            if self._new_window is None:
                scope, scope_args = deck_filter(self.deck, "c.deck")
                rows = self.db.execute(
                    f"SELECT c.id FROM cards c JOIN notes n ON n.id = c.note_id WHERE {_ACTIVE} AND {scope} "
                    f"AND c.state = 0 ORDER BY {_NEW_ORDER} LIMIT ?",
                    [clock.to_db(now), *scope_args, self._window_size],
                )
                self._new_window = [str(row[0]) for row in rows]
            window = self._new_window
            marks = ", ".join("?" * len(window))
            # '+c.state' keeps SQLite on the primary key for the window instead of the state index
            found = self._select(
                f"+c.state = 0 AND {where} AND c.id IN ({marks})", [*args, *window], _NEW_ORDER, now
            )
            if found or len(window) < self._window_size:
                return found[0] if found else None
            self._new_window, self._window_size = None, self._window_size * 8

    def _select(self, where: str, args: list[Any], order: str, now: datetime) -> list[QueuedCard]:
        scope, scope_args = deck_filter(self.deck, "c.deck")
        rows = self.db.execute(
            f"SELECT {_CARD_COLUMNS} FROM cards c JOIN notes n ON n.id = c.note_id "
            f"WHERE {_ACTIVE} AND {scope} AND {where} ORDER BY {order} LIMIT 1",
            [clock.to_db(now), *scope_args, *args],
        ).fetchall()
        return [
            QueuedCard(r[0], r[1], r[2], r[3], r[4], r[5], clock.from_db(r[6]) if r[6] else None, r[7], r[8])
            for r in rows
        ]

    def _count(
        self, where: str, args: list[Any], now: datetime, deck: str | None = None, limit: int | None = None
    ) -> int:
        """Count active cards of the session's scope (and ``deck``) matching ``where``, up to ``limit``."""
        scope, scope_args = deck_filter(self.deck, "c.deck")
        inner, inner_args = deck_filter(deck, "c.deck")
        bounded = f"SELECT 1 FROM cards c WHERE {_ACTIVE} AND {scope} AND {inner} AND {where} LIMIT ?"
        row = self.db.execute(
            f"SELECT count(*) FROM ({bounded})",
            [clock.to_db(now), *scope_args, *inner_args, *args, -1 if limit is None else limit],
        ).fetchone()
        return int(row[0])

    # -- limits -----------------------------------------------------------------------------

    def _day_end(self, now: datetime) -> datetime:
        return clock.next_day_start(now, self.settings.day_start_hour)

    def _caps(self) -> list[Cap]:
        return caps_for(self.settings, self.deck)

    def _new_caps(
        self, caps: list[Cap], done: dict[str, Counter[str]]
    ) -> tuple[list[Cap], dict[str, Counter[str]]]:
        """The caps on new cards: the daily limits, or ``--new N`` counted from this session's answers."""
        if self.new_limit is None:
            return caps, done
        left = max(0, self.new_limit - self._new_started)
        return [Cap(self.deck, left, 0)], {"new": Counter(), "review": Counter()}

    def _done_today(self, now: datetime) -> dict[str, Counter[str]]:
        return done_today(self.db, self.settings, now)

    def _exhausted(self, kind: str, now: datetime) -> tuple[str, list[Any]]:
        """SQL excluding the decks whose limit for ``kind`` is used up today."""
        caps, done = self._caps(), self._done_today(now)
        if kind == "new":
            caps, done = self._new_caps(caps, done)
        clauses, args = ["1"], []
        for cap in caps:
            if remaining(cap, kind, done) == 0:
                where, where_args = deck_filter(cap.deck, "c.deck")
                clauses.append(f"NOT {where}")
                args.extend(where_args)
        return " AND ".join(clauses), args

    def _capped(
        self,
        caps: list[Cap],
        done: dict[str, Counter[str]],
        kind: str,
        where: str,
        args: list[Any],
        now: datetime,
    ) -> int:
        return capped_count(caps, done, kind, lambda deck, limit: self._count(where, args, now, deck, limit))

    # -- actions ----------------------------------------------------------------------------

    def answer(self, card: QueuedCard, rating: int, now: datetime, duration_ms: int) -> Answer:
        """Answer ``card`` (one committed transaction) and remember it for undo."""
        done = scheduler.answer(self.db, card.id, rating, now, duration_ms, self.settings)
        self._history.append((done, card, self._since_new, self._started, self._new_started))
        if card.kind == "new":
            self._since_new = 0
            self._new_started += 1
        elif card.kind == "review":
            self._since_new += 1
        if card.kind != "learning":
            self._started += 1
        self._tally(done, card, +1)
        return done

    def undo(self) -> QueuedCard | None:
        """Undo the last answer of this session; return its card (None when there is none)."""
        if not self._history:
            return None
        done, card, since_new, started, new_started = self._history[-1]
        scheduler.undo(self.db, done)
        self._history.pop()
        self._since_new, self._started, self._new_started = since_new, started, new_started
        self._tally(done, card, -1)
        return card

    def bury(self, card: QueuedCard, now: datetime) -> None:
        """Hide ``card`` until the next study day."""
        self.db.execute(
            "UPDATE cards SET buried_until = ? WHERE id = ?", [clock.to_db(self._day_end(now)), card.id]
        )

    def _tally(self, done: Answer, card: QueuedCard, sign: int) -> None:
        summary = self.summary
        summary.answered += sign
        summary.again += sign * (done.rating == AGAIN)
        summary.duration_ms += sign * done.duration_ms
        if done.before.state == REVIEW:
            summary.reviewed += sign
            summary.reviewed_passed += sign * (done.rating != AGAIN)
        if done.leech:
            if sign > 0:
                summary.leeches.append(card.id)
            else:
                summary.leeches.remove(card.id)

    def due_tomorrow(self, now: datetime) -> int:
        """Cards (not new) that become due during the next study day."""
        day_end = self._day_end(now)
        tomorrow_end = clock.next_day_start(day_end, self.settings.day_start_hour)
        return self._count(
            "c.state IN (1, 2, 3) AND c.due >= ? AND c.due < ?",
            [clock.to_db(day_end), clock.to_db(tomorrow_end)],
            day_end,
        )


@dataclass(frozen=True)
class DeckStatus:
    """What one deck (with its sub-decks) has due today."""

    deck: str
    counts: Counts
    next_learning: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``cards status --json``."""
        return {
            "deck": self.deck,
            "new": self.counts.new,
            "learning": self.counts.learning,
            "review": self.counts.review,
            "next_learning": clock.to_db(self.next_learning) if self.next_learning else None,
        }


def deck_status(db: sqlite_utils.Database, settings: Settings, now: datetime) -> list[DeckStatus]:
    """Per deck (with its sub-decks), the new / learning / review cards due today.

    Grouped queries, each answered from an index (``cards_status``, ``cards_queue``, ``cards_note``)
    rather than a pass over every card's row.
    """
    stamp = clock.to_db(now)
    day_end = clock.to_db(clock.next_day_start(now, settings.day_start_hour))
    names = [str(r[0]) for r in db.execute("SELECT DISTINCT deck FROM cards WHERE retired_at IS NULL")]
    by_deck: dict[str, list[Any]] = {name: [name, 0, 0, 0, None] for name in names}
    column = {LEARNING: 2, REVIEW: 3, RELEARNING: 2}
    counted = db.execute(
        f"SELECT c.deck, c.state, count(*) FROM cards c WHERE {_ACTIVE} AND c.state IN (1, 2, 3) "
        "AND c.due < ? GROUP BY c.deck, c.state",
        [stamp, day_end],
    )
    for deck, state, count in counted:
        by_deck[deck][column[state]] += count
    # the rule of _COUNTED_NEW, per deck: notes with an available new card and no card due today
    new_cards = db.execute(
        f"SELECT c.deck, count(DISTINCT c.note_id) FROM cards c WHERE {_ACTIVE} AND c.state = 0 "
        f"AND c.note_id NOT IN (SELECT c.note_id FROM cards c WHERE {_ACTIVE} AND c.state IN (1, 2, 3) "
        "AND c.due < ?) GROUP BY c.deck",
        [stamp, stamp, day_end],
    )
    for deck, count in new_cards:
        by_deck[deck][1] += count
    soonest = db.execute(
        f"SELECT c.deck, min(c.due) FROM cards c WHERE {_ACTIVE} AND c.state IN (1, 3) AND c.due > ? "
        "AND c.due < ? GROUP BY c.deck",
        [stamp, stamp, day_end],
    )
    for deck, due in soonest:
        by_deck[deck][4] = due
    rows = [by_deck[name] for name in sorted(by_deck)]
    done = done_today(db, settings, now)
    result = []
    for deck, *_ in rows:
        inside = [row for row in rows if in_deck(row[0], deck)]

        def count(column: int, within: str | None, limit: int | None, inside: list[Any] = inside) -> int:
            found = int(sum(row[column] or 0 for row in inside if in_deck(row[0], within)))
            return found if limit is None else min(found, limit)

        caps = caps_for(settings, deck)
        new = capped_count(caps, done, "new", lambda d, n: count(1, d, n))
        review = capped_count(caps, done, "review", lambda d, n: count(3, d, n))
        upcoming = [row[4] for row in inside if row[4]]
        learning_next = clock.from_db(min(upcoming)) if upcoming else None
        result.append(DeckStatus(deck, Counts(new, count(2, None, None), review), learning_next))
    return result
