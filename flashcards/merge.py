"""Take in answers given elsewhere (in Anki, on another machine) and merge them into the review log.

One path for every source: answers arrive card by card, each naming its source and its id there.

- **Dedupe by origin.** An answer whose (source, source id) is in the log already is skipped;
  so is one whose Anki review-log id belongs to an answer of the same card (an answer that
  went out in an export and comes back: an echo).
- **Insert in time order.** Each new answer is logged with the time it was given; a card's
  history is read by time (``reviewlog.history_order``), so answers from two places interleave.
  The state a new answer found is the state the answer before it (in time) left; its memory
  state is what replaying the merged history gives.
- **Replay.** Each card that got answers is replayed from its merged log
  (``scheduler.replay_log``, as ``cards rebuild`` replays it): the new answers' memory states
  and the card's cached state, written in the caller's transaction.
- **Go on from a mark.** Where the replay of a card's whole log ended is kept as its replay mark
  (``replay_marks``; an answer given here after all its rows carries it over, see
  :func:`carry_mark`, and the log forgets it on any other change to the card's rows, see
  :mod:`flashcards.reviewlog`). Answers given after every row of a card with a mark (another
  machine's journal lines, mostly) are deduplicated through the log's unique index and replayed
  from the mark: the card's history is not read. Anything else (an answer placed earlier in
  time, one with an Anki id, a row that is not an answer, rules that changed) reads and replays
  the card's whole log, as before; both give the same rows and states.
"""

from __future__ import annotations

import gc
import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flashcards import clock, reviewlog, scheduler
from flashcards.database import Database
from flashcards.rules import Rules
from flashcards.settings import Settings
from flashcards.states import CACHE_COLUMNS, STATE_OF, Kind, Rating, State

CHUNK_CARDS = 500
ANKI_ID = reviewlog.COLUMNS.index("anki_id")  # in a row _rows makes (every column of the log, in order)
BULK_ROWS = 100_000  # a merge of this many answers (and twice the log's) builds some indexes again
# Indexes no merge reads from: the statistics' over the log, the queue's, status's and stats' over the cards.
BULK_INDEXES = ("reviews_stats", "cards_queue", "cards_new", "cards_status", "cards_stats")
# The log's unique indexes: a large merge keeps the Anki ids apart itself (see _Bulk) and checks both after.
ANKI_INDEX = "reviews_anki"
UNIQUE_INDEXES = ("reviews_source", ANKI_INDEX)
HISTORY_INDEX = "reviews_history"  # each card's rows in order: dropped too in a merge into an empty log
INDEX_THREADS = 2  # SQLite's sorter may use this many threads while an index is built again
QUIET_TRIGGER_ROWS = 10_000  # a merge of this many answers gives their journal lines in one statement
JOURNAL_TRIGGER = "journal_add"  # gives each answer logged here its journal line (migration 0014)
# What the trigger does, for every answer from ``?`` on that has no line yet (a merge's rows).
_JOURNAL_LINES = (
    "INSERT INTO journal_lines(review_id, line_id) "
    "SELECT id, lower(hex(randomblob(8))) FROM reviews "
    "WHERE id > ? AND (source IS NULL OR source NOT LIKE 'journal:%') "
    "AND EXISTS (SELECT 1 FROM journal_on) AND NOT EXISTS (SELECT 1 FROM journal_applying) "
    "AND NOT EXISTS (SELECT 1 FROM journal_lines l WHERE l.review_id = reviews.id) ORDER BY id"
)
INDEX_BUILD_CACHE_KIB = 8 * 1024  # SQLite page cache while an index is built again
_LEARNING = frozenset((State.LEARNING, State.RELEARNING))
_UPDATE_CACHE = f"UPDATE cards SET {', '.join(f'{c} = ?' for c in CACHE_COLUMNS)} WHERE id = ?"
_MARK_COLUMNS = (
    "card_id, rules, state, step, stability, difficulty, reps, lapses, last_stamp, logged_lapses, "
    "last_at, logged_state, logged_step"
)
_WRITE_MARK = f"INSERT OR REPLACE INTO replay_marks({_MARK_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_HISTORY = (
    "SELECT card_id, rating, reviewed_at, due, due_day, state_before, state, step, day_end, kind, "
    "anki_id, source, source_id, id, stability, difficulty FROM reviews WHERE card_id IN ({places}) ORDER BY "
    f"{reviewlog.log_order()}"
)


