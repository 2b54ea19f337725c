"""Replaying a card's review log on plain floats: py-fsrs's arithmetic without its objects.

``cards rebuild`` replays every review in the collection. py-fsrs builds and copies a ``Card``
per review and checks its datetimes; here the FSRS-6 updates (initial state, short-term and
long-term stability, difficulty with mean reversion, learning and relearning steps) run in one
loop per card, written as py-fsrs writes them, operation for operation, so every float is
bit-identical. Fuzz plays no part: a replay takes each due date from the log.
tests/test_replay.py checks the result against py-fsrs over random histories.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from fsrs.scheduler import MAX_DIFFICULTY, MIN_DIFFICULTY, STABILITY_MIN

from flashcards.states import STABILITY_MAX, Rating, State

if TYPE_CHECKING:
    import fsrs

# plain ints on this hot path: a rebuild replays every review of the collection
NEW, LEARNING, REVIEW, RELEARNING = (int(s) for s in State)
AGAIN, HARD, GOOD, EASY = (int(r) for r in Rating)
# state, step, stability, difficulty, reps, lapses
Memory = tuple[int, int | None, float | None, float | None, int, int]


class Replayer:
    """Replays reviews as a py-fsrs scheduler (fuzz aside) would: its parameters and steps."""

    def __init__(self, scheduler: fsrs.Scheduler) -> None:
        w = tuple(scheduler.parameters)
        self.w = w
        self.learning_steps = len(scheduler.learning_steps)
        self.relearning_steps = len(scheduler.relearning_steps)
        self.decay = -w[20]
        self.factor: float = 0.9 ** (1 / self.decay) - 1
        self.initial_stability = {r: max(w[r - 1], STABILITY_MIN) for r in (AGAIN, HARD, GOOD, EASY)}
        self.initial_difficulty = {
            r: min(max(w[4] - (math.e ** (w[5] * (r - 1))) + 1, MIN_DIFFICULTY), MAX_DIFFICULTY)
            for r in (AGAIN, HARD, GOOD, EASY)
        }
        easy_difficulty = w[4] - (math.e ** (w[5] * (EASY - 1))) + 1  # unclamped: the reversion target
        self.reversion: float = w[7] * easy_difficulty
        self.short_term_growth = {r: math.e ** (w[17] * (r - 3 + w[18])) for r in (AGAIN, HARD, GOOD, EASY)}
        self.forget_short_term: float = math.e ** (w[17] * w[18])
        self.recall_base: float = math.e ** (w[8])

    def replay(self, reviews: Iterable[tuple[int, datetime]]) -> Memory:
        """Apply ``(rating, instant)`` reviews, in order, to a new card; return its memory."""
        state, step, stability, difficulty = NEW, 0, 0.0, 0.0
        last = None
        reps = lapses = 0
        for rating, at in reviews:
            reps += 1
            if last is None:  # a new card starts learning with its first answer
                state = LEARNING
                stability = self.initial_stability[rating]
                difficulty = self.initial_difficulty[rating]
            else:
                days = (at - last).days
                if days < 1:
                    stability = self._short_term(stability, rating)
                else:
                    stability = self._long_term(stability, difficulty, days, rating)
                difficulty = self._difficulty(difficulty, rating)
            last = at
            if state == REVIEW:
                if rating == AGAIN:
                    lapses += 1
                    if self.relearning_steps:
                        state, step = RELEARNING, 0
            else:
                count = self.learning_steps if state == LEARNING else self.relearning_steps
                if count == 0 or (step >= count and rating != AGAIN) or rating == EASY:
                    state = REVIEW
                elif rating == AGAIN:
                    step = 0
                elif rating == GOOD:
                    step += 1
                    if step == count:
                        state = REVIEW
            stability = min(stability, STABILITY_MAX)
        if last is None:
            return NEW, None, None, None, 0, 0
        return state, None if state == REVIEW else step, stability, difficulty, reps, lapses

    def _short_term(self, stability: float, rating: int) -> float:
        increase: float = self.short_term_growth[rating] * (stability ** -self.w[19])
        if rating != AGAIN:
            increase = max(increase, 1.0)
        return max(stability * increase, STABILITY_MIN)

    def _long_term(self, stability: float, difficulty: float, days: int, rating: int) -> float:
        w = self.w
        retrievability: float = (1 + self.factor * days / stability) ** self.decay
        if rating == AGAIN:
            long_term: float = (
                w[11]
                * (difficulty ** -w[12])
                * (((stability + 1) ** (w[13])) - 1)
                * (math.e ** ((1 - retrievability) * w[14]))
            )
            result: float = min(long_term, stability / self.forget_short_term)
        else:
            result = stability * (
                1
                + self.recall_base
                * (11 - difficulty)
                * (stability ** -w[9])
                * ((math.e ** ((1 - retrievability) * w[10])) - 1)
                * (w[15] if rating == HARD else 1)
                * (w[16] if rating == EASY else 1)
            )
        return max(result, STABILITY_MIN)

    def _difficulty(self, difficulty: float, rating: int) -> float:
        w7 = self.w[7]
        delta = -(self.w[6] * (rating - 3))
        damped: float = difficulty + (10.0 - difficulty) * delta / 9.0
        return min(max(self.reversion + (1 - w7) * damped, MIN_DIFFICULTY), MAX_DIFFICULTY)
