"""The review log: the one module that writes the ``reviews`` table, and its order.

The log is the truth; every card's cached state is what replaying it gives. A card's history is
ordered by when each answer was given (``reviewed_at``, then row id), never by row id alone,
since answers can arrive later than they were made. Callers hold the transaction: an answer's
row and the card's new state are written together.

Every change to a card's rows here forgets its replay mark (``replay_marks``: where a merge's
replay of the whole log ended, see :mod:`flashcards.merge`); a merge that adds rows writes the
card's mark again itself, and an answer given here carries it over (``merge.carry_mark``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flashcards.database import Database
from flashcards.states import ANSWERS as ANSWERS  # the answers among the log's rows, here too
from flashcards.states import Kind, State


@dataclass(frozen=True)
class Entry:
    """One answer as the log keeps it."""

    card_id: str
    rating: int  # a Rating; 0 on a RESCHEDULED row
    reviewed_at: str  # UTC, as clock.to_db writes it
    duration_ms: int
    due: str  # the due date this answer produced (fuzz is random, so it is kept)
    state_before: State
    state: State
    stability: float
    difficulty: float
    due_day: int | None = None  # the study day it is due, for a review card or an interday step
    step: int | None = None  # the (re)learning step it left the card on, as the steps then were
    day_end: int | None = None  # when the answer's study day ended (POSIX seconds), in its zone
    source: str | None = None  # where an answer taken in from elsewhere came from (None: answered here)
    source_id: str | None = None  # its id there: the same answer is never taken in twice
    anki_id: int | None = None  # its Anki review-log id; None: the first free one from its millisecond
    kind: Kind = Kind.ANSWER
    points: int | None = None  # a rehearsal card's number of points
    ticked: str | None = None  # the points the user made, e.g. "1 3"


COLUMNS = tuple(Entry.__dataclass_fields__)
# the columns bulk loads give (answers; the others keep their defaults)
ANSWER_COLUMNS = COLUMNS[: COLUMNS.index("kind")]


def _insert(columns: Sequence[str]) -> str:
    return f"INSERT INTO reviews({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT = _insert(COLUMNS)


def history_order(table: str = "") -> str:
    """SQL ``ORDER BY`` terms for one card's history, columns of ``table`` (an alias) if given."""
    prefix = f"{table}." if table else ""
    return f"{prefix}reviewed_at, {prefix}id"


def log_order(table: str = "") -> str:
    """SQL ``ORDER BY`` terms for the log card by card, each card's history in order (index reviews_history)."""
    prefix = f"{table}." if table else ""
    return f"{prefix}card_id, {history_order(table)}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
SOURCE_ANKI = "anki"  # the source of answers imported from an Anki collection or package
_FREE_FROM = """
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM reviews WHERE anki_id = :ms) THEN :ms
    ELSE (SELECT min(a.anki_id) + 1 FROM reviews a WHERE a.anki_id >= :ms
          AND NOT EXISTS (SELECT 1 FROM reviews b WHERE b.anki_id = a.anki_id + 1)) END
"""


def milliseconds(reviewed_at: str) -> int:
    """The millisecond (POSIX) of a logged time: the Anki review-log id an answer starts from."""
    return (datetime.fromisoformat(reviewed_at) - _EPOCH) // _MILLISECOND


def free_anki_id(db: Database, start: int) -> int:
    """The first Anki review-log id from ``start`` on that no answer in the log has."""
    return int(db.execute(_FREE_FROM, {"ms": start}).fetchone()[0])


def append(db: Database, entry: Entry) -> int:
    """Add one answer to the log; return its row id.

    Without an ``anki_id``, the answer gets the first free one from the millisecond it was
    given: the id is kept, so an export writes it the same way every time.
    """
    values = {name: getattr(entry, name) for name in COLUMNS}
    if values["anki_id"] is None:
        values["anki_id"] = free_anki_id(db, milliseconds(entry.reviewed_at))
    cursor = db.execute(_INSERT, [values[name] for name in COLUMNS])
    assert cursor.lastrowid is not None
    forget_marks(db, [entry.card_id])
    return cursor.lastrowid


