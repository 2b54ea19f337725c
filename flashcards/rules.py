"""Anki's scheduling rules around the FSRS-6 model of :mod:`flashcards.memory`.

What Anki's scheduler (fsrs-rs inside Anki: ``rslib/src/scheduler/states/`` in its source)
decides around the formulas, cards decides the same way:

- Elapsed time is counted in study days (:class:`flashcards.clock.StudyDays`): an answer after
  the day's rollover hour is a day later, however few hours have passed.
- Steps: Again goes back to the first step; Hard repeats the step (on the first one: the mean of
  the first two, or 1.5 times a single step but at most a day more, rounded to whole days past
  a day); Good moves to the next step or graduates; Easy graduates. Without steps, an interval
  under half a day keeps the card in (re)learning for that long (FSRS's short-term model).
- The four intervals keep their order: on a review card Hard < Good < Easy, and an interval that
  grows grows by a day at least; Easy out of (re)learning is at least Good's graduating
  interval and a day. Review intervals are whole days, due on a study day.
- A step that reaches past the rollover is an interday step: due for the whole of its day.
  Shorter steps are due at an instant.
- The memory state is kept as Anki keeps it, stability to 4 decimal places and difficulty to 3,
  and the next answer continues from those (intervals come from the unrounded values).
- Fuzz spreads review intervals over Anki's ranges (a day, plus 15 % of the days between 2.5 and
  7, 10 % of those between 7 and 20 and 5 % beyond), and lengthens a learning step by up to 25 %
  (5 minutes at most). One factor per card and review count, so a button's label is the
  interval its answer gives.

Until an interview date (``interview_date``), a review interval that would leave the card's
predicted recall on that day below ``interview_retention`` is shortened so that the card comes
back :data:`flashcards.interview.AIM_LEAD` days before it, and on the eve a card whose recall
on the day would be below it is kept in relearning for another review that day (see
:mod:`flashcards.interview`).
Without a date, on the day and after it, nothing here changes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flashcards.clock import StudyDays
from flashcards.interview import EVE_STEP, aimed_days, eve_step
from flashcards.memory import Model
from flashcards.settings import DeckSettings
from flashcards.states import STABILITY_MAX, CardState, Rating, State

DAY = 86400
# Raised when replaying the same log under the same settings would give other states: a replay
# mark (flashcards.merge) made before is then not gone on from.
REPLAY_VERSION = 1
# (state, step, stability, difficulty, reps, lapses): what replaying a card's log gives
Memory = tuple[int, int | None, float | None, float | None, int, int]
# plain ints for replay's hot loop (enum members are slower to look up)
_NEW, _LEARNING, _REVIEW, _RELEARNING = (int(state) for state in State)
_AGAIN, _GOOD, _EASY = int(Rating.AGAIN), int(Rating.GOOD), int(Rating.EASY)
_FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.10), (20.0, math.inf, 0.05))


@dataclass(frozen=True)
class Scheduled:
    """What one rating does to a card: its state afterwards and the interval its button shows."""

    card: CardState
    interval: timedelta


@dataclass(frozen=True)
class _Plan:
    """Where a rating sends a card: a step of ``seconds``, or ``days`` as a review card."""

    state: State
    step: int | None = None
    seconds: int | None = None
    days: int | None = None


def is_leech(lapses: int, threshold: int) -> bool:
    """Anki's leech rule: at the threshold, then every half threshold (rounded up) more lapses."""
    return (
        threshold > 0 and lapses >= threshold and (lapses - threshold) % max(1, math.ceil(threshold / 2)) == 0
    )


def fuzz_factor(card_id: str, reps: int) -> float:
    """The fuzz of a card's next answer: the same for its four buttons and for the answer itself."""
    return random.Random(f"{card_id}:{reps}").random()


def stored(stability: float, difficulty: float) -> tuple[float, float]:
    """A memory state as Anki keeps it between answers: stability to 4 places, difficulty to 3."""
    return math.floor(stability * 10000 + 0.5) / 10000, math.floor(difficulty * 1000 + 0.5) / 1000


def _round(value: float) -> int:
    return math.floor(value + 0.5)  # halves away from zero, as Anki rounds (all values are >= 0)


