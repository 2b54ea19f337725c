"""The review session's logic, with no terminal code: any front-end drives it.

A front-end asks for the card to show (:meth:`ReviewController.card`) with its front and back,
and, once revealed, the four choices with their intervals; it tells the controller what the
user did: reveal, rate, undo, bury, edited the decks, wait for the next learning card. The
controller owns the queue, the scheduler calls and the recompile after an edit. Every answer is
committed before the next card is chosen, and every action returns a plain-text message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flashcards import clock, scheduler
from flashcards.answers import Extras, Segments, card_extras, compare
from flashcards.collection import Collection
from flashcards.errors import CardsError, SourceError, StaleCardError
from flashcards.queue import Counts, Progress, QueuedCard, ReviewQueue
from flashcards.rehearsal import Rehearsal, duration_cap_ms, grade
from flashcards.scheduler import Answer
from flashcards.states import CardState, Rating, State


@dataclass(frozen=True)
class Choice:
    """One of the four answers, with the interval it gives the card on screen."""

    rating: Rating
    interval: timedelta | None  # None in a cram pass: an answer changes no interval

    @property
    def label(self) -> str:
        """The interval as the button shows it, e.g. ``10m`` or ``3d`` (empty in a cram pass)."""
        return "" if self.interval is None else clock.format_interval(self.interval)


@dataclass(frozen=True)
class Outcome:
    """What an action did, in words a front-end shows as they are (and, for an answer, the answer)."""

    message: str
    answer: Answer | None = None


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


class ReviewController:
    """One review session over a collection: the card on screen and what the user does with it."""

    def __init__(
        self,
        collection: Collection,
        deck: str | None = None,
        new_limit: int | None = None,
        limit: int | None = None,
        *,
        now: Callable[[], datetime] = clock.now,
        monotonic: Callable[[], float] = time.monotonic,
        fixed_clock: bool | None = None,
        cram: bool = False,
    ) -> None:
        """``fixed_clock``: time moves only when the session waits (default: when ``$CARDS_NOW`` is set).

        ``cram``: a cram pass (:mod:`flashcards.cram`) instead of today's queue: studied cards,
        the weakest on the interview day first, whose answers change nothing about them.
        """
        self.collection = collection
        self.cram = cram
        self.queue: ReviewQueue
        if cram:
            from flashcards.cram import CramQueue

            self.queue = CramQueue(collection.db, collection.settings, deck, limit, now())
        else:
            self.queue = ReviewQueue(collection.db, collection.settings, deck, new_limit, limit)
        self.summary = Summary()
        self.revealed = False
        self.typed: str | None = None  # the answer typed for the card on screen, if its front asks one
        self._extras: tuple[str, Extras] | None = None
        self._now = now
        self._monotonic = monotonic
        self._offset = timedelta(0)
        self._fixed = clock.is_fixed() if fixed_clock is None else fixed_clock
        self._current: QueuedCard | None = None
        self._shown_state: CardState | None = None  # as the card was when shown: answers need it unchanged
        self._shown_at = 0.0
        self._choices: tuple[Choice, ...] | None = None
        self._history: list[tuple[Answer, QueuedCard, Progress]] = []
        self.rehearsal: Rehearsal | None = None  # the checklist of a rehearsal card on screen
        self.ticked: set[int] = set()  # the points ticked on it
        self._revealed_at: float | None = None

    def clock(self) -> datetime:
        """The session's current instant (moved forward by waiting when the clock is fixed)."""
        return self._now() + self._offset

    # -- what to show -----------------------------------------------------------------------

    def card(self) -> QueuedCard | None:
        """The card to show, choosing the next one when needed; None when nothing is due now."""
        if self._current is None:
            found = self.queue.next(self.clock())
            if found is not None:
                self._show(found)
        return self._current

    def choices(self) -> tuple[Choice, ...]:
        """The four answers for the card on screen, each with the interval it gives (fuzz included)."""
        card = self._require_card()
        if self._choices is None and self.cram:
            self._choices = tuple(Choice(rating, None) for rating in Rating)
        if self._choices is None:
            state = self._shown_state or scheduler.read_state(self.collection.db, card.id)
            deck_settings = self.collection.settings.for_deck(card.deck)
            day_start_hour = self.collection.settings.day_start_hour
            states = scheduler.preview(
                deck_settings, state, self.clock(), card.id, day_start_hour=day_start_hour
            )
            self._choices = tuple(Choice(rating, states[rating].interval) for rating in Rating)
        return self._choices

    def counts(self) -> Counts:
        """What remains for today within the session's limits."""
        return self.queue.counts(self.clock())

    def next_learning_due(self) -> datetime | None:
        """When the next learning card later today becomes due (None if there is none)."""
        return self.queue.next_learning_due(self.clock())

    def due_tomorrow(self) -> int:
        """Cards (not new) that become due during the next study day."""
        return self.queue.due_tomorrow(self.clock())

    def source(self) -> tuple[Path, int]:
        """The deck file (an absolute path) and line of the card on screen, for an editor."""
        card = self._require_card()
        return (self.collection.decks_dir / card.source_file).resolve(), card.source_line

    # -- what the user did ------------------------------------------------------------------

    def extras(self) -> Extras:
        """The hints of the card on screen, and the answer to type if its front asks for one."""
        card = self._require_card()
        if self._extras is None or self._extras[0] != card.id:
            self._extras = (card.id, card_extras(self.collection.db, card.id))
        return self._extras[1]

    def hint(self) -> Outcome:
        """Show the hints of the card on screen (``{{hint:field}}`` on its front)."""
        hints = self.extras().hints
        return Outcome("\n".join(f"Hint: {hint}" for hint in hints) if hints else "This card has no hint.")

    def type_answer(self, text: str) -> None:
        """Take the answer typed for the card on screen, and show the back with the comparison."""
        self._require_card()
        self.typed = text
        self.revealed = True

    def comparison(self) -> tuple[Segments, Segments] | None:
        """The typed answer compared with the expected one, once typed (None otherwise)."""
        expected = self.extras().typed
        if expected is None or self.typed is None:
            return None
        return compare(self.typed, expected)

    def reveal(self) -> None:
        """Show the back of the card on screen (for a rehearsal, this stops its speaking time)."""
        self._require_card()
        if not self.revealed and self.rehearsal is not None:
            self._revealed_at = self._monotonic()
        self.revealed = True

    # -- rehearsal cards (see flashcards.rehearsal) -------------------------------------------

    def speaking_seconds(self) -> float:
        """Seconds since the card was shown, up to its reveal: a rehearsal's speaking time."""
        end = self._revealed_at if self.revealed and self._revealed_at is not None else self._monotonic()
        return max(0.0, end - self._shown_at)

    def tick(self, number: int) -> Outcome:
        """Tick (or untick) point ``number`` of the rehearsal on screen, once its checklist is shown."""
        if self.rehearsal is None:
            return Outcome("This card has no checklist.")
        if not self.revealed:
            return Outcome("Show the checklist first (Space or Enter).")
        if not 1 <= number <= len(self.rehearsal.points):
            return Outcome(f"There is no point {number}.")
        self.ticked ^= {number}
        return Outcome("")

    def rehearsal_rating(self) -> Rating:
        """The rating the ticks and the speaking time give now (:func:`flashcards.rehearsal.grade`)."""
        if self.rehearsal is None:
            raise CardsError("the card on screen is not a rehearsal")
        return grade(
            len(self.rehearsal.points), self.ticked, self.speaking_seconds(), self.rehearsal.target_seconds
        )

    def commit(self) -> Outcome:
        """Answer the rehearsal on screen with the rating its ticks and time give."""
        self._require_card()
        if not self.revealed:
            return Outcome("Show the checklist first (Space or Enter).")
        return self.rate(self.rehearsal_rating())

    def rate(self, rating: Rating) -> Outcome:
        """Answer the card on screen (committed at once); the next call to :meth:`card` moves on."""
        card = self._require_card()
        if not self.revealed:
            return Outcome("Show the answer first (Space or Enter).")
        elapsed_ms = int((self._monotonic() - self._shown_at) * 1000)
        if self.collection.refresh_settings():  # `cards optimize` ran meanwhile: answer with its parameters
            self.queue.settings = self.collection.settings
            self._choices = None
        settings = self.collection.settings
        record = scheduler.cram if self.cram else scheduler.answer
        extra: dict[str, Any] = {}
        rehearsal = self.rehearsal
        if rehearsal is not None:
            extra = {
                "max_duration_ms": duration_cap_ms(rehearsal.target_seconds),
                "points": len(rehearsal.points),
                "ticked": " ".join(str(n) for n in sorted(self.ticked)),
                "forward": rehearsal.missed_notes(self.ticked),
            }
        try:
            done = record(
                self.collection.db,
                card.id,
                rating,
                self.clock(),
                elapsed_ms,
                settings,
                self._shown_state,
                **extra,
            )
        except StaleCardError as error:
            self._current = None  # move on: the queue reads the card's new state
            if self.cram:
                self.queue.record(card.kind)
            return Outcome(str(error))
        self._history.append((done, card, self.queue.progress))
        journal_note = self._flush_journal()
        self.queue.record(card.kind)
        self._tally(done, card, +1)
        self._current = None
        if self.cram:
            message = f"{done.rating.label} (cram: the card's schedule is unchanged)"
        elif done.leech:
            message = (
                f"This card is a leech ({done.after.lapses} lapses): it is suspended until you rework it."
            )
        else:
            assert done.after.due is not None
            message = (
                f"{done.rating.label}: next in {clock.format_interval(done.after.due - done.reviewed_at)}"
            )
        if rehearsal is not None:
            made = len(self.ticked & set(range(1, len(rehearsal.points) + 1)))
            message += f" ({made}/{len(rehearsal.points)} points"
            if done.moved:
                count = len(done.moved)
                message += f"; {count} card{'s' if count != 1 else ''} behind the missed points due today"
            message += ")"
        return Outcome(message + journal_note, done)

    def _flush_journal(self) -> str:
        """Write what was just committed to this device's journal file (when the journal is on);
        return what to add to the message if that failed."""
        return "".join(f"\n{warning}" for warning in self.collection.flush_journal())

    def undo(self) -> Outcome:
        """Undo this session's last answer; its card is shown again, front first."""
        if not self._history:
            return Outcome("Nothing to undo.")
        done, card, progress = self._history[-1]
        try:
            scheduler.undo(self.collection.db, done, self.collection.settings)
        except CardsError as error:
            return Outcome(str(error))
        journal_note = self._flush_journal()
        self._history.pop()
        self.queue.progress = progress
        if self.cram:
            from flashcards.cram import CramQueue

            assert isinstance(self.queue, CramQueue)
            self.queue.requeue(card.id)
        self._tally(done, card, -1)
        self._show(replace(card, state=done.before.state, due=done.before.due))
        return Outcome(f"Undid the answer to {card.id}.{journal_note}")

    def bury(self) -> Outcome:
        """Hide the card on screen until the next study day."""
        card = self._require_card()
        now = self.clock()
        scheduler.bury(
            self.collection.db, card.id, clock.next_day_start(now, self.queue.settings.day_start_hour)
        )
        self._current = None
        return Outcome("Buried until tomorrow.")

    def edited(self) -> Outcome:
        """The user edited the deck files: recompile, and show what changed (new notes included)."""
        try:
            result = self.collection.compile(self.clock(), count_unchanged=False)
        except SourceError as error:
            return Outcome("Not recompiled, fix these first:\n" + "\n".join(map(str, error.problems)))
        except CardsError as error:  # e.g. the decks directory is gone
            return Outcome(f"Not recompiled: {error}")
        self.queue.refresh()
        if self._current is not None:
            fresh = self.queue.find(self._current.id, self.clock())
            if fresh is None:
                self._current = None
            else:
                self._current, self._choices = fresh, None
                self.rehearsal = self._rehearsal_of(fresh)
                if self.rehearsal is not None:
                    self.ticked &= set(range(1, len(self.rehearsal.points) + 1))
        from flashcards.collection import compile_warnings

        said = "Recompiled." if result.changed else "No change."
        return Outcome("\n".join([said, *compile_warnings(result)]))

    def wait_for_learning(self) -> datetime | None:
        """Wait for the next learning card: return when it is due (None if there is none today).

        Under a fixed ``$CARDS_NOW`` the session's clock moves to that instant at once; otherwise
        the front-end waits in real time until :meth:`clock` reaches it.
        """
        due = self.next_learning_due()
        if due is not None and self._fixed:
            self._offset += due - self.clock()
        return due

    # -- inside -----------------------------------------------------------------------------

    def _require_card(self) -> QueuedCard:
        if self._current is None:
            raise CardsError("no card is on screen")
        return self._current

    def _show(self, card: QueuedCard) -> None:
        self._current, self._choices = card, None
        self._shown_state = scheduler.read_state(self.collection.db, card.id)
        self.revealed = False
        self.typed = None
        self._revealed_at = None
        self.ticked = set()
        self.rehearsal = self._rehearsal_of(card)
        self._shown_at = self._monotonic()

    def _rehearsal_of(self, card: QueuedCard) -> Rehearsal | None:
        row = self.collection.db.execute(
            "SELECT type, fields FROM notes WHERE id = ?", [card.note_id]
        ).fetchone()
        if row is None or row[0] != "rehearsal":
            return None
        return Rehearsal.from_fields(json.loads(row[1]))

    def _tally(self, done: Answer, card: QueuedCard, sign: int) -> None:
        summary = self.summary
        summary.answered += sign
        summary.again += sign * (done.rating == Rating.AGAIN)
        summary.duration_ms += sign * done.duration_ms
        if done.before.state == State.REVIEW:
            summary.reviewed += sign
            summary.reviewed_passed += sign * (done.rating != Rating.AGAIN)
        if done.leech:
            if sign > 0:
                summary.leeches.append(card.id)
            else:
                summary.leeches.remove(card.id)
