"""A simulated learner: build a collection with a review history, through the project's scheduler.

Each card is scheduled by :func:`flashcards.scheduler.review` with the deck's settings, while the
learner's memory follows FSRS with *true* parameters: the chance of recalling a card is its
retrievability under those parameters. A failure is answered Again, a success Hard, Good or
Easy with fixed odds. The same seed gives the same collection.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flashcards import clock, reviewlog
from flashcards.compile_rows import write_builtin_types
from flashcards.database import Database
from flashcards.rules import Rules, fuzz_factor
from flashcards.settings import DeckSettings
from flashcards.states import CardState, Rating, State
from flashcards.store import open_collection

# A learner unlike the defaults: memories start stronger and decay more steeply.
TRUE_PARAMETERS = (
    0.9, 2.5, 5.0, 15.0, 6.8, 0.6, 2.2, 0.01, 1.6, 0.14, 1.0,
    1.9, 0.11, 0.29, 1.9, 0.3, 2.6, 0.6, 0.2, 0.1, 0.35,
)  # fmt: skip
FIRST_RATING_ODDS = (0.2, 0.1, 0.55, 0.15)  # Again, Hard, Good, Easy on a new card
SUCCESS_RATING_ODDS = (0.15, 0.75, 0.10)  # Hard, Good, Easy when recalled
_CHUNK = 20_000


@dataclass(frozen=True)
class Generated:
    """What :func:`generate` wrote."""

    cards: int
    reviews: int
    first_review: datetime | None
    last_review: datetime | None


def generate(
    db_path: Path | str | Database,
    *,
    notes: int = 1000,
    reviews_per_card: int | None = None,
    days: int = 730,
    seed: int = 0,
    true_parameters: Sequence[float] = TRUE_PARAMETERS,
    now: datetime | None = None,
    deck: str = "Simulated",
    deck_settings: DeckSettings | None = None,
) -> Generated:
    """Add ``notes`` basic notes to a collection and let the learner answer their cards.

    Each card is first seen at a random time in the ``days`` before ``now`` (default: the
    clock) and answered whenever the learner visits it before ``now``, at most
    ``reviews_per_card`` times. Seeds :mod:`random` too (fuzz uses it).
    """
    import fsrs

    db = open_collection(Path(db_path)) if isinstance(db_path, (str, Path)) else db_path
    now = now or clock.now()
    settings = deck_settings or DeckSettings()
    scheduler = Rules(settings, clock.StudyDays(settings.day_start_hour))
    memory_model = fsrs.Scheduler(
        parameters=tuple(true_parameters),
        learning_steps=settings.learning_steps,
        relearning_steps=settings.relearning_steps,
        maximum_interval=settings.maximum_interval,
        enable_fuzzing=False,
    )
    rng = random.Random(seed)
    random.seed(seed)
    start = db.execute("SELECT count(*) FROM cards").fetchone()[0]
    total = 0
    first: datetime | None = None
    last: datetime | None = None
    with db.atomic():
        write_builtin_types(db, clock.to_db(now))
        for chunk_start in range(0, notes, _CHUNK):
            note_rows: list[tuple[Any, ...]] = []
            card_rows: list[tuple[Any, ...]] = []
            review_rows: list[tuple[Any, ...]] = []
            for index in range(chunk_start, min(notes, chunk_start + _CHUNK)):
                card_id = f"sim-{seed}-{index:07d}/card"
                began = now - timedelta(days=days) * rng.random()
                rows, state, leech = _learn(
                    card_id, scheduler, memory_model, settings, rng, began, now, reviews_per_card
                )
                created = clock.to_db(rows[0][2] if rows else now)
                note_rows.append(_note_row(card_id, index, deck, created))
                card_rows.append(_card_row(card_id, start + index, deck, created, state, leech))
                review_rows.extend(
                    (c, r, clock.to_db(at), ms, clock.to_db(d), *rest) for c, r, at, ms, d, *rest in rows
                )
                if rows:
                    first = min(first or rows[0][2], rows[0][2])
                    last = max(last or rows[-1][2], rows[-1][2])
            total += len(review_rows)
            _insert(db, note_rows, card_rows, review_rows)
    return Generated(notes, total, first, last)


def _learn(
    card_id: str,
    scheduler: Rules,
    memory_model: Any,
    settings: DeckSettings,
    rng: random.Random,
    at: datetime,
    now: datetime,
    count: int | None,
) -> tuple[list[tuple[Any, ...]], CardState, bool]:
    """Answer one card from ``at`` until ``now`` (at most ``count`` times); return its log rows and state."""
    import fsrs

    state = CardState()
    memory = fsrs.Card(card_id=1, due=at)
    rows: list[tuple[Any, ...]] = []
    while at < now and (count is None or len(rows) < count):
        if not rows:
            rating = rng.choices(tuple(Rating), FIRST_RATING_ODDS)[0]
        elif rng.random() >= memory_model.get_card_retrievability(memory, at):
            rating = Rating.AGAIN
        else:
            rating = rng.choices((Rating.HARD, Rating.GOOD, Rating.EASY), SUCCESS_RATING_ODDS)[0]
        after = scheduler.next_states(state, at, fuzz_factor(card_id, state.reps))[rating].card
        memory, _ = memory_model.review_card(memory, fsrs.Rating(rating), at)
        duration = min(60_000, int(rng.lognormvariate(8.8, 0.5)))
        assert after.due is not None
        rows.append(
            (
                card_id,
                rating,
                at,
                duration,
                after.due,
                state.state,
                after.state,
                after.stability,
                after.difficulty,
                after.due_day,
                after.step,
                int(scheduler.days.end_stamp(at.timestamp())),
            )
        )
        state = after
        if settings.leech_threshold and after.lapses >= settings.leech_threshold:
            return rows, state, True
        at = _next_visit(at, after.due, rng)
    return rows, state, False


def _next_visit(at: datetime, due: datetime, rng: random.Random) -> datetime:
    """When the learner next sees the card: on time within a day, else a little early or late."""
    interval = due - at
    if interval < timedelta(days=1):
        return due + timedelta(minutes=rng.uniform(0, 15))
    return max(at + timedelta(days=1), due + interval * rng.uniform(-0.1, 0.5))


def _note_row(card_id: str, index: int, deck: str, created: str) -> tuple[Any, ...]:
    note_id = card_id.removesuffix("/card")
    fields = json.dumps({"front": f"Question {index}", "back": f"Answer {index}"})
    digest = hashlib.sha256(fields.encode()).hexdigest()
    return (note_id, "basic", deck, fields, "[]", "simulated", index + 1, digest, created, created)


def _card_row(
    card_id: str, position: int, deck: str, created: str, state: CardState, leech: bool
) -> tuple[Any, ...]:
    number = card_id.removesuffix("/card").rsplit("-", 1)[-1].lstrip("0") or "0"
    return (
        card_id, card_id.removesuffix("/card"), "card", 0, deck, f"Question {number}",
        f"Answer {number}", position, created, created, *state.to_row(), int(leech), int(leech),
    )  # fmt: skip


def _insert(
    db: Database,
    notes: list[tuple[Any, ...]],
    cards: list[tuple[Any, ...]],
    reviews: list[tuple[Any, ...]],
) -> None:
    db.conn.executemany(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, "
        "created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        notes,
    )
    db.conn.executemany(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, "
        "modified_at, state, step, stability, difficulty, due, last_review, reps, lapses, due_day, suspended, "
        "leech) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cards,
    )
    reviewlog.append_many(db, reviews)


@dataclass(frozen=True)
class Preparation:
    """What :func:`prepare` measured: the learner's days up to the interview and how ready they were."""

    reviews: int  # answers before the interview day, learning steps included
    recall: tuple[float, ...]  # each studied card's predicted recall at the start of the interview day
    true_recall: tuple[float, ...]  # the learner's own recall of those cards then
    new_per_day: tuple[int, ...]  # new cards introduced on each day
    studied: int  # cards answered at least once

    @property
    def lowest(self) -> float:
        """The lowest predicted recall on the day."""
        return min(self.recall)

    def below(self, target: float) -> int:
        """How many studied cards are predicted below ``target`` on the day."""
        return sum(r < target for r in self.recall)


