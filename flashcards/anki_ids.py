"""Anki's numbers: ids derived from the collection (never random) and day numbers.

Deck and note-type ids come from their names; note GUIDs from the project's note ids. Anki's
note, card and review-log ids are millisecond timestamps (Anki shows them as "added" and
"reviewed" dates), so they are derived from when each item was created, made unique in a
stable way: items are taken in creation order and later ones only ever move forward.

Anki counts due days from its collection's creation, each day starting at the rollover hour;
:class:`AnkiDays` numbers days the same way as ``cards`` does (``clock.study_day``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from flashcards import clock

# Anki's card queues and review-log kinds (its card types number like our states)
QUEUE_SUSPENDED, QUEUE_LEARNING, QUEUE_REVIEW, QUEUE_DAY_LEARNING = -1, 1, 2, 3
REVLOG_LEARNING, REVLOG_REVIEW, REVLOG_RELEARNING = 0, 1, 2
# a cram answer: Anki's filtered-deck answer without rescheduling (factor 0); a set due date
REVLOG_FILTERED, REVLOG_MANUAL = 3, 4
ID_LOW = 1 << 30
ID_HIGH = 1 << 31
CREATION_DAY = date(2000, 1, 1)


def name_id(kind: str, name: str) -> int:
    """Return an id in genanki's recommended range ``[2**30, 2**31)`` derived from a name."""
    digest = hashlib.sha256(f"cards:{kind}:{name}".encode()).digest()
    return ID_LOW + int.from_bytes(digest[:8], "big") % (ID_HIGH - ID_LOW)


def deck_id(name: str) -> int:
    """Return the Anki deck id of a deck name (``A::B`` included)."""
    return name_id("deck", name)


def model_id(name: str) -> int:
    """Return the Anki note-type id of a note type name."""
    return name_id("note-type", name)


# genanki's GUID alphabet (Anki's base 91): GUIDs derived as genanki.guid_for derives them
_BASE91 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
_BASE91_PAIRS = [high + low for high in _BASE91 for low in _BASE91]  # the two digits of 0 .. 91² - 1
_PAIR_BASE = len(_BASE91_PAIRS)


SHORTEST_GUID = 8  # Anki's GUIDs (64 random bits in base 91) are 9 or 10 characters; genanki's too
IMPORTED_PREFIX = "anki-"  # the id of a note made in Anki: this and its Anki GUID's UTF-8 in hex


def note_guid(note_id: str) -> str:
    """Return the Anki GUID of a note: it identifies the note across re-imports.

    A note made in Anki and imported (its id ``anki-`` and its GUID in hex, see
    ``foreign.note_id``) goes back with that GUID, so the Anki collection it came from knows it
    for the same note; any other is ``derived_guid(note_id)``.
    """
    if note_id.startswith(IMPORTED_PREFIX):
        original = imported_guid(note_id)
        if original is not None:
            return original
    return derived_guid(note_id)


def imported_guid(note_id: str) -> str | None:
    """The Anki GUID an imported note's id holds, if it is one (else None)."""
    try:
        guid = bytes.fromhex(note_id[len(IMPORTED_PREFIX) :]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if len(guid) < SHORTEST_GUID or not guid.isprintable() or guid.strip() != guid:
        return None  # 'anki-2024', written by hand, holds no GUID: Anki's are some ten characters
    return guid


def derived_guid(note_id: str) -> str:
    """``genanki.guid_for("cards", note_id)`` (a test checks it), computed without its per-byte
    loops: an import checks the GUID of every note it maps."""
    value = int.from_bytes(hashlib.sha256(f"cards__{note_id}".encode()).digest()[:8], "big")
    text = ""
    while value >= _PAIR_BASE:  # two digits at a time
        value, pair = divmod(value, _PAIR_BASE)
        text = _BASE91_PAIRS[pair] + text
    if value >= len(_BASE91):
        return _BASE91_PAIRS[value] + text
    return (_BASE91[value] if value else "") + text


def millisecond_ids(rows: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Map each ``(key, created_at)`` row to a unique millisecond id near its creation time.

    Rows are taken in (time, key) order and each id is at least one more than the previous, so
    adding newer rows never changes the ids of older ones.
    """
    ids: dict[str, int] = {}
    last = 0
    millis: dict[str, int] = {}  # rows written by one compile share their stamp: parse it once
    for key, created in sorted(rows, key=lambda row: (row[1], row[0])):
        stamp = millis.get(created)
        if stamp is None:
            stamp = millis[created] = int(clock.from_db(created).timestamp() * 1000)
        last = max(stamp, last + 1)
        ids[key] = last
    return ids


@dataclass(frozen=True)
class AnkiDays:
    """Anki's day numbering: days since the package collection's creation, starting at ``hour``."""

    hour: int
    zone: tzinfo | None

    def creation(self) -> datetime:
        """Return the package collection's creation time: the start of ``CREATION_DAY``."""
        return clock.day_start(CREATION_DAY, self.hour, self.zone)

    def day(self, instant: datetime) -> int:
        """Return Anki's day number of the study day holding ``instant``."""
        return (clock.study_day(instant, self.hour, self.zone) - CREATION_DAY).days

    def creation_minutes_west(self) -> int:
        """Return the UTC offset at creation in minutes west (Anki's ``creationOffset``)."""
        creation = self.creation()
        local = creation.astimezone(self.zone) if self.zone is not None else creation.astimezone()
        offset = local.utcoffset()
        assert offset is not None
        return -int(offset.total_seconds()) // 60

    def interval(self, start: datetime, end: datetime) -> int:
        """Anki's interval from ``start`` to ``end``: days when it crosses a day start, else minus seconds."""
        days = self.day(end) - self.day(start)
        if days > 0:
            return days
        return -max(1, round((end - start).total_seconds()))