@dataclass(frozen=True, slots=True)
class Mark:
    """A card's replay mark: where replaying its whole log ended, under rules of ``rules``."""

    rules: int  # the replay_key of the rules it was replayed under
    end: scheduler.Checkpoint
    last_at: str  # the time of its last row, in history order: answers from then on go on from here
    logged_state: State  # the state and step its last answer left, as logged (a row's state before)
    logged_step: int

    @classmethod
    def made(
        cls, rules: Rules, end: scheduler.Checkpoint, last_at: str, state: State, step: int | None
    ) -> Mark:
        """The mark a replay under ``rules`` ending at ``end`` leaves, the log's last row at
        ``last_at`` leaving ``state`` and ``step``, kept as the log gives them back (a review
        card's step, None, read as 0)."""
        return cls(
            rules.replay_key, end, last_at, state, step if state in _LEARNING and step is not None else 0
        )

    def goes_on(self, new: list[Incoming]) -> bool:
        """Whether replaying goes on from here to take in these answers: all are answers, given
        at or after the log's last row (which goes first on a tie, as :func:`_rows` orders them)."""
        return all(answer.kind == Kind.ANSWER and answer.reviewed_at >= self.last_at for answer in new)

    def values(self, card_id: str) -> tuple[Any, ...]:
        """The mark as ``_WRITE_MARK`` writes it."""
        end = self.end
        return (
            card_id,
            self.rules,
            *end.memory,
            end.last_stamp,
            end.logged_lapses,
            self.last_at,
            int(self.logged_state),
            self.logged_step,
        )


@dataclass
class _Bulk:
    """A large merge under way while the log's unique indexes (and maybe its history index) are away."""

    taken: set[int]  # the Anki ids in the log before it: an answer added keeps its own only if free
    fresh: bool  # the log was empty and reviews_history is away: only this merge's cards have rows
    logged: set[str] = field(default_factory=set)  # the cards this merge gave rows (read only when fresh)


_BULK: dict[int, _Bulk] = {}  # by id(connection), while bulk_writes has indexes away


@dataclass(slots=True)  # not frozen: a large import builds a million of them
class Incoming:
    """One answer given elsewhere, with what it did to the card there."""

    card_id: str
    rating: int  # a Rating; 0 on a RESCHEDULED row
    reviewed_at: str  # UTC, as clock.to_db writes it
    duration_ms: int
    source: str
    source_id: str
    state: State  # the state the answer left the card in (not read for a row that is not an answer)
    due: str  # when it made the card due (UTC)
    due_day: int | None  # the study day it made the card due, for a review card or an interday step
    anki_id: int | None = None  # the Anki review-log id it should keep, if free (else its millisecond's)
    step: int | None = None  # the step it left a (re)learning card on; None: counted from the answers
    stamp: float | None = None  # ``reviewed_at`` as a POSIX time, if the source has it (saves parsing it)
    # when the study day it was given on ended (POSIX seconds), as the machine it was given on had
    # it (a journal line says); None: counted here, in this machine's zone
    day_end: int | None = None
    kind: Kind = Kind.ANSWER  # a cram answer or a due day brought forward changes no state
    points: int | None = None  # a rehearsal card's points, and those made
    ticked: str | None = None


@dataclass(frozen=True)
class Offer:
    """One card's answers from a source, built into :class:`Incoming` only if they are new.

    A large import is mostly answers taken in before (or echoes): they are recognised by their
    Anki id, or by their source id, before anything is built.
    """

    card_id: str
    source: str
    anki_ids: Sequence[int | None]  # each answer's Anki review-log id, if it has one
    source_id: Callable[[int], str]  # the source id of the answer at a position
    build: Callable[[list[int]], list[Incoming]]  # the answers at these positions
    # another machine's copies (journal lines): an Anki answer this log has too, counted in
    # another zone, is settled on the earlier study day of the two (:func:`_settle`)
    copies: bool = False


@dataclass
class MergeResult:
    """What a merge did (or, without writing, would do)."""

    added: int = 0
    already: int = 0  # taken in before (the same source and id)
    echoes: int = 0  # answers given here that went out (in an export) and came back
    cards: set[str] = field(default_factory=set)  # the cards that got new answers


