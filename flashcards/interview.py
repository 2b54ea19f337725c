"""Preparing for an interview on a known day: aimed intervals, paced new cards, readiness, cram order.

A deck with ``interview_date`` (in ``cards.toml``, inherited by sub-decks) is scheduled toward
that day until it comes; on the day and after it, nothing here applies and scheduling is Anki's.

- **Aimed intervals.** After an answer, a review interval that would leave the card's predicted
  recall at the start of the interview day below ``interview_retention`` is shortened so the
  card comes back :data:`AIM_LEAD` days before the day (at least one day after the answer).
  Three days rather than the eve: a card that lapses there is relearned that day and still has
  two reviews to pass before the day (after a lapse, one is not enough: its stability stays
  under a day). Cards whose recall will hold, and cards due before the day anyway, keep FSRS's
  interval. (:func:`aimed_days`, applied by :class:`flashcards.rules.Rules`.)
- **The eve.** No whole interval lands before the day then: an answer that would send a card to
  the interview day (or after it) with its recall at the day's start below the target keeps it
  in relearning for another review that day, after the last relearning step (or
  :data:`EVE_STEP`), as a lapse would; FSRS's same-day update raises its stability each time it
  is passed, until its recall holds for the day. A step that would reach past the rollover is not
  taken. (:func:`eve_step`, applied by :class:`flashcards.rules.Rules`.)
- **Paced new cards.** Every new card should be introduced by :data:`INTRO_LEAD` days before the
  date. A day's new-card limit is raised to what that needs (the new cards left at the start of
  the day, spread over the days left), up to :data:`PACE_FACTOR` times ``new_per_day``; it is
  never lowered. (:func:`paced_new`.)
- **Readiness.** The predicted recall of each studied card at the start of the interview day,
  from its memory state now (before the reviews still to come), and whether the pace can
  introduce every new card in time. (:func:`readiness`.)
- **Cram order.** Studied cards, the lowest predicted recall on the day first. (:func:`cram_order`.)
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flashcards import clock
from flashcards.decks import in_deck, sql_filter

if TYPE_CHECKING:
    from flashcards.database import Database
    from flashcards.limits import Cap
    from flashcards.memory import Model
    from flashcards.settings import Settings

AIM_LEAD = 3  # an aimed review comes this many days before the interview day
EVE_STEP = 600  # seconds: the same-day step of a card kept on the eve, without relearning steps
INTRO_LEAD = 3  # every new card is introduced by this many days before the interview day
PACE_FACTOR = 3  # a paced day's new cards: at most this many times new_per_day


def aimed_days(model: Model, stability: float, today: int, days: int, interview: int, target: float) -> int:
    """A review interval of ``days`` after an answer ``today``, aimed at the interview day.

    Kept when the recall predicted at the start of the interview day (``stability`` decaying from
    today) reaches ``target``; otherwise shortened to come back :data:`AIM_LEAD` days before it.
    """
    if model.retrievability(stability, interview - today) >= target:
        return days
    return max(1, min(days, interview - AIM_LEAD - today))


def eve_step(model: Model, stability: float, today: int, days: int, interview: int, target: float) -> bool:
    """Whether a card answered ``today`` and back in ``days`` is kept for another review today.

    So it is when it would next come back on the interview day or after it (on the eve, no whole
    interval lands before the day) with its recall at the start of the day below ``target``.
    """
    return today + days >= interview and model.retrievability(stability, interview - today) < target


def intro_days(today: int, interview: int) -> int:
    """The study days left, today included, to introduce new cards before the interview."""
    return max(1, interview - INTRO_LEAD - today + 1)


def paced_new(new_per_day: int, new_at_day_start: int, today: int, interview: int | None) -> int:
    """Today's new-card limit: raised so every new card is introduced in time, up to the cap."""
    if interview is None or today >= interview:
        return new_per_day
    needed = math.ceil(new_at_day_start / intro_days(today, interview))
    return max(new_per_day, min(needed, PACE_FACTOR * new_per_day))


def has_interview(settings: Settings) -> bool:
    """Whether any deck (or the collection) has an interview date."""
    return settings.defaults.interview_date is not None or any(
        values.get("interview_date") is not None for values in settings.overrides.values()
    )


def _interview_day(settings: Settings, deck: str | None) -> int | None:
    day = settings.for_deck(deck).interview_date
    return None if day is None else day.toordinal()


def _new_left(db: Database, deck: str | None) -> int:
    scope, args = sql_filter(deck, "c.deck")
    row = db.execute(
        "SELECT count(*) FROM cards c WHERE c.retired_at IS NULL AND c.suspended = 0 AND c.state = 0 "
        f"AND {scope}",
        args,
    ).fetchone()
    return int(row[0])


def new_at_day_start(db: Database, deck: str | None, done: dict[str, Counter[str]]) -> int:
    """New cards in ``deck`` (None: all) at the start of today: those left and those introduced today."""
    return _new_left(db, deck) + sum(n for name, n in done["new"].items() if in_deck(name, deck))


