"""FSRS-6 scheduling over the collection: answer a card, undo an answer, suspend, replay the log.

The review log is the truth. Each answer appends one row (with the due date it produced, since
fuzz is random) and updates the card's cached state in the same transaction. Replaying the log
with fuzz off, taking each due date from the log, reproduces the cache exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flashcards import clock, reviewlog
from flashcards.database import Database
from flashcards.errors import CardsError, NotFoundError, StaleCardError
from flashcards.listing import resolve_cards
from flashcards.rules import Memory, Rules, Scheduled, fuzz_factor, is_leech
from flashcards.settings import DeckSettings, Settings
from flashcards.states import CACHE_COLUMNS, CardState, Kind, Rating, State, sql_list

MAX_DURATION_MS = 60_000
_UNDO_COLUMNS = (*CACHE_COLUMNS, "suspended", "leech", "buried_until")


@dataclass(frozen=True)
class Answer:
    """One committed answer, with what is needed to undo it."""

    card_id: str
    rating: Rating
    review_id: int
    reviewed_at: datetime
    duration_ms: int
    before: CardState
    after: CardState
    leech: bool
    previous: tuple[Any, ...] = field(repr=False)
    siblings: tuple[tuple[str, str | None], ...] = field(repr=False)
    buried_until: str = field(repr=False)
    # cards brought forward to today by this answer: (log row, card, due before, due day before)
    moved: tuple[tuple[int, str, str | None, int | None], ...] = field(default=(), repr=False)


def rules_for(deck_settings: DeckSettings, day_start_hour: int, days: clock.StudyDays | None = None) -> Rules:
    """The scheduling rules of a deck's settings (``days``: a study-day calendar to share)."""
    return Rules(deck_settings, days or clock.StudyDays(day_start_hour))


def preview(
    deck_settings: DeckSettings,
    before: CardState,
    now: datetime,
    card_id: str | None = None,
    *,
    day_start_hour: int = 4,
) -> dict[Rating, Scheduled]:
    """Return what each rating would do now, with the interval its button shows.

    With ``card_id``, fuzz is applied exactly as :func:`answer` will apply it, so the labels on
    the buttons are the intervals the answers give; without it, intervals are unfuzzed.
    """
    fuzz = fuzz_factor(card_id, before.reps) if card_id is not None else None
    return rules_for(deck_settings, day_start_hour).next_states(before, now, fuzz)


