"""Today's review queue: which card comes next, and what remains (no terminal code, no writes).

Order: learning and relearning cards when due (by due time); then due reviews; then new cards
within today's remaining limit (see :mod:`flashcards.limits`), in source order, spread among the
reviews. Every choice is read from the collection, so two sessions at once see each other's
answers. New cards are counted one per note (answering a card buries its siblings), leaving out
notes with another card due today.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flashcards import clock, gather
from flashcards.database import Database
from flashcards.decks import ACTIVE_DECKS, in_deck, sql_filter
from flashcards.interview import has_interview, paced_caps
from flashcards.limits import UNLIMITED, Cap, capped_count, caps_for, done_today, new_after_reviews, remaining
from flashcards.settings import Settings
from flashcards.states import State, sql_list

_NAMES_AT_ONCE = 500  # deck names in one IN (...)
_ACTIVE = "c.retired_at IS NULL AND c.suspended = 0 AND (c.buried_until IS NULL OR c.buried_until <= ?)"
_IS_NEW = f"c.state = {State.NEW:d}"
_IS_LEARNING = f"c.state IN {sql_list(State.LEARNING, State.RELEARNING)}"
_IS_REVIEW = f"c.state = {State.REVIEW:d}"
_IS_STUDIED = f"c.state IN {sql_list(State.LEARNING, State.REVIEW, State.RELEARNING)}"
# learning cards on a step within the day are due at an instant; review cards and cards on an
# interday step (a day or more) are due for the whole of a study day (c.due_day)
_INTRADAY = f"{_IS_LEARNING} AND c.due_day IS NULL"
_INTERDAY = f"{_IS_LEARNING} AND c.due_day <= ?"
_DUE_TODAY = "(c.due_day <= ? OR (c.due_day IS NULL AND c.due < ?))"  # arguments: today, day end
_DUE_ON_A_DAY = f"{_IS_STUDIED} AND c.due_day <= ?"  # review cards and interday steps (argument: today)
# a new card counts when it is its note's first available new card and no other card of the note
# is due today: answering any card of a note buries the rest (arguments: now, day end)
# (arguments: now, today, day end)
_COUNTED_NEW = (
    f"{_IS_NEW} AND NOT EXISTS (SELECT 1 FROM cards s WHERE s.note_id = c.note_id AND s.id != c.id "
    "AND s.retired_at IS NULL AND s.suspended = 0 AND (s.buried_until IS NULL OR s.buried_until <= ?) "
    f"AND ((s.state = {State.NEW:d} AND s.id < c.id) OR (s.state IN "
    f"{sql_list(State.LEARNING, State.REVIEW, State.RELEARNING)} AND "
    "(s.due_day <= ? OR (s.due_day IS NULL AND s.due < ?)))))"
)


@dataclass(frozen=True)
class QueuedCard:
    """A card as the session shows it."""

    id: str
    note_id: str
    deck: str
    front: str
    back: str
    state: State
    due: datetime | None
    source_file: str
    source_line: int

    @property
    def kind(self) -> str:
        """``new``, ``learning`` (learning or relearning) or ``review``."""
        return self.state.kind

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> QueuedCard:
        """Build from a row of ``_CARD_COLUMNS``, by column name."""
        due = row["due"]
        return cls(**{**row, "state": State(row["state"]), "due": clock.from_db(due) if due else None})


_CARD_COLUMNS = ", ".join(
    f"n.{name}" if name.startswith("source_") else f"c.{name}" for name in QueuedCard.__dataclass_fields__
)


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
class Progress:
    """What a session has started so far, which its limits and the spreading of new cards follow."""

    since_new: int = 0  # reviews answered since the last new card
    started: int = 0  # new and review cards answered (learning steps are not counted)
    new_started: int = 0


class ReviewQueue:
    """The queue of one session: which card comes next, and the actions on it."""

    def __init__(
        self,
        db: Database,
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
        self.progress = Progress()
        self._new_window: list[str] | None = None
        self._window_size = 64
        self._unburied: list[str] | None = None  # decks with bury_new = false, read when needed
        self._new_join, self._new_order = gather.new_order(db, settings.defaults.new_gather_order)
        self._paced: tuple[int, list[Cap]] | None = None  # today's caps, new cards paced for an interview

    # -- choosing ---------------------------------------------------------------------------

    def next(self, now: datetime) -> QueuedCard | None:
        """Return the card to show now, or None when nothing is due now.

        As Anki orders them: learning cards due now; then cards on an interday step, reviews and
        new cards; then, when nothing else is left, a learning card due within the learn-ahead
        limit (20 minutes by default), rather than a wait.
        """
        learning = self._select(f"{_INTRADAY} AND c.due <= ?", [clock.to_db(now)], "c.due", now)
        if learning:
            return learning
        where, args = self._exhausted("review", now)  # interday steps take from the review limit
        interday = self._select(
            f"{_INTERDAY} AND {where}", [self._today(now), *args], "c.due_day, c.due", now
        )
        if interday:
            return interday
        main = None
        if self.limit is None or self.progress.started < self.limit:
            counts = self.counts(now)
            # spread new cards evenly: one after every (reviews left / new cards left) reviews
            pick_new = counts.new > 0 and self.progress.since_new * counts.new >= counts.review
            # a new card not counted (its note has a card due today) may still be shown when it is left
            main = self._first_review(now) if counts.review > 0 and not pick_new else self._first_new(now)
        if main is not None:
            return main
        ahead = clock.to_db(now + self.settings.learn_ahead)
        return self._select(f"{_INTRADAY} AND c.due <= ?", [ahead], "c.due", now)

    def find(self, card_id: str, now: datetime) -> QueuedCard | None:
        """Card ``card_id`` as the queue shows it, or None when it is no longer active in the scope."""
        return self._select("c.id = ?", [card_id], "c.id", now)

    def counts(self, now: datetime) -> Counts:
        """Remaining cards for today within the limits: new, learning, review."""
        day_end, today = clock.to_db(self._day_end(now)), self._today(now)
        intraday = self._count(f"{_INTRADAY} AND c.due < ?", [day_end], now)
        interday = self._count(_INTERDAY, [today], now)
        done = self._done_today(now)
        caps = self._caps(now, done)
        session = None if self.limit is None else max(0, self.limit - self.progress.started)
        # as in Anki, cards on an interday step come first within the review limit
        pool = self._capped(caps, done, "review", _DUE_ON_A_DAY, [today], now)
        shown_interday = min(interday, pool)
        review = pool - shown_interday
        learning = intraday + shown_interday
        new_caps, new_done = self._new_caps(caps, done)
        rule, rule_args = self._new_rule(now)
        new = self._capped(new_caps, new_done, "new", rule, rule_args, now)
        if self.new_limit is None:
            new = min(new, new_after_reviews(caps[0], done, pool))
        if session is not None:
            review = min(review, session)
            new = min(new, session - review)
        return Counts(new, learning, review)

    def next_learning_due(self, now: datetime) -> datetime | None:
        """When the next learning card later today becomes due (None if there is none)."""
        later = self._select(
            f"{_INTRADAY} AND c.due > ? AND c.due < ?",
            [clock.to_db(now), clock.to_db(self._day_end(now))],
            "c.due",
            now,
        )
        return later.due if later else None

    def _first_review(self, now: datetime) -> QueuedCard | None:
        where, args = self._exhausted("review", now)
        return self._select(
            f"{_IS_REVIEW} AND c.due_day <= ? AND {where}", [self._today(now), *args], "c.due_day, c.due", now
        )

    def _first_new(self, now: datetime) -> QueuedCard | None:
        """The first new card in source order, looked up among a window of candidates.

        Sorting every new card by source order costs a pass over the table, so it is done once
        for a window of candidates; each pick then re-checks the window in the collection.
        """
        where, args = self._exhausted("new", now)
        while True:
            if self._new_window is None:
                scope, scope_args = sql_filter(self.deck, "c.deck")
                rows = self.db.execute(
                    f"SELECT c.id FROM cards c JOIN notes n ON n.id = c.note_id{self._new_join} "
                    f"WHERE {_ACTIVE} AND {scope} AND {_IS_NEW} ORDER BY {self._new_order} LIMIT ?",
                    [clock.to_db(now), *scope_args, self._window_size],
                )
                self._new_window = [str(row[0]) for row in rows]
            window = self._new_window
            marks = ", ".join("?" * len(window))
            # '+c.state' keeps SQLite on the primary key for the window instead of the state index;
            # the first card of the window still available is taken, in the window's order
            scope, scope_args = sql_filter(self.deck, "c.deck")
            available = {
                str(row[0])
                for row in self.db.execute(
                    f"SELECT c.id FROM cards c JOIN notes n ON n.id = c.note_id WHERE {_ACTIVE} AND {scope} "
                    f"AND +{_IS_NEW} AND {where} AND c.id IN ({marks})",
                    [clock.to_db(now), *scope_args, *args, *window],
                )
            }
            first = next((card_id for card_id in window if card_id in available), None)
            if first is not None:
                return self._select("c.id = ?", [first], "c.id", now)
            if len(window) < self._window_size:
                return None
            self._new_window, self._window_size = None, self._window_size * 8

    def _select(self, where: str, args: list[Any], order: str, now: datetime) -> QueuedCard | None:
        """The first active card of the scope matching ``where`` in ``order``, if any."""
        scope, scope_args = sql_filter(self.deck, "c.deck")
        cursor = self.db.execute(
            f"SELECT {_CARD_COLUMNS} FROM cards c JOIN notes n ON n.id = c.note_id "
            f"WHERE {_ACTIVE} AND {scope} AND {where} ORDER BY {order} LIMIT 1",
            [clock.to_db(now), *scope_args, *args],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return QueuedCard.from_row(dict(zip((d[0] for d in cursor.description), row, strict=True)))

    def _count(
        self, where: str, args: list[Any], now: datetime, deck: str | None = None, limit: int | None = None
    ) -> int:
        """Count active cards of the session's scope (and ``deck``) matching ``where``, up to ``limit``."""
        scope, scope_args = sql_filter(self.deck, "c.deck")
        inner, inner_args = sql_filter(deck, "c.deck")
        bounded = f"SELECT 1 FROM cards c WHERE {_ACTIVE} AND {scope} AND {inner} AND {where} LIMIT ?"
        row = self.db.execute(
            f"SELECT count(*) FROM ({bounded})",
            [clock.to_db(now), *scope_args, *inner_args, *args, -1 if limit is None else limit],
        ).fetchone()
        return int(row[0])

    # -- limits -----------------------------------------------------------------------------

    def _day_end(self, now: datetime) -> datetime:
        return clock.next_day_start(now, self.settings.day_start_hour)

    def _today(self, now: datetime) -> int:
        return clock.study_day(now, self.settings.day_start_hour).toordinal()

    def _new_rule(self, now: datetime) -> tuple[str, list[Any]]:
        """Which new cards count: one per note in decks where answering a card buries its new siblings."""
        counted = [clock.to_db(now), self._today(now), clock.to_db(self._day_end(now))]
        if self._unburied is None:
            self._unburied = unburied_decks(self.db, self.settings)
        if not self._unburied:
            return _COUNTED_NEW, counted
        marks = ", ".join("?" * len(self._unburied))
        rule = f"(({_COUNTED_NEW}) AND c.deck NOT IN ({marks})) OR ({_IS_NEW} AND c.deck IN ({marks}))"
        return f"({rule})", [*counted, *self._unburied, *self._unburied]

    def _caps(self, now: datetime, done: dict[str, Counter[str]]) -> list[Cap]:
        """The daily caps; with an interview date, the new-card limits paced (once a study day)."""
        caps = caps_for(self.settings, self.deck)
        if not has_interview(self.settings):
            return caps
        today = self._today(now)
        if self._paced is None or self._paced[0] != today:
            self._paced = (today, paced_caps(self.db, self.settings, caps, today, done))
        return self._paced[1]

    def _new_caps(
        self, caps: list[Cap], done: dict[str, Counter[str]]
    ) -> tuple[list[Cap], dict[str, Counter[str]]]:
        """The caps on new cards: the daily limits, or ``--new N`` counted from this session's answers."""
        if self.new_limit is None:
            return caps, done
        left = max(0, self.new_limit - self.progress.new_started)
        return [Cap(self.deck, left, UNLIMITED, reviews_include_new=False)], {
            "new": Counter(),
            "review": Counter(),
        }

    def _done_today(self, now: datetime) -> dict[str, Counter[str]]:
        return done_today(self.db, self.settings, now)

    def _exhausted(self, kind: str, now: datetime) -> tuple[str, list[Any]]:
        """SQL excluding the decks whose limit for ``kind`` is used up today."""
        done = self._done_today(now)
        caps = self._caps(now, done)
        if kind == "new":
            caps, done = self._new_caps(caps, done)
        clauses, args = ["1"], []
        for cap in caps:
            if remaining(cap, kind, done) == 0:
                where, where_args = sql_filter(cap.deck, "c.deck")
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

    # -- progress ---------------------------------------------------------------------------

    def record(self, kind: str) -> None:
        """Count an answer to a card of ``kind`` (``new``, ``learning``, ``review``) in the session."""
        done = self.progress
        self.progress = Progress(
            since_new=0 if kind == "new" else done.since_new + (kind == "review"),
            started=done.started + (kind != "learning"),
            new_started=done.new_started + (kind == "new"),
        )

    def refresh(self) -> None:
        """Forget what was read ahead (the window of new cards): the decks were recompiled."""
        self._new_window = None
        self._unburied = None
        self._paced = None

    def due_tomorrow(self, now: datetime) -> int:
        """Cards (not new) that become due during the next study day."""
        day_end = self._day_end(now)
        return self._count(f"{_IS_STUDIED} AND c.due_day = ?", [self._today(now) + 1], day_end)


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