def take_in(
    db: Database,
    settings: Settings,
    offers: Iterable[Offer],
    *,
    write: bool = True,
    progress: Callable[[int], None] | None = None,
) -> MergeResult:
    """Merge each card's offered answers into the log, in the caller's transaction.

    With ``write=False`` nothing is written; the result counts what would be. ``progress`` is
    given the number of offers merged so far after each chunk of them.
    """
    result = MergeResult()
    days = clock.StudyDays(settings.day_start_hour)
    rules: dict[str, Rules] = {}
    offered = 0
    bulk = _BULK.get(id(db.conn)) if write else None
    for chunk in _chunks(offers):
        settled: list[tuple[Any, ...]] = []
        rows, caches, marks, corrected = _merge_chunk(db, settings, days, rules, chunk, result, bulk, settled)
        if write and corrected:  # logged rows that now come after new answers
            reviewlog.correct(db, corrected)
        if write and rows:
            _assign_anki_ids(db, rows, bulk)
            logged = db.execute("SELECT max(id) FROM reviews").fetchone()[0] or 0
            # in bulk: numbered once, at its end; each card's mark written again (or forgotten) below
            reviewlog.append_many(db, rows, number=bulk is None, marked=True)
            db.execute(_JOURNAL_LINES, [logged])  # nothing to do unless bulk_writes took the trigger away
            db.conn.executemany(_UPDATE_CACHE, caches)
            db.conn.executemany(
                _WRITE_MARK, (mark.values(card_id) for card_id, mark in marks.items() if mark)
            )
            reviewlog.forget_marks(db, (card_id for card_id, mark in marks.items() if mark is None))
            if bulk is not None and bulk.fresh:
                bulk.logged.update(cache[-1] for cache in caches)
        if write and settled:
            _settle(db, settings, settled)
        offered += len(chunk)
        if progress is not None:
            progress(offered)
    return result


def is_bulk(db: Database, incoming: int) -> bool:
    """Whether a merge of ``incoming`` answers is large for this log: it has indexes built again
    (:func:`bulk_writes`) and runs under the rollback journal (:func:`rollback_journal`)."""
    logged = db.execute("SELECT max(id) FROM reviews").fetchone()[0] or 0
    return incoming >= max(2 * logged, BULK_ROWS)


@contextmanager
def rollback_journal(db: Database, incoming: int) -> Iterator[bool]:
    """Around the transaction of a merge of ``incoming`` answers (outside it): if the merge is
    large (:func:`is_bulk`) and no other connection has the collection open, SQLite's rollback
    journal instead of its write-ahead log until it ends; whether it switched.

    In the write-ahead log every page a large merge writes is written twice, to the log and
    then to the file when the log is checkpointed; with the rollback journal the log's new
    pages are written once, and only the pages it changes are copied to the journal first. For a
    million answers, SQLite's part of the merge goes from 6.8 s to 4.6 s (``probes.py
    log-floor``). It is as safe: a crash leaves a hot journal that the next open rolls back, and
    with ``synchronous = FULL`` (the journal synced before the file is written) so does a power cut.
    While it writes, another process waits (its busy timeout) instead of reading the collection
    as it was; one that has the collection open already keeps the merge in the write-ahead log.
    """
    if incoming <= 0 or db.conn.in_transaction or not is_bulk(db, incoming):
        yield False
        return
    timeout = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 0")  # another connection: go on in the write-ahead log at once
    try:
        mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError:  # locked: another connection has the collection open
        mode = None
    finally:
        db.execute(f"PRAGMA busy_timeout = {timeout}")
    if mode != "delete":  # an in-memory collection has its own
        yield False
        return
    synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    db.execute("PRAGMA synchronous = FULL")  # NORMAL is power-safe in the write-ahead log only
    try:
        yield True
    finally:
        if not db.conn.in_transaction:
            with suppress(sqlite3.OperationalError):  # else the next open switches it back
                db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {int(synchronous)}")


@contextmanager
def bulk_writes(db: Database, incoming: int) -> Iterator[None]:
    """Make a large merge cheaper to write, as it was when it ends; in the caller's transaction.

    - From ``QUIET_TRIGGER_ROWS`` answers expected: the trigger that gives each answer logged here
      its journal line is taken away while they are added; :func:`take_in` gives the lines in one
      statement after each chunk instead (a trigger costs a third of an answer's insert). And
      Python's cycle collector rests: it walked the growing heap again and again (12 % of an
      import of a million answers), and the merge's objects form no cycles.
    - From twice the log's size (and ``BULK_ROWS``): the indexes the merge does not read are
      dropped and built again after. Answers arrive card by card and land all over an index that
      leads with the time, and each card's cached state moves in four indexes over the cards:
      growing them row by row costs more than sorting them once. So are the log's two unique
      indexes: :func:`take_in` keeps each answer's Anki id only where it is free of the ids logged
      before (read once) and of those its chunk gives; two chunks giving the same one are told
      apart when the index is built again (the later answer is numbered, as it would have been),
      and the answers without one are numbered once, at the end. Into an empty log, the history
      index goes too: :func:`take_in` reads a card's rows only when it was offered before in
      this merge (a rare case, then without the index: slower, not wrong; so are the caller's own
      reads of the log, such as a replay of cancelled answers).

    An error leaves the schema as it was (the caller's transaction rolls back).
    """
    saved: list[str] = []
    large = incoming >= QUIET_TRIGGER_ROWS
    if large:
        saved += _drop(db, "trigger", [JOURNAL_TRIGGER])
    logged = db.execute("SELECT max(id) FROM reviews").fetchone()[0] or 0
    indexes = is_bulk(db, incoming)
    bulk = None
    if indexes:
        taken = {row[0] for row in db.execute("SELECT anki_id FROM reviews WHERE anki_id IS NOT NULL")}
        bulk = _Bulk(taken, fresh=logged == 0)  # no row has an id below 1: an empty log
        names = BULK_INDEXES + UNIQUE_INDEXES + ((HISTORY_INDEX,) if bulk.fresh else ())
        saved += _drop(db, "index", names)
        _BULK[id(db.conn)] = bulk
    collecting = large and gc.isenabled()
    if collecting:  # the answers are built and dropped a chunk at a time, in no cycle
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        _BULK.pop(id(db.conn), None)
    if bulk is None:
        for sql in saved:  # the journal trigger alone
            db.execute(sql)
        return
    previous = db.execute("PRAGMA cache_size").fetchone()[0]
    threads = db.execute("PRAGMA threads").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {-INDEX_BUILD_CACHE_KIB}")  # the sort spills to disk, not to memory
    db.execute(f"PRAGMA threads = {INDEX_THREADS}")
    for sql in saved:
        if f" {ANKI_INDEX} " in sql:
            _build_anki_index(db, sql, logged)
        else:
            db.execute(sql)
    db.execute(f"PRAGMA threads = {threads}")
    db.execute(f"PRAGMA cache_size = {previous}")
    reviewlog.number_anki_ids(db)