def _fuzz_delta(interval: float) -> float:
    if interval < 2.5:
        return 0.0
    return 1.0 + sum(factor * max(min(interval, end) - start, 0.0) for start, end, factor in _FUZZ_RANGES)


def _fuzz_bounds(interval: float, low: int, high: int) -> tuple[int, int]:
    low = min(low, high)
    interval = min(max(interval, low), high)
    delta = _fuzz_delta(interval)
    lower = min(max(_round(interval - delta), low), high)
    upper = min(max(_round(interval + delta), low), high)
    if upper == lower and 2 < upper < high:
        upper = lower + 1
    return lower, upper


class Rules:
    """The scheduling rules of one deck's settings, on the user's study days."""

    def __init__(
        self, deck: DeckSettings, days: StudyDays, parameters: Iterable[float] | None = None
    ) -> None:
        from fsrs.scheduler import DEFAULT_PARAMETERS

        self.model = Model(tuple(parameters or deck.parameters or DEFAULT_PARAMETERS))
        self.retention = deck.desired_retention
        self.learning = tuple(int(step.total_seconds()) for step in deck.learning_steps)
        self.relearning = tuple(int(step.total_seconds()) for step in deck.relearning_steps)
        self.maximum = max(deck.maximum_interval, 1)
        self.fuzz = deck.enable_fuzzing
        self.days = days
        self.interview = deck.interview_date.toordinal() if deck.interview_date is not None else None
        self.interview_retention = deck.interview_retention
        # What replay() depends on besides the answers, hashed (a replay mark's ``rules``): numbers
        # only, whose hash Python does not randomise, so it is the same in every process.
        self.replay_key = hash((REPLAY_VERSION, self.model.w, self.retention, self.learning, self.relearning))

    # -- memory -----------------------------------------------------------------------------

    def memory(self, card: CardState, rating: Rating, now: datetime) -> tuple[float, float]:
        """Stability and difficulty after answering ``card`` with ``rating`` at ``now``."""
        if card.state == State.NEW or card.stability is None or card.difficulty is None:
            return self.model.first(rating)
        elapsed = 0 if card.last_review is None else self.days.elapsed(card.last_review, now)
        return self.model.next(card.stability, card.difficulty, elapsed, rating)

    # -- the four buttons -------------------------------------------------------------------

    def next_states(
        self, card: CardState, now: datetime, fuzz: float | None = None
    ) -> dict[Rating, Scheduled]:
        """What each rating would do to ``card`` at ``now``; ``fuzz`` in [0, 1), None for none."""
        memory = {rating: self.memory(card, rating, now) for rating in Rating}
        interval = {rating: self.model.interval(memory[rating][0], self.retention) for rating in Rating}
        fuzz = fuzz if self.fuzz else None
        if card.state == State.REVIEW:
            plans = self._review(self._scheduled_days(card), interval, fuzz)
        elif card.state == State.RELEARNING:
            plans = self._steps(State.RELEARNING, self.relearning, card.step or 0, interval, fuzz)
        else:
            plans = self._steps(State.LEARNING, self.learning, card.step or 0, interval, fuzz)
        return {
            rating: self._scheduled(card, rating, stored(*memory[rating]), plans[rating], now, fuzz)
            for rating in Rating
        }

    def _scheduled_days(self, card: CardState) -> int:
        """The interval a review card was given (Anki's ``ivl``): its due day from its last answer's."""
        if card.last_review is None or (card.due_day is None and card.due is None):
            return 0
        due_day = card.due_day if card.due_day is not None else self.days.day(card.due)  # type: ignore[arg-type]
        return max(0, due_day - self.days.day(card.last_review))

    def _fuzzed(self, interval: float, low: int, fuzz: float | None) -> int:
        """A review interval in days within [low, maximum], spread by fuzz as Anki spreads it."""
        high = self.maximum
        if fuzz is None:
            return min(max(_round(interval), min(low, high)), high)
        lower, upper = _fuzz_bounds(interval, low, high)
        return math.floor(lower + fuzz * (1 + upper - lower))

    def _graduate(self, interval: float, fuzz: float | None) -> int:
        return self._fuzzed(max(_round(interval), 1), 1, fuzz)

    def _easy(self, interval: dict[Rating, float], fuzz: float | None) -> _Plan:
        good = self._fuzzed(interval[Rating.GOOD], 1, fuzz)
        return _Plan(State.REVIEW, days=self._fuzzed(max(_round(interval[Rating.EASY]), 1), good + 1, fuzz))

    def _short_term_or_review(
        self, state: State, step: int, steps: tuple[int, ...], interval: float, fuzz: float | None
    ) -> _Plan:
        """With no steps, FSRS's own interval: under half a day it is a (re)learning step."""
        if not steps and self.model.allows_short_term and interval < 0.5:
            return _Plan(state, step, seconds=int(interval * DAY))
        return _Plan(State.REVIEW, days=self._graduate(interval, fuzz))

    def _steps(
        self,
        state: State,
        steps: tuple[int, ...],
        step: int,
        interval: dict[Rating, float],
        fuzz: float | None,
    ) -> dict[Rating, _Plan]:
        """A new, learning or relearning card: its steps, then graduation."""
        plans = {Rating.EASY: self._easy(interval, fuzz)}
        if steps:
            step = min(step, len(steps) - 1)
            plans[Rating.AGAIN] = _Plan(state, 0, seconds=steps[0])
            plans[Rating.HARD] = _Plan(state, step, seconds=self._hard_step(steps, step))
            if step + 1 < len(steps):
                plans[Rating.GOOD] = _Plan(state, step + 1, seconds=steps[step + 1])
            else:
                plans[Rating.GOOD] = _Plan(State.REVIEW, days=self._graduate(interval[Rating.GOOD], fuzz))
            return plans
        for rating in (Rating.AGAIN, Rating.HARD, Rating.GOOD):
            plans[rating] = self._short_term_or_review(state, 0, steps, interval[rating], fuzz)
        return plans

    @staticmethod
    def _hard_step(steps: tuple[int, ...], step: int) -> int:
        if step > 0:
            return steps[step]
        hard = (steps[0] + steps[1]) // 2 if len(steps) > 1 else min(int(steps[0] * 1.5), steps[0] + DAY)
        return _round(hard / DAY) * DAY if hard > DAY else hard

    def _review(
        self, previous: int, interval: dict[Rating, float], fuzz: float | None
    ) -> dict[Rating, _Plan]:
        """A review card: Again lapses into relearning; Hard < Good < Easy in whole days."""
        if self.relearning:
            again = _Plan(State.RELEARNING, 0, seconds=self.relearning[0])
        elif self.model.allows_short_term and interval[Rating.AGAIN] < 0.5:
            again = _Plan(State.RELEARNING, 0, seconds=int(interval[Rating.AGAIN] * DAY))
        else:  # the lapse interval is not fuzzed: Anki fuzzes it when the card leaves relearning
            again = _Plan(State.REVIEW, days=max(_round(interval[Rating.AGAIN]), 1))
        plans = {Rating.AGAIN: again}
        floor = 1
        for rating in (Rating.HARD, Rating.GOOD, Rating.EASY):
            days = self._fuzzed(interval[rating], max(self._keep(interval[rating], previous), floor), fuzz)
            plans[rating] = _Plan(State.REVIEW, days=days)
            floor = days + 1
        return plans

    def _keep(self, interval: float, previous: int) -> int:
        """The least a passing review may give: a growing interval grows; fuzz never shrinks it."""
        if _round(interval) > previous:
            return previous + 1
        _, upper = _fuzz_bounds(interval, 1, self.maximum)
        return previous if previous <= upper else 0

    def _scheduled(
        self,
        card: CardState,
        rating: Rating,
        memory: tuple[float, float],
        plan: _Plan,
        now: datetime,
        fuzz: float | None,
    ) -> Scheduled:
        lapses = card.lapses + (card.state == State.REVIEW and rating == Rating.AGAIN)
        today = self.days.day(now)
        days = plan.days
        if plan.seconds is not None:
            until_rollover = int((self.days.end(now) - now).total_seconds())
            if plan.seconds < until_rollover:
                extra = 0 if fuzz is None else math.floor(fuzz * min(math.floor(plan.seconds * 0.25), 300))
                after = CardState(
                    plan.state, plan.step, memory[0], memory[1], now + timedelta(seconds=plan.seconds + extra),
                    now, card.reps + 1, lapses,
                )  # fmt: skip
                return Scheduled(after, timedelta(seconds=plan.seconds))
            days = (plan.seconds - until_rollover) // DAY + 1  # an interday step: due for its whole day
        assert days is not None
        if self.interview is not None and plan.state == State.REVIEW and today < self.interview:
            days = aimed_days(self.model, memory[0], today, days, self.interview, self.interview_retention)
            seconds = self.relearning[-1] if self.relearning else EVE_STEP
            until_rollover = int((self.days.end(now) - now).total_seconds())
            if seconds < until_rollover and eve_step(
                self.model, memory[0], today, days, self.interview, self.interview_retention
            ):
                step = len(self.relearning) - 1 if self.relearning else 0
                after = CardState(
                    State.RELEARNING, step, memory[0], memory[1], now + timedelta(seconds=seconds), now,
                    card.reps + 1, lapses,
                )  # fmt: skip
                return Scheduled(after, timedelta(seconds=seconds))
        after = CardState(
            plan.state, plan.step, memory[0], memory[1], self.days.start(today + days), now,
            card.reps + 1, lapses, today + days,
        )  # fmt: skip
        return Scheduled(after, timedelta(days=days))

    # -- replay -----------------------------------------------------------------------------

    def replay(
        self,
        reviews: Iterable[tuple[int, float, float | None]],
        trace: list[tuple[float, float]] | None = None,
        start: tuple[Memory, float | None] | None = None,
    ) -> Memory:
        """Apply ``(rating, POSIX time, end of its study day)`` answers in order to a new card, or,
        with ``start``, to a card these rules left in that memory at that POSIX time (its last
        answer's): going on from there gives what replaying every answer from the first gives.

        Return what the card becomes: the state and memory only (due dates are the log's, since
        fuzz is random). The days elapsed count from each answer's logged end of day, so a move to
        another zone changes nothing; without one (answers logged before it was kept), from the
        current zone's. The same rules as :meth:`next_states`, one rating at a time, on the hot
        path of ``cards rebuild``. With ``trace``, the memory after each answer is appended to it.
        """
        model, end_of_day = self.model, self.days.end_stamp
        state, step, stability, difficulty = _NEW, 0, 0.0, 0.0
        last: float | None = None
        reps = lapses = 0
        if start is not None and start[0][0] != _NEW:
            (state, kept_step, kept_stability, kept_difficulty, reps, lapses), last = start
            step = kept_step or 0  # None on a review card: a lapse starts its steps again at 0
            stability, difficulty = kept_stability or 0.0, kept_difficulty or 0.0
        floor = math.floor
        for rating, at, day_end in reviews:
            reps += 1
            if last is None:
                exact = model.first(rating)
            else:  # Model.next, inline
                elapsed = int(((day_end or end_of_day(at)) - last) // DAY)
                grown = (
                    model.long_term(stability, difficulty, elapsed, rating)
                    if elapsed > 0
                    else model.short_term(stability, rating)
                )
                exact = (
                    grown if grown < STABILITY_MAX else STABILITY_MAX,
                    model.difficulty(difficulty, rating),
                )
            # kept as Anki keeps it (stored(), inline)
            stability, difficulty = floor(exact[0] * 10000 + 0.5) / 10000, floor(exact[1] * 1000 + 0.5) / 1000
            if trace is not None:
                trace.append((stability, difficulty))
            last = at
            if state == _REVIEW:
                if rating == _AGAIN:
                    lapses += 1
                    short = not self.relearning and model.allows_short_term
                    if self.relearning or (short and model.interval(exact[0], self.retention) < 0.5):
                        state, step = _RELEARNING, 0
                continue
            steps = self.relearning if state == _RELEARNING else self.learning
            if state == _NEW:
                state = _LEARNING
            if rating == _EASY:
                state = _REVIEW
            elif steps:
                step = min(step, len(steps) - 1)
                if rating == _AGAIN:
                    step = 0
                elif rating == _GOOD:
                    if step + 1 < len(steps):
                        step += 1
                    else:
                        state = _REVIEW
            elif not (model.allows_short_term and model.interval(exact[0], self.retention) < 0.5):
                state = _REVIEW
            elif rating == _AGAIN:
                step = 0
        if last is None:
            return _NEW, None, None, None, 0, 0
        return state, None if state == _REVIEW else step, stability, difficulty, reps, lapses
