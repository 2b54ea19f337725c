"""Where the learner stands: card counts, true retention, forecast, activity and streaks.

Everything is set-based SQL over the cards and the review log; days are study days (local
time, starting at the configured hour), computed from exact UTC boundaries so daylight saving
changes are honoured.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, Literal

from flashcards import clock
from flashcards.database import Database
from flashcards.decks import sql_filter
from flashcards.reviewlog import ANSWERS
from flashcards.states import Rating, State, sql_list

MATURE_DAYS = 21
FORECAST_DAYS = 30
RETENTION_WINDOWS = (7, 30, 365)
HARDEST = 10
DEFAULT_DECAY = 0.1542  # FSRS-6 default w20


REHEARSAL_ANSWERS = 5  # a rehearsal card's share of points made is over this many last answers


def retrievability(elapsed_days: int, stability: float, decay: float = DEFAULT_DECAY) -> float:
    """Return FSRS-6 retrievability after ``elapsed_days`` whole study days at ``stability``."""
    factor = 0.9 ** (-1 / decay) - 1
    return float((1 + factor * max(0, elapsed_days) / stability) ** -decay)


def collection_stats(
    db: Database,
    now: datetime,
    *,
    deck: str | None = None,
    days: int = 182,
    day_start_hour: int = 4,
    desired_retention: float = 0.9,
    decay: float = DEFAULT_DECAY,
) -> dict[str, Any]:
    """Return the figures of ``cards stats`` as plain data (what ``--json`` prints)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    with _deck_cards(db, deck):
        return _figures(db, now, deck, days, day_start_hour, desired_retention, decay)