def _build_anki_index(db: Database, sql: str, logged: int) -> None:
    """Build the unique index of Anki ids again; where two answers added have the same id, the
    later one (in row order) gives it up, to be numbered as if the index had been there."""
    try:
        db.execute(sql)
        return
    except sqlite3.IntegrityError:
        pass  # a statement's error: the transaction goes on
    db.execute("CREATE INDEX reviews_anki_twice ON reviews(anki_id, id)")
    db.execute(
        "UPDATE reviews SET anki_id = NULL WHERE id > ? AND EXISTS "
        "(SELECT 1 FROM reviews o WHERE o.anki_id = reviews.anki_id AND o.id < reviews.id)",
        [logged],
    )
    db.execute("DROP INDEX reviews_anki_twice")
    db.execute(sql)


def _drop(db: Database, kind: str, names: Iterable[str]) -> list[str]:
    """Drop these triggers or indexes where they exist; the SQL that makes them again."""
    dropped = []
    for name in names:
        row = db.execute("SELECT sql FROM sqlite_master WHERE type = ? AND name = ?", [kind, name]).fetchone()
        if row is not None and row[0] is not None:
            db.execute(f"DROP {kind.upper()} {name}")
            dropped.append(row[0])
    return dropped


def _chunks(offers: Iterable[Offer]) -> Iterator[list[Offer]]:
    chunk: list[Offer] = []
    for offer in offers:
        chunk.append(offer)
        if len(chunk) >= CHUNK_CARDS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _merge_chunk(
    db: Database,
    settings: Settings,
    days: clock.StudyDays,
    rules: dict[str, Rules],
    chunk: list[Offer],
    result: MergeResult,
    bulk: _Bulk | None = None,
    settled: list[tuple[Any, ...]] | None = None,
) -> tuple[list[list[object]], list[tuple[Any, ...]], dict[str, Mark | None], list[tuple[Any, ...]]]:
    """The log rows of a chunk of cards' new answers (with their state before and memory), the
    cached state of each card the merged log gives (values for ``_UPDATE_CACHE``), each such
    card's replay mark (None: it can have none), and the corrections of its logged rows that new
    answers now come before (values for :func:`reviewlog.correct`). Copies of Anki answers the
    log has, counted on another study day, are added to ``settled`` (values for :func:`_settle`)."""
    ids = list(dict.fromkeys(offer.card_id for offer in chunk))
    places = ", ".join("?" * len(ids))
    decks = dict(db.execute(f"SELECT id, deck FROM cards WHERE id IN ({places})", ids).fetchall())

    def rules_of(card_id: str) -> Rules:
        deck = str(decks.get(card_id, ""))
        deck_rules = rules.get(deck)
        if deck_rules is None:
            deck_rules = rules[deck] = scheduler.rules_for(
                settings.for_deck(deck), settings.day_start_hour, days
            )
        return deck_rules

    marked: dict[str, Mark] = {}
    if bulk is None:  # (a large merge has the unique indexes away: it reads every card's history)
        with_anki_ids = {  # an Anki file's answers: their echoes are looked for in the card's history
            offer.card_id
            for offer in chunk
            if offer.source == reviewlog.SOURCE_ANKI
            and any(anki_id is not None for anki_id in offer.anki_ids)
        }
        marked = _read_marks(db, [card_id for card_id in ids if card_id not in with_anki_ids], rules_of)
    read = [card_id for card_id in ids if card_id not in marked]
    if bulk is not None and bulk.fresh:  # only this merge's cards have rows (read without an index)
        read = [card_id for card_id in read if card_id in bulk.logged]
    origins, existing = _histories(db, read)
    if marked:
        _taken_in(db, [offer for offer in chunk if offer.card_id in marked], origins)
    new_answers: dict[str, list[Incoming]] = {}
    for offer in chunk:
        by_anki_id, sources = origins.get(offer.card_id, ({}, set()))
        positions = []
        for position, anki_id in enumerate(offer.anki_ids):
            here = by_anki_id.get(anki_id) if anki_id is not None else None
            if here and offer.source != reviewlog.SOURCE_ANKI:
                here = None  # another machine's answer in the same millisecond as one here: both count
            if here is not None:
                if here:
                    result.echoes += 1
                else:
                    result.already += 1
                    if offer.copies and settled is not None and offer.source == reviewlog.SOURCE_ANKI:
                        _compare_days(offer, position, existing.get(offer.card_id, ()), settled)
                continue
            if sources and (offer.source, offer.source_id(position)) in sources:
                result.already += 1
                continue
            positions.append(position)
        if positions and offer.source == reviewlog.SOURCE_ANKI and any(by_anki_id.values()):
            positions = _near_echoes(offer, positions, by_anki_id, result)
        if positions:
            built = offer.build(positions)
            earlier = new_answers.get(offer.card_id)
            if earlier is None:
                new_answers[offer.card_id] = built
            else:  # the same card from another source (an answer given here, another imported): in time
                earlier.extend(built)
                earlier.sort(key=lambda incoming: incoming.reviewed_at)
    if not new_answers:
        return [], [], {}, []
    late = [
        card_id
        for card_id, mark in marked.items()
        if card_id in new_answers and not mark.goes_on(new_answers[card_id])
    ]
    if late:  # answers placed among the card's rows: its whole log is read and replayed
        for card_id in late:
            del marked[card_id]
        existing.update(_histories(db, late)[1])
    rows: list[list[object]] = []
    caches = []
    corrected: list[tuple[Any, ...]] = []
    written: dict[str, Mark | None] = {}
    for card_id, new in new_answers.items():
        result.added += len(new)
        result.cards.add(card_id)
        card_rows, cache, written[card_id], fixed = _rows(
            card_id, existing.get(card_id, []), new, rules_of(card_id), days, marked.get(card_id)
        )
        rows.extend(card_rows)
        corrected.extend(fixed)
        caches.append((*cache, card_id))
    return rows, caches, written, corrected