def append_many(
    db: Database, rows: Iterable[Sequence[Any]], *, number: bool = True, marked: bool = False
) -> None:
    """Add many answers at once, each a sequence of values in ``ANSWER_COLUMNS`` order (bulk
    loads), or in ``COLUMNS`` order (rows of every kind).

    Rows may stop before the last answer columns (source, source id, Anki id: None); those
    without an Anki id then get one as :func:`append` gives it, in the order they were given
    (with ``number=False``, later: the caller calls :func:`number_anki_ids`). With ``marked``,
    the caller writes (or forgets) the replay mark of each card it gives rows.
    """
    width = len(ANSWER_COLUMNS)
    full = len(COLUMNS)
    cards: set[str] = set()
    if marked and isinstance(rows, list) and all(len(row) == full for row in rows):
        db.conn.executemany(_INSERT, rows)  # a merge's rows, whole: bound as they are
        if number:
            number_anki_ids(db)
        return

    def values() -> Iterator[Sequence[Any]]:
        for row in rows:
            if not marked:
                cards.add(row[0])
            yield (
                row
                if len(row) == full
                else (*row, *(None,) * (width - len(row)), int(Kind.ANSWER), None, None)
            )

    db.conn.executemany(_INSERT, values())
    forget_marks(db, cards)
    if number:
        number_anki_ids(db)


def correct(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    """Correct what logged rows found, once answers given before them were added or removed:
    each ``(state_before, state, step, stability, difficulty, id)``, as a row placed there now
    would be logged. The answer itself (card, rating, time, duration, due date) is never changed.
    The caller writes (or forgets) the cards' replay marks."""
    db.conn.executemany(
        "UPDATE reviews SET state_before = ?, state = ?, step = ?, stability = ?, difficulty = ? WHERE id = ?",
        rows,
    )


def settle_days(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    """Give imported answers the study day another machine counted for them: each
    ``(day_end, due_day, due, id)``. The caller replays their cards and forgets their marks."""
    db.conn.executemany("UPDATE reviews SET day_end = ?, due_day = ?, due = ? WHERE id = ?", rows)


def forget_marks(db: Database, card_ids: Iterable[str]) -> None:
    """Forget these cards' replay marks: their logs changed, a merge replays them in full."""
    db.conn.executemany("DELETE FROM replay_marks WHERE card_id = ?", ((card_id,) for card_id in card_ids))


def number_anki_ids(db: Database) -> None:
    """Give every answer without an Anki review-log id the first free one from its millisecond.

    Numbered in the order the answers were given, each id above the one before; the ids taken
    are read a window at a time around the candidates (index reviews_anki), never all at once.
    """
    pending = db.execute(
        f"SELECT id, reviewed_at FROM reviews WHERE anki_id IS NULL ORDER BY {history_order()}"
    ).fetchall()
    if not pending:
        return
    taken = _TakenIds(db)
    updates = []
    last = 0
    for review_id, reviewed_at in pending:
        candidate = max(milliseconds(reviewed_at), last + 1)
        while taken.has(candidate):
            candidate += 1
        last = candidate
        updates.append((candidate, review_id))
    db.conn.executemany("UPDATE reviews SET anki_id = ? WHERE id = ?", updates)


class _TakenIds:
    """Which Anki ids the log holds, asked in increasing order, read a window at a time."""

    WINDOW = 3_600_000  # one hour of milliseconds

    def __init__(self, db: Database) -> None:
        self.db = db
        self.low = self.high = -1  # the window read: [low, high]
        self.ids: set[int] = set()

    def has(self, anki_id: int) -> bool:
        if not self.low <= anki_id <= self.high:
            self.low, self.high = anki_id, anki_id + self.WINDOW
            self.ids = {
                row[0]
                for row in self.db.execute(
                    "SELECT anki_id FROM reviews WHERE anki_id BETWEEN ? AND ?", [self.low, self.high]
                )
            }
        return anki_id in self.ids


def latest(db: Database, card_id: str) -> int | None:
    """Return the row id of the card's latest answer (by time), or None when it has none."""
    row = db.execute(
        "SELECT id FROM reviews WHERE card_id = ? ORDER BY reviewed_at DESC, id DESC LIMIT 1", [card_id]
    ).fetchone()
    return None if row is None else int(row[0])


def remove(db: Database, review_id: int) -> str | None:
    """Take one answer out of the log: only an undo does this, for the answer it just made.
    Return when it was given (None: no such row); rows after it found another history
    (:func:`flashcards.merge.refind` corrects them)."""
    row = db.execute("SELECT card_id, reviewed_at FROM reviews WHERE id = ?", [review_id]).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM replay_marks WHERE card_id = ?", [row[0]])
    db.execute("DELETE FROM reviews WHERE id = ?", [review_id])
    return str(row[1])


def move(db: Database, old_card_id: str, new_card_id: str) -> None:
    """Give a renamed card its history: the answers of ``old_card_id`` become ``new_card_id``'s, unchanged."""
    db.execute("UPDATE reviews SET card_id = ? WHERE card_id = ?", [new_card_id, old_card_id])
    forget_marks(db, [old_card_id, new_card_id])
