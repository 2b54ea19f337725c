"""The clock and the user's day.

All instants are timezone-aware UTC ``datetime`` objects (py-fsrs accepts nothing else).
``$CARDS_NOW`` replaces the system clock everywhere. "Today" is the user's local day, which
starts at a configurable hour (default 04:00, as in Anki).
"""

from __future__ import annotations

import math
import os
from bisect import bisect_right
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


def is_fixed() -> bool:
    """True when ``$CARDS_NOW`` stands in for the clock (time then moves only when told to)."""
    return bool(os.environ.get(NOW_VARIABLE))


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


_DAY_PREFIXES: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DDT"
_SECONDS: list[str | None] = []  # second of the day -> "HH:MM:SS.", filled as they are met
_MILLISECONDS: list[str] = []  # millisecond -> "mmm000+00:00", made on first use


def millisecond_to_db(milliseconds: int) -> str:
    """:func:`to_db` of a POSIX time in whole milliseconds (an Anki review-log id), without a
    datetime: a million of them are formatted when an Anki log is imported, from three parts
    made once each (a third of the time of formatting the numbers)."""
    seconds, millisecond = divmod(milliseconds, 1000)
    day, second = divmod(seconds, 86400)
    prefix = _DAY_PREFIXES.get(day)
    if prefix is None:
        prefix = _DAY_PREFIXES[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    if not _SECONDS:
        _SECONDS.extend([None] * 86400)
        _MILLISECONDS.extend(f"{part:03d}000+00:00" for part in range(1000))
    clock = _SECONDS[second]
    if clock is None:
        clock = _SECONDS[second] = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}."
    return prefix + clock + _MILLISECONDS[millisecond]


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


class StudyDays:
    """The user's study days, numbered (``date.toordinal()`` of the day), in the local zone.

    Answers are counted as Anki counts them: a day starts at ``hour`` local time, and the study
    days elapsed since an instant are the whole 24-hour periods from it to the end of today.
    The starts of consecutive days are computed once, as they are needed to find the end of a day,
    and looked up by bisection: replaying a million answers touches a few thousand days, and an
    answer only the days around it.
    """

    def __init__(self, hour: int = 4, zone: tzinfo | None = None) -> None:
        self.hour = hour
        self.zone = zone
        self._first = 0  # the ordinal of the day that starts at _starts[0]
        self._starts: list[float] = []  # POSIX timestamps of consecutive day starts

    def _cover(self, ordinal: int) -> None:
        """Know the start of day ``ordinal`` and of the day after it."""
        if not self._starts:
            self._first = ordinal
            self._starts = [self._start_of(ordinal)]
        while self._first > ordinal:
            self._first -= 1
            self._starts.insert(0, self._start_of(self._first))
        while self._first + len(self._starts) - 1 < ordinal + 1:
            self._starts.append(self._start_of(self._first + len(self._starts)))

    def end_stamp(self, stamp: float) -> float:
        """When the study day holding POSIX time ``stamp`` ends, as POSIX time (replay's fast path)."""
        starts = self._starts
        if not starts or stamp < starts[0] or stamp >= starts[-1]:
            self._cover(study_day(datetime.fromtimestamp(stamp, UTC), self.hour, self.zone).toordinal())
            starts = self._starts
        return starts[bisect_right(starts, stamp)]

    def _start_of(self, ordinal: int) -> float:
        return day_start(date.fromordinal(ordinal), self.hour, self.zone).timestamp()

    def day_and_end(self, stamp: float) -> tuple[int, float]:
        """The study day holding POSIX time ``stamp`` and when it ends: :meth:`day_of_stamp` and
        :meth:`end_stamp` at once (the known days grow to hold it)."""
        starts = self._starts
        if not starts or stamp < starts[0] or stamp >= starts[-1]:
            self._cover(study_day(datetime.fromtimestamp(stamp, UTC), self.hour, self.zone).toordinal())
            starts = self._starts
        index = bisect_right(starts, stamp)
        return self._first + index - 1, starts[index]

    def day_of_stamp(self, stamp: float) -> int:
        """The number of the study day holding POSIX time ``stamp`` (the known days grow to hold it)."""
        self.end_stamp(stamp)
        return self._first + bisect_right(self._starts, stamp) - 1

    def start_stamp(self, day: int) -> float:
        """When study day number ``day`` begins, as POSIX time (the known days grow to hold it)."""
        self._cover(day)
        return self._starts[day - self._first]

    def day(self, instant: datetime) -> int:
        """The number of the study day holding ``instant`` (outside the known days: computed alone)."""
        starts, stamp = self._starts, instant.timestamp()
        if not starts or stamp < starts[0] or stamp >= starts[-1]:
            return study_day(instant, self.hour, self.zone).toordinal()
        return self._first + bisect_right(starts, stamp) - 1

    def end(self, instant: datetime) -> datetime:
        """When the study day holding ``instant`` ends (the next rollover)."""
        return datetime.fromtimestamp(self.end_stamp(instant.timestamp()), UTC)

    def start(self, day: int) -> datetime:
        """When study day number ``day`` begins (UTC)."""
        return day_start(date.fromordinal(day), self.hour, self.zone)

    def elapsed(self, since: datetime, now: datetime) -> int:
        """Study days from ``since`` to ``now``, as Anki counts them for FSRS (0 on the same day)."""
        return max(0, int((self.end_stamp(now.timestamp()) - since.timestamp()) // 86400))


def format_interval(interval: timedelta) -> str:
    """Format an interval as Anki labels its buttons: ``1m``, ``10m``, ``5.1h``, ``3d``, ``2.1mo``, ``1.2y``.

    Seconds, minutes and days are rounded to whole numbers, hours, months (a twelfth of a year)
    and years to one decimal; halves round up.
    """
    seconds = max(0.0, interval.total_seconds())
    days = seconds / 86400
    if seconds < 60:
        return f"{_whole(seconds)}s"
    if seconds < 3600:
        return f"{_whole(seconds / 60)}m"
    if days < 1:
        return f"{_tenths(seconds / 3600)}h"
    if days < 365 / 12:
        return f"{_whole(days)}d"
    if days < 365:
        return f"{_tenths(days / (365 / 12))}mo"
    return f"{_tenths(days / 365)}y"


def _whole(value: float) -> int:
    return math.floor(value + 0.5)


def _tenths(value: float) -> str:
    return f"{math.floor(value * 10 + 0.5) / 10:.1f}".removesuffix(".0")


def wait_text(delta: timedelta) -> str:
    """Say how long until something, e.g. ``8m 20s``."""
    seconds = max(0, int(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _as_local(instant: datetime) -> datetime:
    # astimezone() without an argument uses the system zone *at that instant*, so daylight
    # saving changes are honoured (a fixed tzinfo taken once would not be).
    return instant.astimezone()