def paced_caps(
    db: Database, settings: Settings, caps: list[Cap], today: int, done: dict[str, Counter[str]]
) -> list[Cap]:
    """The daily caps with the new-card limit of each scope with an interview date paced.

    A deck's raise is added to the caps around it too (the collection's limit among them), so the
    pace of a deck with a date is not held back by the limits of decks without one.
    """
    raised: dict[str | None, int] = {}
    for cap in caps:
        interview = _interview_day(settings, cap.deck)
        if interview is not None and today < interview:
            start = new_at_day_start(db, cap.deck, done)
            raised[cap.deck] = paced_new(cap.new, start, today, interview) - cap.new
    paced = []
    for cap in caps:
        inner = [deck for deck in raised if deck != cap.deck and deck is not None and in_deck(deck, cap.deck)]
        own = raised.get(cap.deck, 0)
        extra = (
            max([own, *(raised[deck] for deck in inner)])
            if cap.deck in raised
            else own + sum(raised[deck] for deck in inner)
        )
        paced.append(replace(cap, new=cap.new + extra) if extra else cap)
    return paced


@dataclass(frozen=True)
class Readiness:
    """How ready a deck (with its sub-decks) will be on its interview day."""

    deck: str | None
    date: date
    days_left: int
    target: float
    studied: int
    predicted_recall: float | None  # mean over studied cards; None when none is studied yet
    below_target: int
    new_left: int
    new_per_day: int  # what the pace needs today (within the cap)
    can_meet: bool  # every new card can be introduced in time at the capped pace
    note: str  # a plain sentence when the date cannot be met, else ''

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``cards status --json``."""
        return {
            "date": self.date.isoformat(),
            "days_left": self.days_left,
            "target": self.target,
            "studied": self.studied,
            "predicted_recall": None if self.predicted_recall is None else round(self.predicted_recall, 4),
            "below_target": self.below_target,
            "new_left": self.new_left,
            "new_per_day": self.new_per_day,
            "can_meet": self.can_meet,
        }


def recall_on_day(model: Model, stability: float, last_review: datetime, day: int, hour: int) -> float:
    """Predicted recall at the start of study day ``day`` of a card last answered at ``last_review``."""
    return model.retrievability(stability, day - clock.study_day(last_review, hour).toordinal())


def _studied(db: Database, deck: str | None) -> list[tuple[str, str, float, datetime]]:
    scope, args = sql_filter(deck, "c.deck")
    rows = db.execute(
        "SELECT c.id, c.deck, c.stability, c.last_review FROM cards c WHERE c.retired_at IS NULL "
        f"AND c.suspended = 0 AND c.state != 0 AND c.stability IS NOT NULL AND {scope} ORDER BY c.id",
        args,
    )
    return [(str(i), str(d), float(s), clock.from_db(at)) for i, d, s, at in rows]


def _models(settings: Settings) -> Any:
    from flashcards.scheduler import rules_for

    cache: dict[str, Model] = {}

    def model(deck: str) -> Model:
        if deck not in cache:
            cache[deck] = rules_for(settings.for_deck(deck), settings.day_start_hour).model
        return cache[deck]

    return model


def readiness(
    db: Database,
    settings: Settings,
    deck: str | None,
    now: datetime,
    done: dict[str, Counter[str]],
) -> Readiness | None:
    """The readiness of ``deck`` (None: the collection) for its interview date; None without one."""
    deck_settings = settings.for_deck(deck)
    if deck_settings.interview_date is None:
        return None
    hour = settings.day_start_hour
    day = deck_settings.interview_date.toordinal()
    today = clock.study_day(now, hour).toordinal()
    model = _models(settings)
    target = deck_settings.interview_retention
    recalls = [
        recall_on_day(model(card_deck), stability, last, day, hour)
        for _, card_deck, stability, last in _studied(db, deck)
    ]
    new_left = _new_left(db, deck)
    start = new_left + sum(n for name, n in done["new"].items() if in_deck(name, deck))
    new_per_day = deck_settings.new_per_day
    note = ""
    if today >= day:
        needed, can_meet = new_per_day, True
    else:
        days = intro_days(today, day)
        needed = paced_new(new_per_day, start, today, day)
        can_meet = start <= needed * days
        if not can_meet:
            note = (
                f"{new_left} new cards left, at most {needed} a day ({PACE_FACTOR} x new_per_day) "
                f"for {days} day{'s' if days != 1 else ''}: the date cannot be met at this pace; "
                "raise new_per_day or suspend cards you will not need"
            )
    return Readiness(
        deck,
        deck_settings.interview_date,
        day - today,
        target,
        len(recalls),
        sum(recalls) / len(recalls) if recalls else None,
        sum(r < target for r in recalls),
        new_left,
        needed,
        can_meet,
        note,
    )


def cram_order(
    db: Database, settings: Settings, deck: str | None, now: datetime, limit: int | None
) -> list[str]:
    """Studied cards of ``deck``, the lowest predicted recall on the interview day first.

    Without an interview date ahead (none set, or it has passed), the recall predicted now.
    """
    hour = settings.day_start_hour
    today = clock.study_day(now, hour).toordinal()
    model = _models(settings)
    ranked = []
    for card_id, card_deck, stability, last in _studied(db, deck):
        day = _interview_day(settings, card_deck)
        target = day if day is not None and day > today else today
        ranked.append((recall_on_day(model(card_deck), stability, last, target, hour), card_id))
    ranked.sort()
    chosen = ranked if limit is None else ranked[:limit]
    return [card_id for _, card_id in chosen]
