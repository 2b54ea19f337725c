"""Rehearsal cards: a spoken answer checked against its key points and a target time.

A ``rehearsal`` note has a ``prompt``, ``points`` (a YAML list of short key points, at most
:data:`MAX_POINTS`), an optional ``time`` (the target speaking time: ``90s``, ``2m``, ``1m30s``)
and an optional ``covers`` (one entry per point: the ids of the notes behind it). The loader
stores the lists as text (:func:`points_text`, :func:`covers_text`), which the card's back and
the Anki export show; this module reads them back.

The rating follows from what the user ticked and how long they spoke (:func:`grade`):

- every point, within the target time (or with no target): Good;
- every point but over the time, or one point missed (of two or more): Hard;
- more missed, or the only point: Again.

Easy is never given: a rehearsal is graded by its checklist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flashcards.states import Rating

MAX_POINTS = 9  # one digit key each
MAX_TIME_SECONDS = 30 * 60
DURATION_FACTOR = 3  # the time recorded for a rehearsal answer: at most this many times the target
UNTIMED_CAP_MS = 10 * 60 * 1000  # ... or this, without a target
_BOX = "☐"
_POINT_LINE = re.compile(rf"^(\d+)\. {_BOX} (.*)$")
_COVER_LINE = re.compile(r"^(\d+): (.*)$")
_TIME = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?$")


def points_text(points: Iterable[str]) -> str:
    """The points as the numbered checklist a card's back shows: ``1. ☐ first``, one a line."""
    return "\n".join(f"{number}. {_BOX} {point}" for number, point in enumerate(points, start=1))


def parse_points(text: str) -> list[str]:
    """The points of :func:`points_text`, in order."""
    return [match.group(2) for line in text.splitlines() if (match := _POINT_LINE.match(line))]


def covers_text(covers: Iterable[Iterable[str]]) -> str:
    """The notes behind each point, one line per point with any: ``2: note-a note-b``."""
    lines = [f"{number}: {' '.join(ids)}" for number, ids in enumerate(covers, start=1)]
    return "\n".join(line for line in lines if not line.endswith(": "))


def parse_covers(text: str) -> dict[int, list[str]]:
    """Point number -> the note ids of :func:`covers_text`."""
    found: dict[int, list[str]] = {}
    for line in text.splitlines():
        match = _COVER_LINE.match(line.strip())
        if match:
            found[int(match.group(1))] = match.group(2).split()
    return found


def parse_time(text: str) -> int:
    """Seconds of a target time such as ``90s``, ``2m``, ``1.5m`` or ``1m30s``; ValueError if not one."""
    match = _TIME.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"'{text}' is not a time such as '90s', '2m' or '1m30s'")
    seconds = float(match.group(1) or 0) * 60 + float(match.group(2) or 0)
    if not 5 <= seconds <= MAX_TIME_SECONDS:
        raise ValueError(f"'{text}': a target time is between 5s and {MAX_TIME_SECONDS // 60}m")
    return round(seconds)


def grade(points: int, ticked: Iterable[int], spoken_seconds: float, target_seconds: int | None) -> Rating:
    """The rating of a rehearsal answer (see the module's rule)."""
    missed = points - len({n for n in ticked if 1 <= n <= points})
    in_time = target_seconds is None or spoken_seconds <= target_seconds
    if missed == 0:
        return Rating.GOOD if in_time else Rating.HARD
    if missed == 1 and points >= 2:
        return Rating.HARD
    return Rating.AGAIN


def duration_cap_ms(target_seconds: int | None) -> int:
    """The longest time recorded for a rehearsal answer: a few times its target, at least a minute."""
    if target_seconds is None:
        return UNTIMED_CAP_MS
    return max(60_000, DURATION_FACTOR * target_seconds * 1000)


@dataclass(frozen=True)
class Rehearsal:
    """A rehearsal card's checklist, as the session shows it."""

    points: tuple[str, ...]
    target_seconds: int | None
    covers: dict[int, list[str]]

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Rehearsal:
        """Read the checklist from a note's stored fields."""
        time = fields.get("time", "").strip()
        return cls(
            tuple(parse_points(fields.get("points", ""))),
            parse_time(time) if time else None,
            parse_covers(fields.get("covers", "")),
        )

    def missed_notes(self, ticked: Iterable[int]) -> list[str]:
        """The notes behind the points not ticked, each once, in point order."""
        made = set(ticked)
        found: list[str] = []
        for number in range(1, len(self.points) + 1):
            if number not in made:
                found.extend(note for note in self.covers.get(number, []) if note not in found)
        return found