@contextmanager
def _deck_cards(db: Database, deck: str | None) -> Iterator[None]:
    """Hold the ids of the deck's cards in a temporary table while the figures are computed."""
    if not deck:
        yield
        return
    condition, params = sql_filter(deck)
    db.execute("CREATE TEMP TABLE IF NOT EXISTS deck_cards(id TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("DELETE FROM temp.deck_cards")
    db.execute(f"INSERT INTO temp.deck_cards SELECT id FROM cards WHERE {condition}", params)
    try:
        yield
    finally:
        db.execute("DROP TABLE temp.deck_cards")


def _figures(
    db: Database,
    now: datetime,
    deck: str | None,
    days: int,
    day_start_hour: int,
    desired_retention: float,
    decay: float,
) -> dict[str, Any]:
    today = clock.study_day(now, day_start_hour)
    start = clock.day_start(today, day_start_hour)
    end = clock.day_start(today + timedelta(days=1), day_start_hour)
    first_day = _first_day(db, deck, today, day_start_hour)
    bounds = _day_bounds(first_day, (today - first_day).days + 1, day_start_hour)
    shown = min(days, len(bounds) - 1)  # the activity shown: the last days, back to the first review
    counts = _reviews_per_day(db, deck, bounds[-shown - 1 :])
    window_start = clock.day_start(today - timedelta(days=days - 1), day_start_hour)
    return {
        "deck": deck,
        "now": clock.to_db(now),
        "study_day": today.isoformat(),
        "cards": _card_counts(db, deck),
        "today": _today(db, deck, start, end),
        "retention": _retention(db, deck, today, end, day_start_hour, desired_retention),
        "forecast": _forecast(db, deck, today, day_start_hour),
        "activity": [
            {"date": (today - timedelta(days=shown - 1 - i)).isoformat(), "reviews": count}
            for i, count in enumerate(counts)
        ],
        "streak": _streaks(_active_days(db, deck, bounds)),
        "average_seconds": _average_seconds(db, deck, window_start, end),
        "hardest": _hardest(db, deck, now, day_start_hour, decay, desired_retention),
        "rehearsals": _rehearsals(db, deck),
    }


def _rehearsals(db: Database, deck: str | None) -> list[dict[str, Any]]:
    """Per rehearsal card, the share of its points made over its last answers (the lowest first)."""
    inside = "JOIN temp.deck_cards dc ON dc.id = c.id" if deck else ""
    cards = db.execute(
        f"SELECT c.id FROM notes n JOIN cards c ON c.note_id = n.id {inside} "
        "WHERE n.type = 'rehearsal' AND c.retired_at IS NULL ORDER BY c.id"
    ).fetchall()
    found = []
    for (card_id,) in cards:
        rows = db.execute(
            f"SELECT points, ticked FROM reviews WHERE card_id = ? AND {ANSWERS} AND points IS NOT NULL "
            f"ORDER BY reviewed_at DESC, id DESC LIMIT {REHEARSAL_ANSWERS}",
            [card_id],
        ).fetchall()
        if not rows:
            continue
        made = sum(len((ticked or "").split()) for _, ticked in rows)
        total = sum(points for points, _ in rows)
        found.append(
            {"id": card_id, "answers": len(rows), "share": round(made / total, 4) if total else None}
        )
    return sorted(found, key=lambda r: (r["share"] is None, r["share"], r["id"]))


def _card_counts(db: Database, deck: str | None) -> dict[str, int]:
    """Count cards by state; one pass over the covering index ``cards_stats``."""
    condition, params = sql_filter(deck)
    live = "retired_at IS NULL AND suspended = 0"
    # the interval (julianday twice) is computed once per review card: young = timed - mature
    timed = f"state = {State.REVIEW:d} AND due IS NOT NULL AND last_review IS NOT NULL"
    mature = f"state = {State.REVIEW:d} AND round(julianday(due) - julianday(last_review)) >= {MATURE_DAYS}"
    new, learning, reviewed, mature_count, suspended, retired = db.execute(
        f"""SELECT
            count(*) FILTER (WHERE {live} AND state = {State.NEW:d}),
            count(*) FILTER (WHERE {live} AND state IN {sql_list(State.LEARNING, State.RELEARNING)}),
            count(*) FILTER (WHERE {live} AND {timed}),
            count(*) FILTER (WHERE {live} AND {mature}),
            count(*) FILTER (WHERE retired_at IS NULL AND suspended = 1),
            count(*) FILTER (WHERE retired_at IS NOT NULL)
        FROM cards WHERE {condition}""",
        params,
    ).fetchone()
    counts = {
        "new": new,
        "learning": learning,
        "young": reviewed - mature_count,
        "mature": mature_count,
        "suspended": suspended,
        "retired": retired,
    }
    counts["total"] = sum(counts.values()) - counts["retired"]
    return counts


def _reviews_from(deck: str | None) -> str:
    """Return the FROM clause selecting a deck's reviews (``temp.deck_cards`` holds its cards)."""
    # answers only: cram answers and due days brought forward are history, not reviews
    answers = f"(SELECT * FROM reviews WHERE {ANSWERS}) r"
    return f"{answers} JOIN temp.deck_cards dc ON dc.id = r.card_id" if deck else answers


def _today(db: Database, deck: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    count, millis, again = db.execute(
        f"SELECT count(*), coalesce(sum(r.duration_ms), 0), coalesce(sum(r.rating = {Rating.AGAIN:d}), 0) "
        f"FROM {_reviews_from(deck)} WHERE r.reviewed_at >= ? AND r.reviewed_at < ?",
        [clock.to_db(start), clock.to_db(end)],
    ).fetchone()
    return {"reviews": count, "again": again, "seconds": round(millis / 1000, 1)}


def _retention(
    db: Database, deck: str | None, today: date, end: datetime, hour: int, desired: float
) -> dict[str, Any]:
    starts = [clock.to_db(clock.day_start(today - timedelta(days=n - 1), hour)) for n in RETENTION_WINDOWS]
    source = _reviews_from(deck)
    result: dict[str, Any] = {"desired": desired}
    for window, window_start in zip(RETENTION_WINDOWS, starts, strict=True):
        # a range of the covering index reviews_stats, one query per window
        total, passed = db.execute(
            f"SELECT count(*), count(*) FILTER (WHERE r.rating > {Rating.AGAIN:d}) FROM {source} "
            f"WHERE r.reviewed_at >= ? AND r.reviewed_at < ? AND r.state_before = {State.REVIEW:d}",
            [window_start, clock.to_db(end)],
        ).fetchone()
        result[f"last_{window}_days"] = {
            "reviews": total,
            "passed": passed,
            "retention": round(passed / total, 4) if total else None,
        }
    return result


def _day_bounds(first: date, count: int, hour: int) -> list[str]:
    """Return the UTC starts of ``count`` study days from ``first``, plus the end of the last."""
    return [clock.to_db(clock.day_start(first + timedelta(days=i), hour)) for i in range(count + 1)]


def _per_day(
    db: Database,
    bounds: list[str],
    aggregate: Literal["count", "exists"],
    source: str,
    column: str,
    condition: str,
    params: list[str],
) -> list[int]:
    """Return ``aggregate`` over the rows of ``source`` whose ``column`` is in each day of ``bounds``.

    ``aggregate`` is ``count`` or ``exists``; each day ``[bounds[i], bounds[i + 1])`` is its own
    range search of an index on ``column``, so no row is sorted or grouped.
    """
    rows = f"FROM {source} WHERE {column} >= d.start AND {column} < d.end AND {condition}"
    value = f"(SELECT count(*) {rows})" if aggregate == "count" else f"EXISTS (SELECT 1 {rows})"
    result = db.execute(
        "WITH b AS (SELECT key AS i, value AS start FROM json_each(?)), "
        "d AS (SELECT i, start, lead(start) OVER (ORDER BY i) AS end FROM b) "
        f"SELECT {value} FROM d WHERE d.end IS NOT NULL ORDER BY d.i",
        [json.dumps(bounds), *params],
    )
    return [int(n) for (n,) in result]


def _first_day(db: Database, deck: str | None, today: date, hour: int) -> date:
    """Return the study day of the first review (today if there is none yet)."""
    first = db.execute(f"SELECT min(r.reviewed_at) FROM {_reviews_from(deck)}").fetchone()[0]
    return min(clock.study_day(clock.from_db(first), hour), today) if first else today


def _reviews_per_day(db: Database, deck: str | None, bounds: list[str]) -> list[int]:
    """Return the number of reviews on each study day of ``bounds``."""
    return _per_day(db, bounds, "count", _reviews_from(deck), "r.reviewed_at", "1", [])


def _active_days(db: Database, deck: str | None, bounds: list[str]) -> list[bool]:
    """Return, for each study day of ``bounds``, whether it has a review (one index probe a day)."""
    return [bool(n) for n in _per_day(db, bounds, "exists", _reviews_from(deck), "r.reviewed_at", "1", [])]


def _forecast(db: Database, deck: str | None, today: date, hour: int) -> list[dict[str, Any]]:
    """Return the cards due on each of the next days; today's count includes overdue cards.

    Review cards and cards on an interday step are due on a study day (``due_day``, one grouped
    range of the ``cards_queue`` index); a card on a step within the day is due today.
    """
    condition, params = sql_filter(deck, "c.deck")
    first, end = today.toordinal(), today.toordinal() + FORECAST_DAYS
    active = "c.retired_at IS NULL AND c.suspended = 0"
    counts = [0] * FORECAST_DAYS
    for day, count in db.execute(
        f"SELECT max(c.due_day, ?) AS day, count(*) FROM cards c WHERE {active} AND c.state IN "
        f"{sql_list(State.LEARNING, State.REVIEW, State.RELEARNING)} AND c.due_day < ? AND {condition} "
        "GROUP BY day",
        [first, end, *params],
    ):
        counts[day - first] += count
    counts[0] += db.execute(
        f"SELECT count(*) FROM cards c WHERE {active} AND c.state IN "
        f"{sql_list(State.LEARNING, State.RELEARNING)} AND c.due_day IS NULL AND {condition}",
        params,
    ).fetchone()[0]
    return [{"date": (today + timedelta(days=i)).isoformat(), "due": n} for i, n in enumerate(counts)]


def _streaks(active: list[bool]) -> dict[str, int]:
    """Return the current streak (ending today, or yesterday if today has no reviews yet) and the longest.

    ``active`` tells, for each study day up to today, whether it has a review.
    """
    longest = run = 0
    for reviewed in active:
        run = run + 1 if reviewed else 0
        longest = max(longest, run)
    days = active[:-1] if active and not active[-1] else active
    current = 0
    for reviewed in reversed(days):
        if not reviewed:
            break
        current += 1
    return {"current": current, "longest": longest}


def _average_seconds(db: Database, deck: str | None, start: datetime, end: datetime) -> float | None:
    value = db.execute(
        f"SELECT avg(r.duration_ms) FROM {_reviews_from(deck)} WHERE r.reviewed_at >= ? AND r.reviewed_at < ?",
        [clock.to_db(start), clock.to_db(end)],
    ).fetchone()[0]
    return None if value is None else round(value / 1000, 1)


def _hardest(
    db: Database, deck: str | None, now: datetime, hour: int, decay: float, desired: float
) -> list[dict[str, Any]]:
    """Return the cards in trouble: most lapses, then lowest retrievability now.

    A card in trouble has lapsed, or its retrievability is below the desired retention; the
    rows come in that order, so dropping the others keeps the ranking. Elapsed days are study
    days, counted as Anki counts them for FSRS (:meth:`flashcards.clock.StudyDays.elapsed`): whole
    24-hour periods from the last review to the end of today, the same in SQL and in Python.
    """
    days = clock.StudyDays(hour)
    condition, params = sql_filter(deck)
    elapsed = "max(0, CAST((julianday(?) - julianday(last_review)) * 86400 AS INTEGER) / 86400)"
    rows = db.execute(
        "SELECT id, deck, front, lapses, stability, last_review FROM cards "
        f"WHERE retired_at IS NULL AND state != {State.NEW:d} AND stability > 0 AND last_review IS NOT NULL "
        f"AND {condition} ORDER BY lapses DESC, {elapsed} / stability DESC, id LIMIT ?",
        [*params, clock.to_db(days.end(now)), HARDEST],
    ).fetchall()
    hardest = [
        {
            "id": card_id,
            "deck": card_deck,
            "front": front,
            "lapses": lapses,
            "retrievability": round(
                retrievability(days.elapsed(clock.from_db(last), now), stability, decay), 4
            ),
        }
        for card_id, card_deck, front, lapses, stability, last in rows
    ]
    return [card for card in hardest if card["lapses"] > 0 or card["retrievability"] < desired]


SHADES = "·░▒▓█"
BARS = " ▁▂▃▄▅▆▇█"
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "Sun")


def render(stats: dict[str, Any], width: int = 80) -> str:
    """Draw the figures of :func:`collection_stats` as one screen of text, ``width`` columns wide."""
    lines = [f"Deck: {stats['deck'] or 'all'}    study day {stats['study_day']}", ""]
    cards = stats["cards"]
    lines.append(
        "Cards   "
        + "  ".join(f"{name} {cards[name]}" for name in ("new", "learning", "young", "mature"))
        + f"  (mature: interval ≥ {MATURE_DAYS} d)"
    )
    lines.append(
        f"        suspended {cards['suspended']}  retired {cards['retired']}  total {cards['total']}"
    )
    today = stats["today"]
    average = stats["average_seconds"]
    lines.append(
        f"Today   {today['reviews']} reviews ({today['again']} again) in {_duration(today['seconds'])}"
        + (f"; {average:g} s per card on average" if average is not None else "")
    )
    streak = stats["streak"]
    lines.append(f"Streak  {_days(streak['current'])} (longest {_days(streak['longest'])})")
    lines += ["", f"True retention (cards in review state; desired {stats['retention']['desired']:.0%})"]
    for window in RETENTION_WINDOWS:
        figures = stats["retention"][f"last_{window}_days"]
        rate = "    —" if figures["retention"] is None else f"{figures['retention']:6.1%}"
        lines.append(f"  last {window:>3} days {rate}  ({figures['passed']}/{figures['reviews']} passed)")
    lines += ["", *_forecast_chart(stats["forecast"], width)]
    lines += ["", *_heatmap(stats["activity"], width)]
    lines += ["", "Hardest cards (most lapses, then lowest retrievability now)"]
    if not stats["hardest"]:
        desired = stats["retention"]["desired"]
        lines.append(f"  none: no card has lapsed or fallen below {desired:.0%} retrievability")
    for card in stats["hardest"]:
        head = f"  {card['lapses']:>3} lapses  R {card['retrievability']:4.0%}  {card['id']}"
        front = " ".join(card["front"].split())
        room = width - len(head) - 3
        if room > 10:
            head += "  " + (front if len(front) <= room else front[: room - 1] + "…")
        lines.append(head[:width])
    if stats["rehearsals"]:
        lines += ["", f"Rehearsals (points made over the last {REHEARSAL_ANSWERS} answers at most)"]
        for card in stats["rehearsals"]:
            share = "    —" if card["share"] is None else f"{card['share']:5.0%}"
            lines.append(
                f"  {share}  of {card['answers']} answer{'s' if card['answers'] != 1 else ''}  {card['id']}"[
                    :width
                ]
            )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def _forecast_chart(forecast: list[dict[str, Any]], width: int, height: int = 4) -> list[str]:
    """Draw cards due per day as vertical bars, two columns per day."""
    counts = [day["due"] for day in forecast]
    peak = max(counts, default=0)
    title = f"Due in the next {len(counts)} days: {sum(counts)} (today {counts[0] if counts else 0}, incl. overdue)"
    lines = [title]
    if not peak:
        return [*lines, "  nothing due"]
    label = len(str(peak))
    for row in range(height, 0, -1):
        cells = []
        for count in counts:
            eighths = round(count / peak * height * 8)
            level = min(max(eighths - (row - 1) * 8, 0), 8)
            cells.append(BARS[level] * 2 if count else "  ")
        prefix = f"{peak:>{label}} │" if row == height else " " * label + " │"
        lines.append((prefix + "".join(cells)).rstrip()[:width])
    axis = " " * label + " └" + "─" * (2 * len(counts))
    marks = " " * (label + 2) + "".join(
        f"{'+' + str(i) if i else 'today':<10}" for i in range(0, len(counts), 5)
    )
    return [*lines, axis[:width], marks.rstrip()[:width]]


def _heatmap(activity: list[dict[str, Any]], width: int) -> list[str]:
    """Draw reviews per study day as a calendar: one column per week, one row per weekday."""
    if not any(day["reviews"] for day in activity):
        return ["Activity: no reviews yet"]
    first = date.fromisoformat(activity[0]["date"])
    counts = {date.fromisoformat(day["date"]): day["reviews"] for day in activity}
    monday = first - timedelta(days=first.weekday())
    last = date.fromisoformat(activity[-1]["date"])
    weeks = (last - monday).days // 7 + 1
    weeks = min(weeks, width - 5)
    monday = last - timedelta(days=last.weekday()) - timedelta(weeks=weeks - 1)
    peak = max(counts.values(), default=0)
    total = sum(counts.values())
    active = sum(1 for n in counts.values() if n)
    lines = [f"Activity, last {_days(len(activity))}: {total} reviews on {_days(active)} (max {peak} a day)"]
    months = [" "] * weeks
    for week in range(weeks):
        start = monday + timedelta(weeks=week)
        if start.day <= 7 and week + 3 <= weeks:
            months[week : week + 3] = list(start.strftime("%b"))
    lines.append("    " + "".join(months).rstrip())
    for weekday in range(7):
        cells = []
        for week in range(weeks):
            day = monday + timedelta(weeks=week, days=weekday)
            if day not in counts:
                cells.append(" ")
            elif not counts[day]:
                cells.append(SHADES[0])
            else:
                cells.append(SHADES[min(4, 1 + (4 * counts[day] - 1) // peak)])
        lines.append(f"{WEEKDAYS[weekday]:<4}" + "".join(cells).rstrip())
    lines.append(f"    less {''.join(SHADES)} more")
    return lines
