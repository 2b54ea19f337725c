"""The clock and the user's day.

All instants are timezone-aware UTC ``datetime`` objects (py-fsrs accepts nothing else).
``$CARDS_NOW`` replaces the system clock everywhere. "Today" is the user's local day, which
starts at a configurable hour (default 04:00, as in Anki).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from flashcards.errors import CardsError

NOW_VARIABLE = "CARDS_NOW"
# Years whose dates, a century of intervals later, are still dates (datetime ends at year 9999).
YEARS = (1970, 9000)


def now() -> datetime:
    """Return the current instant in UTC, or ``$CARDS_NOW`` when set."""
    override = os.environ.get(NOW_VARIABLE)
    if override:
        return parse_instant(override, what=f"${NOW_VARIABLE}")
    return datetime.now(UTC)


def parse_instant(text: str, what: str = "timestamp") -> datetime:
    """Parse an ISO 8601 instant; a value without an offset is taken as local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CardsError(
            f"{what}: {text!r} is not an ISO 8601 time (e.g. 2026-11-27T09:00:00+00:00)"
        ) from None
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise CardsError(f"{what}: {text.strip()!r} is outside the years {YEARS[0]} to {YEARS[1]}")
    try:
        if value.tzinfo is None:
            value = value.astimezone()
        return value.astimezone(UTC)
    except (OverflowError, OSError):
        raise CardsError(f"{what}: {text.strip()!r} is outside the years {YEARS[0]} to {YEARS[1]}") from None


def to_db(instant: datetime) -> str:
    """Format a UTC instant for storage: fixed width, so text order is time order."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    """Read an instant written by :func:`to_db`."""
    return datetime.fromisoformat(text).astimezone(UTC)


def study_day(instant: datetime, day_start_hour: int = 4, zone: tzinfo | None = None) -> date:
    """Return the user's study day containing ``instant`` (days start at ``day_start_hour``)."""
    local = instant.astimezone(zone) if zone is not None else _as_local(instant)
    return (local - timedelta(hours=day_start_hour)).date()


def day_start(day: date, day_start_hour: int = 4, zone: tzinfo | None = None) -> datetime:
    """Return the UTC instant at which study day ``day`` begins."""
    naive = datetime.combine(day, time(hour=day_start_hour))
    local = naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()
    return local.astimezone(UTC)


def next_day_start(instant: datetime, day_start_hour: int = 4, zone: tzinfo | None = None) -> datetime:
    """Return the UTC instant at which the study day after the one holding ``instant`` begins."""
    today = study_day(instant, day_start_hour, zone)
    return day_start(today + timedelta(days=1), day_start_hour, zone)


def _as_local(instant: datetime) -> datetime:
    # astimezone() without an argument uses the system zone *at that instant*, so daylight
    # saving changes are honoured (a fixed tzinfo taken once would not be).
    return instant.astimezone()
