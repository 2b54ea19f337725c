"""Today's review queue, and the answer / undo / bury actions of a session (no terminal code).

Order: learning and relearning cards when due (by due time); then due reviews; then new cards
within today's remaining limit, in source order, spread among the reviews. Every choice is read
from the collection, so two sessions at once see each other's answers. Limits count what the
review log says was done today; a deck's limits cap its sub-decks too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from flashcards import clock, scheduler
from flashcards.scheduler import AGAIN, NEW, REVIEW, Answer
from flashcards.settings import Settings

_ACTIVE = "c.retired_at IS NULL AND c.suspended = 0 AND (c.buried_until IS NULL OR c.buried_until <= ?)"
_CARD_COLUMNS = "c.id, c.note_id, c.deck, c.front, c.back, c.state, c.due, n.source_file, n.source_line"


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


@dataclass(frozen=True)
class _Cap:
    deck: str | None  # None: the whole collection
    new: int
    review: int


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


def deck_filter(deck: str | None, column: str = "c.deck") -> tuple[str, list[Any]]:
    """SQL matching ``deck`` and its sub-decks (``deck::...``); everything when ``deck`` is None."""
    if deck is None:
        return "1", []
    prefix = f"{deck}::"
    return f"({column} = ? OR substr({column}, 1, ?) = ?)", [deck, len(prefix), prefix]


def in_deck(name: str, deck: str | None) -> bool:
    """True when ``name`` is ``deck`` or one of its sub-decks."""
    return deck is None or name == deck or name.startswith(f"{deck}::")


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
        self._history: list[tuple[Answer, QueuedCard, int, int]] = []
        self._since_new = 0
        self._started = 0

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
        if counts.new > 0:
            return self._first_new(now)
        return None

    def counts(self, now: datetime) -> Counts:
        """Remaining cards for today within the limits: new, learning, review."""
        day_end = clock.to_db(self._day_end(now))
        learning = self._count("c.state IN (1, 3) AND c.due < ?", [day_end], now)
        caps, done = self._caps(), self._done_today(now)
        session = None if self.limit is None else max(0, self.limit - self._started)
        review = self._capped(caps, done, "review", "c.state = 2 AND c.due < ?", [day_end], now)
        new = self._capped(caps, done, "new", "c.state = 0", [], now)
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
        where, args = self._exhausted("new", now)
        found = self._select(f"c.state = 0 AND {where}", args, "n.source_file, c.position", now)
        return found[0] if found else None

    def _select(self, where: str, args: list[Any], order: str, now: datetime) -> list[QueuedCard]:
        scope, scope_args = deck_filter(self.deck)
        rows = self.db.execute(
            f"SELECT {_CARD_COLUMNS} FROM cards c JOIN notes n ON n.id = c.note_id "
            f"WHERE {_ACTIVE} AND {scope} AND {where} ORDER BY {order} LIMIT 1",
            [clock.to_db(now), *scope_args, *args],
        ).fetchall()
        return [
            QueuedCard(r[0], r[1], r[2], r[3], r[4], r[5], clock.from_db(r[6]) if r[6] else None, r[7], r[8])
            for r in rows
        ]

    def _count(self, where: str, args: list[Any], now: datetime, deck: str | None = None) -> int:
        scope, scope_args = deck_filter(self.deck)
        inner, inner_args = deck_filter(deck)
        row = self.db.execute(
            f"SELECT count(*) FROM cards c WHERE {_ACTIVE} AND {scope} AND {inner} AND {where}",
            [clock.to_db(now), *scope_args, *inner_args, *args],
        ).fetchone()
        return int(row[0])

    # -- limits -----------------------------------------------------------------------------

    def _day_end(self, now: datetime) -> datetime:
        return clock.next_day_start(now, self.settings.day_start_hour)

    def _caps(self) -> list[_Cap]:
        base = self.settings.for_deck(self.deck)
        new = base.new_per_day if self.new_limit is None else self.new_limit
        caps = [_Cap(self.deck, new, base.reviews_per_day)]
        for deck in self.settings.configured_decks():
            if deck != self.deck and in_deck(deck, self.deck):
                own = self.settings.for_deck(deck)
                caps.append(
                    _Cap(deck, new if self.new_limit is not None else own.new_per_day, own.reviews_per_day)
                )
        return caps

    def _done_today(self, now: datetime) -> dict[str, Counter[str]]:
        """New cards and reviews answered today, per deck, from the log."""
        start = clock.day_start(
            clock.study_day(now, self.settings.day_start_hour), self.settings.day_start_hour
        )
        done: dict[str, Counter[str]] = {"new": Counter(), "review": Counter()}
        rows = self.db.execute(
            "SELECT c.deck, sum(r.state_before = 0), sum(r.state_before = 2) FROM reviews r "
            "JOIN cards c ON c.id = r.card_id WHERE r.reviewed_at >= ? GROUP BY c.deck",
            [clock.to_db(start)],
        )
        for deck, new, review in rows:
            done["new"][deck] += new
            done["review"][deck] += review
        return done

    def _remaining(self, cap: _Cap, kind: str, done: dict[str, Counter[str]]) -> int:
        used = sum(n for deck, n in done[kind].items() if in_deck(deck, cap.deck))
        limit = cap.new if kind == "new" else cap.review
        return max(0, limit - used)

    def _exhausted(self, kind: str, now: datetime) -> tuple[str, list[Any]]:
        """SQL excluding the decks whose limit for ``kind`` is used up today."""
        done = self._done_today(now)
        clauses, args = ["1"], []
        for cap in self._caps():
            if self._remaining(cap, kind, done) == 0:
                where, where_args = deck_filter(cap.deck)
                clauses.append(f"NOT {where}")
                args.extend(where_args)
        return " AND ".join(clauses), args

    def _capped(
        self,
        caps: list[_Cap],
        done: dict[str, Counter[str]],
        kind: str,
        where: str,
        args: list[Any],
        now: datetime,
    ) -> int:
        """Count cards of ``kind`` available today, each configured deck capped by its limit."""
        scope_cap, inner = caps[0], caps[1:]
        outermost = [c for c in inner if not any(o is not c and in_deck(str(c.deck), o.deck) for o in inner)]
        total = self._count(where, args, now)
        for cap in outermost:
            here = self._count(where, args, now, cap.deck)
            total -= here - min(here, self._remaining(cap, kind, done))
        return min(total, self._remaining(scope_cap, kind, done))

    # -- actions ----------------------------------------------------------------------------

    def answer(self, card: QueuedCard, rating: int, now: datetime, duration_ms: int) -> Answer:
        """Answer ``card`` (one committed transaction) and remember it for undo."""
        done = scheduler.answer(self.db, card.id, rating, now, duration_ms, self.settings)
        self._history.append((done, card, self._since_new, self._started))
        if card.kind == "new":
            self._since_new = 0
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
        done, card, self._since_new, self._started = self._history[-1]
        scheduler.undo(self.db, done)
        self._history.pop()
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
            "c.state != 0 AND c.due >= ? AND c.due < ?",
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
    """Per deck, the new / learning / review cards due today and the next learning card."""
    decks = [
        str(row[0])
        for row in db.execute("SELECT DISTINCT deck FROM cards WHERE retired_at IS NULL ORDER BY deck")
    ]
    result = []
    for deck in decks:
        queue = ReviewQueue(db, settings, deck)
        result.append(DeckStatus(deck, queue.counts(now), queue.next_learning_due(now)))
    return result
