"""Card states and ratings, and the scheduling state a card carries.

States and ratings are ``IntEnum``s, as in py-fsrs: they are stored as their integer values and
compare equal to them, so SQL takes them as parameters and rows read back turn into them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from flashcards import clock

# FSRS's upper bound on stability, in days: fsrs-rs and Anki clamp to it, py-fsrs does not.
STABILITY_MAX = 36500.0


class State(IntEnum):
    """Where a card is in its life: py-fsrs's states, plus new (never answered)."""

    NEW = 0
    LEARNING = 1
    REVIEW = 2
    RELEARNING = 3

    @property
    def label(self) -> str:
        """The lower-case name shown to users and in JSON: ``new``, ``learning``, …"""
        return self.name.lower()

    @property
    def kind(self) -> str:
        """``new``, ``learning`` (learning or relearning) or ``review``: the queue it belongs to."""
        return "learning" if self in (State.LEARNING, State.RELEARNING) else self.label


class Rating(IntEnum):
    """The four answers."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        """The button's name: ``Again``, ``Hard``, ``Good``, ``Easy``."""
        return self.name.capitalize()


class Kind(IntEnum):
    """What a row of the review log is: an answer, a cram answer, or a move of the due date.

    Only answers (``ANSWER``) feed the memory model, the optimizer and the statistics. A cram
    answer (``cards review --cram``) is kept in the history and changes nothing, as Anki's
    filtered-deck answers without rescheduling; a ``RESCHEDULED`` row (rating 0) brings a card's
    due day forward and leaves its memory state as it was, as Anki's manual rows do.
    """

    ANSWER = 0
    CRAM = 1
    RESCHEDULED = 2


# SQL keeping the rows that are answers: the memory model, the optimizer and stats read only these
ANSWERS = f"kind = {Kind.ANSWER:d}"

# Each member by its value: a lookup costs a fraction of ``State(value)``, on paths that make a
# million of them (an import, a journal's first merge); ``value in STATE_OF`` checks one.
STATE_OF = {int(state): state for state in State}
RATING_OF = {int(rating): rating for rating in Rating}
KIND_OF = {int(kind): kind for kind in Kind}


def sql_list(*states: State) -> str:
    """Return ``states`` as an SQL list of literals, e.g. ``(1, 3)``.

    Literals, not parameters, where a partial index must match the query (SQLite matches an
    index's WHERE clause only against the query's text).
    """
    return "(" + ", ".join(str(int(s)) for s in states) + ")"


CACHE_COLUMNS = (
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "due_day",
)


@dataclass(frozen=True)
class CardState:
    """A card's scheduling state: what the ``cards`` table caches, as replaying the log gives it."""

    state: State = State.NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0
    # the study day (date.toordinal()) a review card, or a card on an interday step, is due;
    # None while new or on a step within the day (due at the instant ``due``)
    due_day: int | None = None

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> CardState:
        """Build from the columns in ``CACHE_COLUMNS`` order."""
        state, step, stability, difficulty, due, last_review, reps, lapses, due_day = row
        return cls(
            State(state),
            step,
            stability,
            difficulty,
            clock.from_db(due) if due else None,
            clock.from_db(last_review) if last_review else None,
            reps,
            lapses,
            due_day,
        )

    def to_row(self) -> tuple[Any, ...]:
        """Return the columns in ``CACHE_COLUMNS`` order, ready for SQL."""
        return (
            int(self.state),
            self.step,
            self.stability,
            self.difficulty,
            clock.to_db(self.due) if self.due else None,
            clock.to_db(self.last_review) if self.last_review else None,
            self.reps,
            self.lapses,
            self.due_day,
        )