def _compare_days(
    offer: Offer, position: int, logged: Iterable[tuple[Any, ...]], settled: list[tuple[Any, ...]]
) -> None:
    """An Anki answer the log has, offered again by another machine that imported it too: if
    that machine counted it on an earlier study day (another zone), add the row's settling."""
    anki_id = offer.anki_ids[position]
    row = next((row for row in logged if row[10] == anki_id and row[11] == reviewlog.SOURCE_ANKI), None)
    if row is None or row[8] is None:
        return
    copy = offer.build([position])[0]
    if copy.day_end is not None and day_order(copy.day_end, copy.due_day, copy.due) < day_order(
        row[8], row[4], row[3]
    ):
        settled.append((copy.day_end, copy.due_day, copy.due, row[13], row[0], row[2]))


def day_order(day_end: float | None, due_day: int | None, due: str) -> tuple[float, int, str]:
    """How two machines' counts of one answer's study day compare (the end of the day, the due
    day, the due date; no end of day: last): every machine keeps the earlier."""
    return (math.inf if day_end is None else day_end, due_day or 0, due)


def _settle(db: Database, settings: Settings, settled: list[tuple[Any, ...]]) -> None:
    """Give Anki answers the study day (its end, the due day and due date) another machine that
    imported the same file counted, the earlier of the two: both machines then keep the same
    (each takes the other's line in once). The rows from there are replayed again, then the
    cards' cached states."""
    earliest: dict[int, tuple[Any, ...]] = {}  # two machines' copies of one row: the earlier day wins
    for row in settled:
        kept = earliest.get(row[3])
        if kept is None or day_order(*row[:3]) < day_order(*kept[:3]):
            earliest[row[3]] = row
    settled = list(earliest.values())
    reviewlog.settle_days(db, [row[:4] for row in settled])
    since: dict[str, str] = {}
    for *_, card_id, reviewed_at in settled:
        since[card_id] = min(since.get(card_id, reviewed_at), reviewed_at)
    reviewlog.forget_marks(db, since)
    refind(db, settings, since)
    scheduler.rebuild_within(db, settings, sorted(since))


