"""The FSRS-6 memory model on plain floats: py-fsrs's formulas, operation for operation.

Stability and difficulty after one answer, and the interval that keeps recall at the desired
retention. Written as py-fsrs (the ``fsrs`` package) writes them, so every float is
bit-identical to its scheduler's private methods (tests/test_memory.py checks it over random
inputs and parameters), but without building a ``Card`` per review: ``cards rebuild`` replays
every review of the collection. What surrounds the formulas (study days, steps, the
constraints between the four intervals, fuzz) is Anki's, in :mod:`flashcards.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fsrs.scheduler import MAX_DIFFICULTY, MIN_DIFFICULTY, STABILITY_MIN

from flashcards.states import STABILITY_MAX

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4  # plain ints on this hot path (states.Rating's values)


class Model:
    """FSRS-6 with one set of 21 parameters."""

    def __init__(self, parameters: Sequence[float]) -> None:
        w = tuple(parameters)
        self.w = w
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
        # Anki uses the same-day formula for short learning intervals only when it is not disabled
        self.allows_short_term = w[17] > 0 and w[18] > 0

    def first(self, rating: int) -> tuple[float, float]:
        """Stability and difficulty after a new card's first answer."""
        return self.initial_stability[rating], self.initial_difficulty[rating]

    def next(self, stability: float, difficulty: float, days: int, rating: int) -> tuple[float, float]:
        """Stability and difficulty after an answer ``days`` study days after the last one."""
        if days < 1:
            stability = self.short_term(stability, rating)
        else:
            stability = self.long_term(stability, difficulty, days, rating)
        return min(stability, STABILITY_MAX), self.difficulty(difficulty, rating)

    def short_term(self, stability: float, rating: int) -> float:
        """Stability after a same-day answer."""
        increase: float = self.short_term_growth[rating] * (stability ** -self.w[19])
        if rating != AGAIN:
            increase = max(increase, 1.0)
        return max(stability * increase, STABILITY_MIN)

    def long_term(self, stability: float, difficulty: float, days: int, rating: int) -> float:
        """Stability after an answer on a later day."""
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

    def difficulty(self, difficulty: float, rating: int) -> float:
        """Difficulty after an answer (linear damping, then mean reversion)."""
        w7 = self.w[7]
        delta = -(self.w[6] * (rating - 3))
        damped: float = difficulty + (10.0 - difficulty) * delta / 9.0
        return min(max(self.reversion + (1 - w7) * damped, MIN_DIFFICULTY), MAX_DIFFICULTY)

    def interval(self, stability: float, desired_retention: float) -> float:
        """Days until recall falls to ``desired_retention`` (unrounded, as fsrs-rs gives it)."""
        result: float = stability / self.factor * (desired_retention ** (1 / self.decay) - 1)
        return result

    def retrievability(self, stability: float, days: float) -> float:
        """Predicted recall ``days`` after the last answer."""
        result: float = (1 + self.factor * max(0.0, days) / stability) ** self.decay
        return result
