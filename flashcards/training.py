"""Training items for the FSRS optimizer, built from the review log as Anki builds them.

Anki's rules are those of ``reviews_for_fsrs`` (``rslib/src/scheduler/fsrs/params.rs``, with
``training`` on) that apply to this log. Rows are read card by card in the order the answers
were given, and only those :data:`FSRS_ROWS` keeps: the one place where rows FSRS must not see
are left out (Anki skips cram answers altogether, and so does this log's reader).
It has no manual or reset rows.

- A card's history starts where its last group of learning answers starts (answers to the card
  as new or learning; Anki's "first of the last learning entries"). That answer must be the
  card's answer as new: a card whose log does not hold its first answer gives no items.
- The gap before each answer is the number of study days since the previous one, the rule the
  scheduler uses (:meth:`flashcards.clock.StudyDays.elapsed`: the day starts at the rollover
  hour). Same-day answers (learning and relearning steps) stay in the history with a gap of 0,
  so the short-term parameters are fitted too.
- Each answer a study day or more after the previous one gives one item: the card's history up
  to and including it.

The items are split by card, on a hash of the card id, into a part the fit sees (80 %) and a
held-out part (20 %); fitted parameters replace the current ones only when they predict the
held-out answers better (lower log loss, see :mod:`flashcards.optimize`). Each part is capped
(:data:`FIT_LIMIT`, :data:`HELD_OUT_LIMIT` items) by keeping the cards of the lowest hash
buckets, so memory stays bounded on large logs and the sample is the same on every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

from flashcards import clock, reviewlog
from flashcards.database import Database
from flashcards.states import State

# The log rows FSRS uses: rated answers. Rows FSRS must skip altogether (cram answers and due days
# brought forward, states.Kind) are left out here, before histories are built, as Anki skips them.
FSRS_ROWS = f"r.rating BETWEEN 1 AND 4 AND r.{reviewlog.ANSWERS}"
BUCKETS = 1000  # cards are split and sampled by bucket: a hash of the card id
HELD_OUT_BUCKETS = 200  # buckets [0, 200) are held out: 20 % of the cards
FIT_LIMIT = 100_000  # at most this many items are fitted on ...
HELD_OUT_LIMIT = 30_000  # ... and evaluated on, so memory is bounded (see the README)
_LEARNING = (State.NEW, State.LEARNING)  # Anki's "learning" review kind


@dataclass
class TrainingSet:
    """Training items split by card into the part the fit sees and the held-out part."""

    fit: list[Any]
    held_out: list[Any]
    items: int  # items in the log, before the parts were capped
    reviews: int  # log rows read


def bucket(card_id: str) -> int:
    """The card's bucket in [0, BUCKETS): a hash of its id, the same on every run and machine."""
    digest = hashlib.blake2b(card_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def histories(
    db: Database, condition: str = "1", params: Sequence[Any] = ()
) -> Iterator[tuple[str, list[tuple[int, str, int, int | None]]]]:
    """Yield (card id, its log rows FSRS uses as (rating, reviewed_at, state_before, day_end)) card by card."""
    rows = db.execute(
        "SELECT r.card_id, r.rating, r.reviewed_at, r.state_before, r.day_end FROM reviews r JOIN cards c "
        f"ON c.id = r.card_id WHERE ({condition}) AND {FSRS_ROWS} ORDER BY {reviewlog.log_order('r')}",
        list(params),
    )
    for card_id, history in groupby(rows, key=itemgetter(0)):
        yield card_id, [row[1:] for row in history]


def _history_start(history: Sequence[tuple[int, str, int, int | None]]) -> int | None:
    """Where the card's last group of learning answers starts, if that is its answer as new."""
    start = None
    for index in range(len(history) - 1, -1, -1):
        if history[index][2] in _LEARNING:
            start = index
        elif start is not None:
            break
    return start if start is not None and history[start][2] == State.NEW else None


def card_items(history: Sequence[tuple[int, str, int, int | None]], days: clock.StudyDays) -> list[Any]:
    """The training items of one card's history: one per answer a study day or more after the previous."""
    from fsrs_rs_python import FSRSItem, FSRSReview

    start = _history_start(history)
    if start is None:
        return []
    items: list[Any] = []
    reviews: list[Any] = []
    previous: datetime | None = None
    for rating, reviewed_at, _, day_end in history[start:]:
        at = datetime.fromisoformat(reviewed_at)
        if previous is None:
            gap = 0
        elif day_end is not None:  # counted as replay counts it: from the answer's logged end of day
            gap = max(0, int((day_end - previous.timestamp()) // 86400))
        else:
            gap = days.elapsed(previous, at)
        reviews.append(FSRSReview(rating, gap))
        if gap > 0:
            items.append(FSRSItem(list(reviews)))
        previous = at
    return items


class _Sample:
    """The items of the lowest buckets whose total stays within ``limit``, kept while reading."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.below = BUCKETS  # buckets from here on are left out
        self.buckets: dict[int, list[Any]] = {}

    def add(self, number: int, items: list[Any]) -> None:
        if number >= self.below or not items:
            return
        self.buckets.setdefault(number, []).extend(items)
        self.size += len(items)
        while self.size > self.limit:
            self.below = max(self.buckets)
            self.size -= len(self.buckets.pop(self.below))

    def items(self) -> list[Any]:
        return [item for number in sorted(self.buckets) for item in self.buckets.pop(number)]


def training_set(
    db: Database,
    day_start_hour: int,
    condition: str = "1",
    params: Sequence[Any] = (),
    *,
    fit_limit: int = FIT_LIMIT,
    held_out_limit: int = HELD_OUT_LIMIT,
) -> TrainingSet:
    """Build the training items of the cards matching ``condition`` on ``c``, split and capped by card."""
    days = clock.StudyDays(day_start_hour)
    fit, held_out = _Sample(fit_limit), _Sample(held_out_limit)
    items = reviews = 0
    for card_id, history in histories(db, condition, params):
        reviews += len(history)
        found = card_items(history, days)
        items += len(found)
        number = bucket(card_id)
        if number < HELD_OUT_BUCKETS:
            held_out.add(number, found)
        else:
            fit.add(number - HELD_OUT_BUCKETS, found)
    return TrainingSet(fit.items(), held_out.items(), items, reviews)