def _histories(
    db: Database, card_ids: list[str]
) -> tuple[dict[str, tuple[dict[int, bool], set[tuple[str, str]]]], dict[str, list[tuple[Any, ...]]]]:
    """What was taken in for these cards (by Anki id: whether given here; by source and source
    id), and each card's history as :func:`_rows` reads it: one pass over their rows."""
    origins: dict[str, tuple[dict[int, bool], set[tuple[str, str]]]] = {}
    existing: dict[str, list[tuple[Any, ...]]] = {}
    if not card_ids:
        return origins, existing
    for row in db.execute(_HISTORY.format(places=", ".join("?" * len(card_ids))), card_ids):
        card_id, anki_id, source = row[0], row[10], row[11]
        known = origins.get(card_id)
        if known is None:
            known = origins[card_id] = ({}, set())
            existing[card_id] = [row]
        else:
            existing[card_id].append(row)
        if anki_id is not None:
            known[0][anki_id] = source is None
        if source is not None:
            known[1].add((source, row[12]))
    return origins, existing


def _read_marks(db: Database, card_ids: list[str], rules_of: Callable[[str], Rules]) -> dict[str, Mark]:
    """The replay marks of these cards made under the rules each has now."""
    if not card_ids:
        return {}
    found = {}
    for (
        card_id,
        key,
        state,
        step,
        stability,
        difficulty,
        reps,
        lapses,
        last_stamp,
        logged_lapses,
        last_at,
        logged_state,
        logged_step,
    ) in db.execute(
        f"SELECT {_MARK_COLUMNS} FROM replay_marks WHERE card_id IN ({', '.join('?' * len(card_ids))})",
        card_ids,
    ):
        if key == rules_of(card_id).replay_key:
            memory = (state, step, stability, difficulty, reps, lapses)
            end = scheduler.Checkpoint(memory, last_stamp, logged_lapses)
            found[card_id] = Mark(key, end, last_at, STATE_OF[logged_state], logged_step)
    return found


def read_mark(db: Database, card_id: str, rules: Rules) -> Mark | None:
    """The card's replay mark, if it was made under these rules."""
    return _read_marks(db, [card_id], lambda _: rules).get(card_id)


def carry_mark(db: Database, mark: Mark, entry: reviewlog.Entry, rules: Rules) -> None:
    """Write the mark replaying the card's log gives once ``entry`` (an answer just logged here,
    which forgot ``mark``) is in it: the replay goes on from ``mark`` over it, as a merge's would.

    Nothing when the answer is not after every row the mark covers (or has no end of day): the
    card's next merge replays its whole log."""
    if entry.kind != Kind.ANSWER or entry.reviewed_at < mark.last_at or entry.day_end is None:
        return
    stamp = datetime.fromisoformat(entry.reviewed_at).timestamp()  # as a replay reads it back
    rating, state = int(entry.rating), State(entry.state)
    row: tuple[Any, ...] = (  # the answer's row, as replay_log reads one
        entry.card_id,
        rating,
        entry.reviewed_at,
        entry.due,
        entry.due_day,
        int(entry.state_before),
        int(state),
        entry.step,
        entry.day_end,
        int(entry.kind),
    )
    end: list[scheduler.Checkpoint] = []
    scheduler.replay_log(
        rules, rules.days, [row], None, [stamp], [(rating, stamp, entry.day_end)], mark.end, end
    )
    carried = Mark.made(rules, end[0], entry.reviewed_at, state, entry.step)
    db.execute(_WRITE_MARK, list(carried.values(entry.card_id)))


def _taken_in(
    db: Database, offers: list[Offer], origins: dict[str, tuple[dict[int, bool], set[tuple[str, str]]]]
) -> None:
    """Add to ``origins`` the offered answers of cards not read that the log has already: each
    card's (source, source id) pairs found on it (index reviews_source), and the Anki ids offered
    that its rows have (index reviews_anki; whether the row was given here): another machine's
    answer that came here through Anki first is the same answer."""
    wanted: dict[str, list[str]] = {}
    anki_ids: list[int] = []
    for offer in offers:
        wanted.setdefault(offer.source, []).extend(offer.source_id(p) for p in range(len(offer.anki_ids)))
        anki_ids.extend(anki_id for anki_id in offer.anki_ids if anki_id is not None)
    for first in range(0, len(anki_ids), 900):
        some = anki_ids[first : first + 900]
        for card_id, anki_id, source in db.execute(
            f"SELECT card_id, anki_id, source FROM reviews WHERE anki_id IN ({', '.join('?' * len(some))})",
            some,
        ):
            origins.setdefault(card_id, ({}, set()))[0][anki_id] = source is None
    for source, source_ids in wanted.items():
        for first in range(0, len(source_ids), 900):
            part = source_ids[first : first + 900]
            for card_id, source_id in db.execute(
                f"SELECT card_id, source_id FROM reviews WHERE source = ? AND source_id IN ({', '.join('?' * len(part))})",
                [source, *part],
            ):
                origins.setdefault(card_id, ({}, set()))[1].add((source, source_id))