def unburied_decks(db: Database, settings: Settings, decks: list[str] | None = None) -> list[str]:
    """The decks (of ``decks``, else those with cards) whose answers do not bury new siblings."""
    if settings.defaults.bury_new and all(
        values.get("bury_new", True) for values in settings.overrides.values()
    ):
        return []
    if decks is None:
        decks = [str(deck) for (deck,) in db.execute(ACTIVE_DECKS)]
    return [deck for deck in decks if not settings.for_deck(deck).bury_new]


@dataclass
class _DeckRow:
    """One deck's own cards (sub-decks not included), as deck_status gathers them."""

    deck: str
    new: int = 0
    learning: int = 0  # on a step within the day
    interday: int = 0  # on a step of a day or more: within the review limit, shown as learning
    review: int = 0
    next_learning: str | None = None

    @property
    def on_a_day(self) -> int:
        """Cards due on a study day, which the review limit caps: reviews and interday steps."""
        return self.review + self.interday


def deck_status(db: Database, settings: Settings, now: datetime) -> list[DeckStatus]:
    """Per deck (with its sub-decks), the new / learning / review cards due today.

    Grouped queries, each answered from an index (``cards_status``, ``cards_queue``, ``cards_note``)
    rather than a pass over every card's row.
    """
    stamp = clock.to_db(now)
    day_end = clock.to_db(clock.next_day_start(now, settings.day_start_hour))
    today = clock.study_day(now, settings.day_start_hour).toordinal()
    names = [str(r[0]) for r in db.execute(ACTIVE_DECKS)]
    by_deck = {name: _DeckRow(name) for name in sorted(names)}
    counted = []
    for start in range(0, len(names), _NAMES_AT_ONCE):
        part = names[start : start + _NAMES_AT_ONCE]
        marks = ", ".join("?" * len(part))
        # ranges of the covering index cards_status (deck, state, due_day, due): due on a day, then within it
        counted += db.execute(
            f"SELECT c.deck, c.state, 1, count(*) FROM cards c WHERE c.deck IN ({marks}) AND {_IS_STUDIED} "
            f"AND c.due_day <= ? AND {_ACTIVE} GROUP BY c.deck, c.state "
            f"UNION ALL SELECT c.deck, c.state, 0, count(*) FROM cards c WHERE c.deck IN ({marks}) "
            f"AND {_IS_STUDIED} AND c.due_day IS NULL AND c.due < ? AND {_ACTIVE} GROUP BY c.deck, c.state",
            [*part, today, stamp, *part, day_end, stamp],
        ).fetchall()
    for deck, state, on_a_day, count in counted:
        if state == State.REVIEW:
            by_deck[deck].review += count
        elif on_a_day:
            by_deck[deck].interday += count
        else:
            by_deck[deck].learning += count
    # the rule of _COUNTED_NEW, per deck: notes with an available new card and no card due today;
    # every new card in a deck with bury_new = false
    unburied = set(unburied_decks(db, settings, names))
    if len(unburied) < len(names):
        new_cards = db.execute(
            f"SELECT c.deck, count(DISTINCT c.note_id) FROM cards c WHERE {_ACTIVE} AND {_IS_NEW} "
            f"AND c.note_id NOT IN (SELECT c.note_id FROM cards c WHERE {_ACTIVE} AND {_IS_STUDIED} "
            f"AND {_DUE_TODAY}) GROUP BY c.deck",
            [stamp, stamp, today, day_end],
        )
        for deck, count in new_cards:
            if deck not in unburied:
                by_deck[deck].new += count
    if unburied:
        new_cards = db.execute(
            f"SELECT c.deck, count(*) FROM cards c WHERE {_ACTIVE} AND {_IS_NEW} GROUP BY c.deck", [stamp]
        )
        for deck, count in new_cards:
            if deck in unburied:
                by_deck[deck].new += count
    soonest = db.execute(
        f"SELECT c.deck, min(c.due) FROM cards c WHERE {_ACTIVE} AND {_INTRADAY} AND c.due > ? "
        "AND c.due < ? GROUP BY c.deck",
        [stamp, stamp, day_end],
    )
    for deck, due in soonest:
        by_deck[deck].next_learning = due
    rows = list(by_deck.values())
    done = done_today(db, settings, now)
    paced = has_interview(settings)
    result = []
    for scope in rows:
        inside = [row for row in rows if in_deck(row.deck, scope.deck)]

        def count(kind: str, within: str | None, limit: int | None, inside: list[_DeckRow] = inside) -> int:
            found: int = sum(getattr(row, kind) for row in inside if in_deck(row.deck, within))
            return found if limit is None else min(found, limit)

        caps = caps_for(settings, scope.deck)
        if paced:
            caps = paced_caps(db, settings, caps, today, done)
        new = capped_count(caps, done, "new", lambda d, n: count("new", d, n))
        pool = capped_count(caps, done, "review", lambda d, n: count("on_a_day", d, n))
        shown_interday = min(count("interday", None, None), pool)
        new = min(new, new_after_reviews(caps[0], done, pool))
        upcoming = [row.next_learning for row in inside if row.next_learning]
        learning_next = clock.from_db(min(upcoming)) if upcoming else None
        learning = count("learning", None, None) + shown_interday
        result.append(DeckStatus(scope.deck, Counts(new, learning, pool - shown_interday), learning_next))
    return result