def read_state(db: Database, card_id: str) -> CardState:
    """Return a card's cached state."""
    row = db.execute(f"SELECT {', '.join(CACHE_COLUMNS)} FROM cards WHERE id = ?", [card_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no card with id {card_id!r}")
    return CardState.from_row(row)


def _buried_siblings(deck_settings: DeckSettings, answered: State) -> str:
    """SQL selecting the siblings an answer buries until tomorrow, by Anki's three options."""
    kinds = []
    if deck_settings.bury_new:
        kinds.append(f"state = {State.NEW:d}")
    if deck_settings.bury_reviews and answered != State.NEW:
        kinds.append(f"state = {State.REVIEW:d}")
    if deck_settings.bury_interday_learning and answered in (State.LEARNING, State.RELEARNING):
        kinds.append(f"(state IN {sql_list(State.LEARNING, State.RELEARNING)} AND due_day IS NOT NULL)")
    return " OR ".join(kinds) or "0"


def answer(
    db: Database,
    card_id: str,
    rating: Rating,
    now: datetime,
    duration_ms: int,
    settings: Settings,
    shown: CardState | None = None,
    *,
    max_duration_ms: int = MAX_DURATION_MS,
    points: int | None = None,
    ticked: str | None = None,
    forward: Sequence[str] = (),
) -> Answer:
    """Record one answer: append the log row, update the card, bury its siblings; one transaction.

    With ``shown`` (the state the user saw when the card was shown), the answer is committed only
    if the card is still in that state; otherwise :class:`StaleCardError` and nothing is written.
    A rehearsal answer gives its ``points`` and the points ``ticked`` (``"1 3"``), its longer
    ``max_duration_ms``, and the notes behind the points missed (``forward``), whose cards due
    after today are brought forward to today (:func:`_bring_forward`).
    """
    duration = max(0, min(int(duration_ms), max_duration_ms))
    next_day = clock.to_db(clock.next_day_start(now, settings.day_start_hour))
    with _immediate(db):
        row = db.execute(
            f"SELECT deck, note_id, {', '.join(_UNDO_COLUMNS)} FROM cards WHERE id = ?", [card_id]
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no card with id {card_id!r}")
        deck, note_id, *previous = row
        deck_settings = settings.for_deck(deck)
        before = CardState.from_row(previous[: len(CACHE_COLUMNS)])
        # answered elsewhere since it was shown (a reschedule by optimize or rebuild is not an answer)
        if shown is not None and (before.reps, before.last_review) != (shown.reps, shown.last_review):
            raise StaleCardError(
                f"{card_id} was answered in another session after it was shown here; this answer was not saved"
            )
        if rating not in tuple(Rating):
            raise CardsError(f"rating must be 1-4, got {rating}")
        if before.last_review is not None and now < before.last_review:
            now = before.last_review  # a clock set back: the log stays in the order the answers were given
        rules = rules_for(deck_settings, settings.day_start_hour)
        after = rules.next_states(before, now, fuzz_factor(card_id, before.reps))[Rating(rating)].card
        suspended, leech = previous[-3], previous[-2]
        lapsed = after.lapses > before.lapses
        became_leech = lapsed and is_leech(after.lapses, deck_settings.leech_threshold)
        if became_leech:
            suspended, leech = 1, 1
        assert after.due is not None and after.stability is not None and after.difficulty is not None
        from flashcards import merge  # (merge imports this module)

        mark = merge.read_mark(db, card_id, rules)
        entry = reviewlog.Entry(
            card_id=card_id,
            rating=Rating(rating),
            reviewed_at=clock.to_db(now),
            duration_ms=duration,
            due=clock.to_db(after.due),
            state_before=before.state,
            state=after.state,
            stability=after.stability,
            difficulty=after.difficulty,
            due_day=after.due_day,
            step=after.step,
            day_end=int(rules.days.end_stamp(now.timestamp())),
            points=points,
            ticked=ticked,
        )
        review_id = reviewlog.append(db, entry)
        if mark is not None:  # the next merge of another machine's answers goes on from here
            merge.carry_mark(db, mark, entry, rules)
        db.execute(
            f"UPDATE cards SET {', '.join(f'{c} = ?' for c in CACHE_COLUMNS)}, suspended = ?, leech = ? "
            "WHERE id = ?",
            [*after.to_row(), suspended, leech, card_id],
        )
        moved = _bring_forward(db, [n for n in forward if n != note_id], now, rules.days)
        buried = _buried_siblings(deck_settings, before.state)
        sibling_filter = (
            f"note_id = ? AND id != ? AND ({buried}) AND retired_at IS NULL "
            "AND (buried_until IS NULL OR buried_until < ?)"
        )
        siblings = tuple(
            (str(r[0]), r[1])
            for r in db.execute(
                f"SELECT id, buried_until FROM cards WHERE {sibling_filter}", [note_id, card_id, next_day]
            )
        )
        db.execute(
            f"UPDATE cards SET buried_until = ? WHERE {sibling_filter}",
            [next_day, note_id, card_id, next_day],
        )
    return Answer(
        card_id,
        Rating(rating),
        review_id,
        now,
        duration,
        before,
        after,
        became_leech,
        tuple(previous),
        siblings,
        next_day,
        moved,
    )


def _bring_forward(
    db: Database, note_ids: Sequence[str], now: datetime, days: clock.StudyDays
) -> tuple[tuple[int, str, str | None, int | None], ...]:
    """Make the studied cards of ``note_ids`` due after today due today, each with a log row.

    The row (``Kind.RESCHEDULED``, rating 0) keeps the card's memory state and gives its new due
    day, so replaying the log still gives the cache. Caller holds the transaction.
    """
    today = days.day(now)
    start = clock.to_db(days.start(today))
    moved = []
    for note_id in note_ids:
        rows = db.execute(
            f"SELECT id, {', '.join(CACHE_COLUMNS)} FROM cards WHERE note_id = ? AND retired_at IS NULL "
            f"AND suspended = 0 AND state != {State.NEW:d} AND due_day > ? ORDER BY id",
            [note_id, today],
        ).fetchall()
        for card_id, *cached in rows:
            state = CardState.from_row(cached)
            assert state.stability is not None and state.difficulty is not None
            review_id = reviewlog.append(
                db,
                reviewlog.Entry(
                    card_id=card_id,
                    rating=0,
                    reviewed_at=clock.to_db(now),
                    duration_ms=0,
                    due=start,
                    state_before=state.state,
                    state=state.state,
                    stability=state.stability,
                    difficulty=state.difficulty,
                    due_day=today,
                    step=state.step,
                    day_end=int(days.end_stamp(now.timestamp())),
                    kind=Kind.RESCHEDULED,
                ),
            )
            db.execute("UPDATE cards SET due = ?, due_day = ? WHERE id = ?", [start, today, card_id])
            moved.append((review_id, str(card_id), cached[CACHE_COLUMNS.index("due")], state.due_day))
    return tuple(moved)


def cram(
    db: Database,
    card_id: str,
    rating: Rating,
    now: datetime,
    duration_ms: int,
    settings: Settings,
    shown: CardState | None = None,
    *,
    max_duration_ms: int = MAX_DURATION_MS,
    points: int | None = None,
    ticked: str | None = None,
    forward: Sequence[str] = (),
) -> Answer:
    """Record a cram answer: a log row (``Kind.CRAM``) that changes nothing about the card.

    The card keeps its memory state, due date and siblings as they were; replay, the optimizer,
    stats and the daily limits skip the row, as Anki's FSRS skips filtered-deck answers made
    without rescheduling. ``shown``, ``points`` and ``ticked`` as for :func:`answer`; nothing is
    brought forward (``forward`` is ignored: a cram pass changes no schedule).
    """
    duration = max(0, min(int(duration_ms), max_duration_ms))
    with _immediate(db):
        row = db.execute(f"SELECT {', '.join(_UNDO_COLUMNS)} FROM cards WHERE id = ?", [card_id]).fetchone()
        if row is None:
            raise NotFoundError(f"no card with id {card_id!r}")
        before = CardState.from_row(row[: len(CACHE_COLUMNS)])
        if shown is not None and (before.reps, before.last_review) != (shown.reps, shown.last_review):
            raise StaleCardError(
                f"{card_id} was answered in another session after it was shown here; this answer was not saved"
            )
        if rating not in tuple(Rating):
            raise CardsError(f"rating must be 1-4, got {rating}")
        if before.stability is None or before.difficulty is None or before.due is None:
            raise CardsError(f"{card_id} is new: a cram pass takes cards studied before")
        if before.last_review is not None and now < before.last_review:
            now = before.last_review
        days = clock.StudyDays(settings.day_start_hour)
        review_id = reviewlog.append(
            db,
            reviewlog.Entry(
                card_id=card_id,
                rating=Rating(rating),
                reviewed_at=clock.to_db(now),
                duration_ms=duration,
                due=clock.to_db(before.due),
                state_before=before.state,
                state=before.state,
                stability=before.stability,
                difficulty=before.difficulty,
                due_day=before.due_day,
                step=before.step,
                day_end=int(days.end_stamp(now.timestamp())),
                kind=Kind.CRAM,
                points=points,
                ticked=ticked,
            ),
        )
    return Answer(
        card_id, Rating(rating), review_id, now, duration, before, before, False, tuple(row), (), ""
    )


def undo(db: Database, done: Answer, settings: Settings) -> None:
    """Undo an answer: remove its log row and restore what the answer changed, and nothing else.

    The card's state comes back exactly; its suspended and leech flags only if this answer made it a
    leech (a `cards suspend` run since in another terminal stays), and its siblings' burial. Cards
    it brought forward get their due day back, with their log rows removed, unless answered since.
    If answers from elsewhere were merged into the card's log since (given before this one, in
    another terminal's take-in), the card's state is what its log now gives under ``settings``.
    """
    with _immediate(db):
        if reviewlog.latest(db, done.card_id) != done.review_id:
            raise CardsError(f"cannot undo: card {done.card_id} was answered again since")
        merged_since = db.execute(
            "SELECT 1 FROM reviews WHERE card_id = ? AND id > ? LIMIT 1", [done.card_id, done.review_id]
        ).fetchone()
        removed_at = reviewlog.remove(db, done.review_id)
        columns = _UNDO_COLUMNS if done.leech else CACHE_COLUMNS
        db.execute(
            f"UPDATE cards SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
            [*done.previous[: len(columns)], done.card_id],
        )
        if merged_since is not None:
            from flashcards import merge  # (merge imports this module)

            if removed_at is not None:  # rows merged since may come after it in time
                merge.refind(db, settings, {done.card_id: removed_at})
            rebuild_within(db, settings, [done.card_id])
        db.conn.executemany(
            "UPDATE cards SET buried_until = ? WHERE id = ? AND buried_until = ?",
            [(value, sibling, done.buried_until) for sibling, value in done.siblings],
        )
        for review_id, card_id, due, due_day in done.moved:
            if reviewlog.latest(db, card_id) == review_id:  # not answered since it was brought forward
                reviewlog.remove(db, review_id)
                db.execute("UPDATE cards SET due = ?, due_day = ? WHERE id = ?", [due, due_day, card_id])


def bury(db: Database, card_id: str, until: datetime) -> None:
    """Hide a card until ``until`` (the start of the next study day)."""
    db.execute("UPDATE cards SET buried_until = ? WHERE id = ?", [clock.to_db(until), card_id])


@dataclass(frozen=True)
class Suspension:
    """What :func:`set_suspended` did: the cards it changed, those already so, and the leeches."""

    suspended: bool
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    leeches: tuple[str, ...]


def set_suspended(db: Database, names: Iterable[str], suspended: bool) -> Suspension:
    """Suspend (or unsuspend) the cards ``names`` mean, all of them or none, in one transaction.

    Names are resolved by :func:`flashcards.listing.resolve_cards`; one that means no card, or
    several, stops everything. The ``leech`` flag is left as it is: an unsuspended leech is
    reviewable again and still a leech, as in Anki, where the flag is a tag.
    """
    with _immediate(db):
        card_ids = resolve_cards(db, names)
        flags = {
            card_id: db.execute("SELECT suspended, leech FROM cards WHERE id = ?", [card_id]).fetchone()
            for card_id in card_ids
        }
        changed = [card_id for card_id in card_ids if bool(flags[card_id][0]) != suspended]
        db.conn.executemany(
            "UPDATE cards SET suspended = ? WHERE id = ?", [(int(suspended), card_id) for card_id in changed]
        )
    return Suspension(
        suspended,
        tuple(changed),
        tuple(card_id for card_id in card_ids if bool(flags[card_id][0]) == suspended),
        tuple(card_id for card_id in card_ids if flags[card_id][1]),
    )


@dataclass
class RebuildResult:
    """What a rebuild did."""

    cards: int = 0
    reviews: int = 0
    changed: list[str] = field(default_factory=list)
    found_again: int = 0  # cards whose rows found another history than they have (corrected by a write)


def replay(
    db: Database, settings: Settings, card_ids: Iterable[str] | None = None
) -> Iterator[tuple[str, tuple[Any, ...], tuple[Any, ...]]]:
    """Yield (card id, cached state, state replayed from the log) for the chosen cards.

    States are rows of the cache columns, as stored. Memory and state follow the rules of
    :class:`flashcards.rules.Rules`; due dates are the log's. An answer logged before due days
    were kept (``due_day`` NULL) is due on the study day of its due instant if it made a review card.
    """
    ids = None if card_ids is None else list(card_ids)
    replayer = _Replayer(settings)
    for where, params in [("", [])] if ids is None else _chunks(ids):
        yield from replayer.replay(db, where, params)


def _chunks(ids: list[str]) -> Iterator[tuple[str, list[str]]]:
    """SQL selections of the cards ``ids``, 500 at a time."""
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        yield f"WHERE c.id IN ({', '.join('?' * len(chunk))})", chunk


def _pages(db: Database, size: int = 2000) -> Iterator[tuple[str, list[str]]]:
    """SQL selections of every card, ``size`` cards at a time in id order (each read when needed)."""
    after = ""
    while True:
        last = db.execute(
            "SELECT id FROM cards WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", [after, size - 1]
        ).fetchone()
        if last is None:
            yield "WHERE c.id > ?", [after]
            return
        yield "WHERE c.id > ? AND c.id <= ?", [after, last[0]]
        after = last[0]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where replaying a card's whole log leaves it: what :func:`replay_log` goes on from when
    answers are added after every row (a merge keeps it as the card's replay mark)."""

    memory: Memory  # the rules' own (state, step, stability, difficulty, reps, lapses)
    last_stamp: float | None  # its last answer's POSIX time; None: no answer yet
    logged_lapses: int  # its answers logged on a review card and rated Again


def replay_log(
    rules: Rules,
    days: clock.StudyDays,
    rows: list[Any],
    trace: list[tuple[float, float]] | None = None,
    stamps: list[float] | None = None,
    reviews: list[tuple[int, float, int | None]] | None = None,
    start: Checkpoint | None = None,
    end: list[Checkpoint] | None = None,
) -> tuple[Any, ...]:
    """The cached state one card's log gives: its rows in history order, each
    ``(card_id, rating, reviewed_at, due, due_day, state_before, state, step, day_end[, kind])``
    (no kind: an answer).

    Memory and state follow the rules, from the answers only (cram answers change nothing); due
    dates, and the state and step of the last answer, are the log's, or those of a due day
    brought forward after it. With ``trace``, the memory after each row is appended to it (a row
    that is not an answer repeats the memory before it); ``stamps``, the rows' times as POSIX
    times, if the caller has them; ``reviews``, when every row is an answer, each one's
    ``(rating, POSIX time, day_end)``, if the caller has built them (a merge has).

    With ``start``, ``rows`` are answers (at least one) given after every row of a log whose
    replay ended at that checkpoint: the result is the whole log's. With ``end``, where this
    replay ends is appended to it.
    """
    parse = datetime.fromisoformat
    answer_kind, rescheduled = int(Kind.ANSWER), int(Kind.RESCHEDULED)
    answers: list[Any] = rows
    answered: list[int] | None = None  # for each row, how many answers there are up to it
    moved = None
    if reviews is None:
        answers, reviews, answered = [], [], []
        for index, row in enumerate(rows):
            kind = row[9] if len(row) > 9 else answer_kind
            if kind == answer_kind:
                stamp = parse(row[2]).timestamp() if stamps is None else stamps[index]
                answers.append(row)
                reviews.append((row[1], stamp, row[8]))
                moved = None
            elif kind == rescheduled:  # a due day brought forward since the last answer
                moved = row
            answered.append(len(answers))
    memory: list[tuple[float, float]] = []
    own = rules.replay(
        reviews,
        memory if trace is not None else None,
        None if start is None else (start.memory, start.last_stamp),
    )
    state, step, stability, difficulty, reps, lapses = own
    logged_lapses = None
    if end is not None or start is not None:
        logged_lapses = _logged_lapses(answers) + (start.logged_lapses if start is not None else 0)
        if end is not None:
            last_stamp = reviews[-1][1] if reviews else (start.last_stamp if start is not None else None)
            end.append(Checkpoint(own, last_stamp, logged_lapses))
    if trace is not None:
        if answered is None:  # every row an answer
            trace.extend(memory)
        else:
            trace.extend(memory[count - 1] if count else (0.0, 0.0) for count in answered)
    due = reviewed_at = due_day = None
    if answers:
        last = answers[-1]
        due, reviewed_at, due_day = last[3], last[2], last[4]
        if last[7] is not None or last[6] == State.REVIEW:
            # the state and step the answers gave under the steps of their day, as logged
            state, step = last[6], last[7]
            lapses = _logged_lapses(answers) if logged_lapses is None else logged_lapses
        if moved is not None:
            due, due_day = moved[3], moved[4]
        if due_day is None and state == State.REVIEW:
            due_day = days.day(parse(due))
    return (state, step, stability, difficulty, due, reviewed_at, reps, lapses, due_day)


def _logged_lapses(answers: list[Any]) -> int:
    """How many of these answers (log rows) were logged on a review card and rated Again."""
    review, again = int(State.REVIEW), int(Rating.AGAIN)
    return sum(1 for row in answers if row[5] == review and row[1] == again)


class _Replayer:
    """Replays cards' logs with one study-day calendar and one set of rules per deck."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.days = clock.StudyDays(settings.day_start_hour)
        self.rules: dict[str, Rules] = {}
        self.stale: dict[str, str] = {}  # cards replayed whose rows found another history: from when

    def replay(
        self, db: Database, where: str, params: list[str]
    ) -> Iterator[tuple[str, tuple[Any, ...], tuple[Any, ...]]]:
        """Yield (card id, cached state, replayed state) for the cards ``where`` selects on ``c.id``."""
        settings, days, rules = self.settings, self.days, self.rules
        columns = ", ".join(f"c.{c}" for c in CACHE_COLUMNS)
        cards = db.execute(f"SELECT c.id, c.deck, {columns} FROM cards c {where} ORDER BY c.id", params)
        logs = db.execute(
            "SELECT r.card_id, r.rating, r.reviewed_at, r.due, r.due_day, r.state_before, r.state, r.step, "
            "r.day_end, r.kind "
            "FROM reviews r "
            f"{where.replace('c.id', 'r.card_id')} ORDER BY {reviewlog.log_order('r')}",
            params,
        )
        pending = next(logs, None)
        for card_id, deck, *cached in cards:
            deck_rules = rules.get(deck)
            if deck_rules is None:
                deck_rules = rules[deck] = rules_for(settings.for_deck(deck), settings.day_start_hour, days)
            while pending is not None and pending[0] < card_id:
                pending = next(logs, None)
            rows = []
            while pending is not None and pending[0] == card_id:
                rows.append(pending)
                pending = next(logs, None)
            replayed = replay_log(deck_rules, days, rows)
            stale = first_stale(rows)
            if stale is not None:
                self.stale[card_id] = stale
            yield card_id, tuple(cached), replayed


def found_states(row: tuple[Any, ...], before: State, step: int) -> tuple[int, int, int | None]:
    """The state before, state and step a log row (as :func:`replay_log` reads it) has when the
    answers before it left ``before`` and ``step``: an answer keeps the state and step it gave;
    another row has those it found."""
    if row[9] == Kind.ANSWER:
        return int(before), row[6], row[7]
    return int(before), int(before), step if before in (State.LEARNING, State.RELEARNING) else None


def first_stale(rows: list[Any]) -> str | None:
    """When the first of a card's rows (in history order) was given whose state before (or, for
    a row that is not an answer, its state) is not what the answers before it left: rows that
    found another history than they have now. None: every row has what it found."""
    state, answer = int(State.NEW), int(Kind.ANSWER)
    for row in rows:
        kind = row[9] if len(row) > 9 else answer
        if row[5] != state or (kind != answer and row[6] != state):
            return str(row[2])
        if kind == answer:
            state = row[6]
    return None


def rebuild(
    db: Database,
    settings: Settings,
    card_ids: Iterable[str] | None = None,
    *,
    write: bool = True,
    after: Callable[[], object] | None = None,
    rows: bool = False,
) -> RebuildResult:
    """Replay the review log into the cards' cached state (all cards, or ``card_ids``).

    With ``write=False`` nothing is changed: the result lists the cards whose cache differs.
    Cards are replayed and written a page at a time, all in one transaction, so memory stays
    bounded on large collections. With ``rows``, also the cards whose log rows found another
    history than they have (:func:`first_stale`: answers added or removed before them by an
    earlier version): counted, listed, and with ``write`` corrected (``merge.refind``).
    """
    with _immediate(db):
        result = rebuild_within(db, settings, card_ids, write=write, rows=rows)
        if write and after is not None:  # more writes in the same transaction
            after()
    return result


def rebuild_within(
    db: Database,
    settings: Settings,
    card_ids: Iterable[str] | None = None,
    *,
    write: bool = True,
    rows: bool = False,
) -> RebuildResult:
    """:func:`rebuild` inside the caller's transaction (a merge of answers taken in uses it).

    A card whose cached state it corrects also loses its replay mark: the next merge replays
    its whole log."""
    result = RebuildResult()
    replayer = _Replayer(settings)
    update = f"UPDATE cards SET {', '.join(f'{c} = ?' for c in CACHE_COLUMNS)} WHERE id = ?"
    for where, params in _pages(db) if card_ids is None else _chunks(list(card_ids)):
        updates = {}
        for card_id, cached, replayed in replayer.replay(db, where, params):
            result.cards += 1
            result.reviews += replayed[CACHE_COLUMNS.index("reps")]
            if cached != replayed:
                state = CardState.from_row(replayed)
                if CardState.from_row(cached) != state:
                    result.changed.append(card_id)
                    updates[card_id] = (*state.to_row(), card_id)
        stale, replayer.stale = (replayer.stale if rows else {}), {}
        for card_id in stale:
            if card_id not in updates:
                result.changed.append(card_id)
        result.found_again += len(stale)
        if write and stale:  # the rows first, then the card's cache counted from them
            from flashcards import merge  # (merge imports this module)

            merge.refind(db, settings, stale)
            places = ", ".join("?" * len(stale))
            for card_id, _, replayed in replayer.replay(db, f"WHERE c.id IN ({places})", list(stale)):
                updates[card_id] = (*CardState.from_row(replayed).to_row(), card_id)
            replayer.stale = {}
        if write:  # the page's reads are done: writing cannot disturb them
            db.conn.executemany(update, updates.values())
            reviewlog.forget_marks(db, updates)
    return result


def transaction(db: Database) -> _immediate:
    """A write transaction taken up front: committed at the end of the block, rolled back on error."""
    return _immediate(db)


class _immediate:
    """A write transaction taken up front (BEGIN IMMEDIATE), so concurrent writers queue."""

    def __init__(self, db: Database) -> None:
        self.conn: sqlite3.Connection = db.conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