def _near_echoes(
    offer: Offer, positions: list[int], by_anki_id: dict[int, bool], result: MergeResult
) -> list[int]:
    """Recognise echoes whose Anki id is within a second of the id the answer keeps here.

    Exports before the ids were kept numbered answers given in the same millisecond in another
    order, so such an echo comes back a few milliseconds off. Each answer given here matches once.
    """
    exact = set(offer.anki_ids)
    free = sorted(anki_id for anki_id, here in by_anki_id.items() if here and anki_id not in exact)
    kept = []
    for position in positions:
        anki_id = offer.anki_ids[position]
        match = None if anki_id is None else next((mine for mine in free if abs(mine - anki_id) < 1000), None)
        if match is None:
            kept.append(position)
        else:
            free.remove(match)
            result.echoes += 1
    return kept


def _rows(
    card_id: str,
    logged: list[tuple[Any, ...]],
    new: list[Incoming],
    rules: Rules,
    days: clock.StudyDays,
    mark: Mark | None = None,
) -> tuple[list[list[object]], tuple[Any, ...], Mark | None, list[tuple[Any, ...]]]:
    """Log rows for ``new`` answers, placed in time among the ``logged`` ones (which go first on a
    tie), the card's cached state that the merged log gives, and its replay mark (None when a
    row has no end of day: a replay of it depends on the zone). ``logged``: the card's rows as
    :func:`_merge_chunk` reads them, the first ten columns as :func:`scheduler.replay_log` reads
    them; with ``mark``, none: the answers go on from the mark (see :meth:`Mark.goes_on`)."""
    merged: list[Incoming | tuple[Any, ...]]
    if logged:
        ordered = [(str(row[2]), 0, row) for row in logged] + [(a.reviewed_at, 1, a) for a in new]
        ordered.sort(key=lambda item: (item[0], item[1]))
        merged = [item for _, _, item in ordered]
    else:  # in time, as the log reads them back (each source offers them so: a pass to check)
        merged = [*sorted(new, key=lambda answer: answer.reviewed_at)]
    parse, end_stamp, answer_kind = datetime.fromisoformat, days.end_stamp, Kind.ANSWER
    log: list[Any] = []  # the merged history as scheduler.replay_log reads it
    stamps: list[float] = []
    reviews: list[tuple[int, float, int | None]] | None = []  # while every row is an answer: for the replay
    added: list[list[object]] = []
    positions: list[int] = []
    state, step = (State.NEW, 0) if mark is None else (mark.logged_state, mark.logged_step)
    dated = True  # every row has its end of day
    last_at = ""
    later: list[tuple[int, tuple[Any, ...], State, int]] = []  # logged rows after a new one, as found
    for item in merged:
        if not isinstance(item, Incoming):
            if positions:  # the history before this row changed: what it found is looked at again
                later.append((len(log), item, state, step))
                found = scheduler.found_states(item, state, step)
                log.append((*item[:5], *found, *item[8:10]))  # replayed (its lapses counted) as found
            else:
                log.append(item)
            stamps.append(parse(item[2]).timestamp())
            if item[9] == answer_kind:  # cram answers and due days brought forward change no state
                state = STATE_OF[item[6]]
                step = int(item[7]) if item[7] is not None else 0
            if item[8] is None:
                dated = False
            last_at = item[2]
            reviews = None
            continue
        before = state
        answer = item.kind == answer_kind  # else logged with the state and step where it falls in time
        if answer:
            state = item.state
        else:
            reviews = None
        learning = state in _LEARNING
        if learning and answer:
            step = item.step if item.step is not None else _next_step(before, state, step, item.rating)
        stamp = item.stamp if item.stamp is not None else parse(item.reviewed_at).timestamp()
        rating, reviewed_at, due, due_day = int(item.rating), item.reviewed_at, item.due, item.due_day
        day_end = item.day_end if item.day_end is not None else int(end_stamp(stamp))
        left, kind = int(state), int(item.kind)
        row_step = step if learning else None
        last_at = reviewed_at
        row: list[object] = [
            card_id,
            rating,
            reviewed_at,
            item.duration_ms,
            due,
            int(before),
            left,
            None,  # stability and difficulty: filled in from the replay below
            None,
            due_day,
            row_step,
            day_end,
            item.source,
            item.source_id,
            # its own Anki id, else its millisecond, kept if free (numbered after otherwise: number_anki_ids)
            item.anki_id if item.anki_id is not None else reviewlog.milliseconds(reviewed_at),
            kind,
            item.points,
            item.ticked,
        ]
        positions.append(len(log))
        added.append(row)
        log.append((card_id, rating, reviewed_at, due, due_day, row[5], left, row_step, day_end, kind))
        stamps.append(stamp)
        if reviews is not None:
            reviews.append((rating, stamp, day_end))
    trace: list[tuple[float, float]] = []
    end: list[scheduler.Checkpoint] = []
    start = None
    if mark is not None:
        assert reviews is not None, "a replay goes on from a mark with answers only"
        start = mark.end
    cache = scheduler.replay_log(rules, days, log, trace, stamps, reviews, start, end)
    for row, position in zip(added, positions, strict=True):
        row[7], row[8] = trace[position]
    corrected = [
        fixed
        for position, row, before, step_before in later
        if (fixed := _found(row, before, step_before, trace[position]))
    ]
    return added, cache, Mark.made(rules, end[0], last_at, state, step) if dated else None, corrected