def prepare(
    cards: int,
    days: int,
    deck_settings: DeckSettings,
    *,
    start: datetime,
    seed: int = 0,
    true_parameters: Sequence[float] | None = None,
) -> Preparation:
    """Let the learner study ``cards`` new cards every day for ``days`` days, then measure recall.

    Each morning (09:00 UTC, study days in UTC) the learner answers every card due, repeating
    learning steps when they fall due the same day, then the day's new cards: ``new_per_day``,
    or the paced count when the deck has an interview date (:func:`flashcards.interview.paced_new`).
    Cards are scheduled by :class:`flashcards.rules.Rules` as answers are; recall follows FSRS with
    ``true_parameters`` (default: the scheduler's own). Recall is measured at the start of study
    day ``days`` after the first morning, before any review that day.
    """
    import fsrs
    from fsrs.scheduler import DEFAULT_PARAMETERS

    from flashcards.interview import paced_new

    days_of = clock.StudyDays(deck_settings.day_start_hour, UTC)
    rules = Rules(deck_settings, days_of)
    memory_model = fsrs.Scheduler(
        parameters=tuple(true_parameters or deck_settings.parameters or DEFAULT_PARAMETERS),
        learning_steps=deck_settings.learning_steps,
        relearning_steps=deck_settings.relearning_steps,
        enable_fuzzing=False,
    )
    rng = random.Random(seed)
    first_day = days_of.day(start)
    interview = deck_settings.interview_date.toordinal() if deck_settings.interview_date else None
    states: dict[str, CardState] = {}
    memories: dict[str, Any] = {}
    waiting = [f"sim-{seed}-{index:05d}/card" for index in range(cards)]
    reviews = 0
    introduced: list[int] = []

    def answer(card_id: str, at: datetime) -> None:
        nonlocal reviews
        state = states.get(card_id, CardState())
        memory = memories.get(card_id) or fsrs.Card(card_id=len(memories) + 1, due=at)
        if state.state == State.NEW:
            rating = rng.choices(tuple(Rating), FIRST_RATING_ODDS)[0]
        elif rng.random() >= memory_model.get_card_retrievability(memory, at):
            rating = Rating.AGAIN
        else:
            rating = rng.choices((Rating.HARD, Rating.GOOD, Rating.EASY), SUCCESS_RATING_ODDS)[0]
        states[card_id] = rules.next_states(state, at, fuzz_factor(card_id, state.reps))[rating].card
        memories[card_id], _ = memory_model.review_card(memory, fsrs.Rating(rating), at)
        reviews += 1

    def study(card_id: str, at: datetime, day_end: datetime) -> None:
        """Answer the card, then its learning steps as they fall due before the day ends."""
        answer(card_id, at)
        while True:
            state = states[card_id]
            if state.due_day is not None or state.due is None or state.due >= day_end:
                return
            at = state.due + timedelta(seconds=rng.uniform(0, 120))
            answer(card_id, at)

    for day in range(first_day, first_day + days):
        morning = days_of.start(day).replace(hour=9)
        day_end = days_of.start(day + 1)
        due = sorted(
            card_id
            for card_id, state in states.items()
            if (state.due_day is not None and state.due_day <= day)
            or (state.due_day is None and state.due is not None and state.due < day_end)
        )
        at = morning
        for card_id in due:
            at += timedelta(seconds=rng.uniform(5, 20))
            study(card_id, max(at, states[card_id].due or at), day_end)
        count = paced_new(deck_settings.new_per_day, len(waiting), day, interview)
        today, waiting = waiting[:count], waiting[count:]
        introduced.append(len(today))
        for card_id in today:
            at += timedelta(seconds=rng.uniform(5, 20))
            study(card_id, at, day_end)
    interview_day = first_day + days
    morning = days_of.start(interview_day)
    recall, true_recall = [], []
    for card_id, state in sorted(states.items()):
        assert state.stability is not None and state.last_review is not None
        recall.append(
            rules.model.retrievability(state.stability, interview_day - days_of.day(state.last_review))
        )
        true_recall.append(memory_model.get_card_retrievability(memories[card_id], morning))
    return Preparation(reviews, tuple(recall), tuple(true_recall), tuple(introduced), len(states))