def refind(db: Database, settings: Settings, since: dict[str, str]) -> None:
    """Correct what each card's logged rows from ``since[card]`` on found (:func:`_found`), once
    an answer given before them left the log (an undo, here or on another machine): the card's
    log replayed as it is now. In the caller's transaction; the card's cache is the caller's."""
    if not since:
        return
    days = clock.StudyDays(settings.day_start_hour)
    ids = list(since)
    corrected = []
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        places = ", ".join("?" * len(part))
        decks = dict(db.execute(f"SELECT id, deck FROM cards WHERE id IN ({places})", part).fetchall())
        for card_id, logged in _histories(db, part)[1].items():
            first = since[card_id]
            deck = str(decks.get(card_id, ""))
            rules = scheduler.rules_for(settings.for_deck(deck), settings.day_start_hour, days)
            state, step = State.NEW, 0
            log: list[tuple[Any, ...]] = []
            later = []
            for row in logged:
                if row[2] >= first:
                    later.append((len(log), row, state, step))
                    log.append((*row[:5], *scheduler.found_states(row, state, step), *row[8:10]))
                else:
                    log.append(row)
                if row[9] == Kind.ANSWER:
                    state, step = STATE_OF[row[6]], int(row[7]) if row[7] is not None else 0
            trace: list[tuple[float, float]] = []
            scheduler.replay_log(rules, days, log, trace)
            corrected += [
                fixed for at, row, before, found in later if (fixed := _found(row, before, found, trace[at]))
            ]
    reviewlog.correct(db, corrected)


def _found(
    row: tuple[Any, ...], before: State, step: int, memory: tuple[float, float]
) -> tuple[Any, ...] | None:
    """A logged row (as :data:`_HISTORY` reads it) now placed after new answers, corrected to what
    it found there, as a new row would be logged: the state before it, the memory after it, and
    for a row that is not an answer its state and step (those it found); None if it has them.
    Values for :func:`reviewlog.correct`."""
    wanted = (*scheduler.found_states(row, before, step), *memory)
    if (row[5], row[6], row[7], row[14], row[15]) == wanted:
        return None
    return (*wanted, row[13])


def _next_step(before: State, after: State, step: int, rating: int) -> int:
    """The (re)learning step an answer leaves a card on, counted as the steps advance."""
    if before != after:  # entering (re)learning: a new card's Good moves on to the second step
        return 1 if before == State.NEW and rating == Rating.GOOD else 0
    if rating == Rating.AGAIN:
        return 0
    return step + 1 if rating == Rating.GOOD else step


def _assign_anki_ids(db: Database, rows: list[list[object]], bulk: _Bulk | None = None) -> None:
    """Keep each row's Anki id where no answer in the log has it; else leave it to be numbered.

    In bulk, the log's ids are those it had before the merge (the merge's own are told apart
    when the index is built again, see :func:`bulk_writes`)."""
    wanted = [row[ANKI_ID] for row in rows if row[ANKI_ID] is not None]
    taken: set[object]
    if bulk is not None:
        taken = {anki_id for anki_id in wanted if anki_id in bulk.taken}
    else:
        taken = set()
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            marks = ", ".join("?" * len(part))
            taken.update(
                row[0] for row in db.execute(f"SELECT anki_id FROM reviews WHERE anki_id IN ({marks})", part)
            )
    seen: set[object] = set()
    for row in rows:
        if row[ANKI_ID] in taken or row[ANKI_ID] in seen:
            row[ANKI_ID] = None
        elif row[ANKI_ID] is not None:
            seen.add(row[ANKI_ID])
