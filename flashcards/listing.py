"""Read cards for people: list them, resolve an id someone typed, show one with its history."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flashcards import reviewlog
from flashcards.database import Database
from flashcards.decks import sql_filter
from flashcards.errors import NotFoundError, UnknownCardsError
from flashcards.paths import display_path
from flashcards.states import Kind, State


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_cards(db: Database, deck: str | None = None, include_retired: bool = False) -> list[dict[str, Any]]:
    """Return cards in source order, optionally restricted to a deck (with sub-decks)."""
    condition, params = sql_filter(deck, "c.deck")
    if not include_retired:
        condition += " AND c.retired_at IS NULL"
    cursor = db.execute(
        "SELECT c.id, c.deck, c.front, c.back, c.note_id, c.state, c.due, c.suspended, c.leech, c.retired_at "
        "FROM cards c JOIN notes n ON n.id = c.note_id "
        f"WHERE {condition} ORDER BY n.source_file, c.position",
        params,
    )
    names = [d[0] for d in cursor.description]
    cards = []
    for row in cursor:
        card = dict(zip(names, row, strict=True))
        card["state"] = State(card["state"]).label
        card["suspended"] = bool(card["suspended"])
        card["leech"] = bool(card["leech"])
        card["retired"] = card.pop("retired_at") is not None
        cards.append(card)
    return cards


def resolve_card_id(db: Database, card_id: str) -> str:
    """Return the card id meant by ``card_id``: exact, a unique prefix, or a note with one card."""
    if db.execute("SELECT 1 FROM cards WHERE id = ?", [card_id]).fetchone():
        return card_id
    candidates: list[str] = [
        row[0]
        for row in db.execute(
            "SELECT id FROM cards WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 11",
            [_like_prefix(card_id) + "%"],
        )
    ]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        shown = ", ".join(candidates[:10]) + (", …" if len(candidates) > 10 else "")
        raise NotFoundError(f"'{card_id}' matches several cards: {shown}; give the full id")
    raise NotFoundError(f"no card '{card_id}'; `cards list` shows the ids")


def resolve_cards(db: Database, names: Iterable[str]) -> list[str]:
    """Return the cards ``names`` mean, each once, in the order given.

    A name is a card id, a note id (all the note's cards), or a unique prefix of a card id.
    Every name that means no card, or several, is reported in one :class:`UnknownCardsError`.
    """
    found: dict[str, None] = {}
    problems = []
    for name in names:
        if db.execute("SELECT 1 FROM cards WHERE id = ?", [name]).fetchone():
            found[name] = None
            continue
        note_cards = [
            row[0] for row in db.execute("SELECT id FROM cards WHERE note_id = ? ORDER BY ordinal", [name])
        ]
        if note_cards:
            found.update(dict.fromkeys(note_cards))
            continue
        try:
            found[resolve_card_id(db, name)] = None
        except NotFoundError as error:
            problems.append(str(error))
    if problems:
        raise UnknownCardsError(problems)
    return list(found)


_DETAIL = (
    "SELECT c.id, c.deck, c.note_id, n.source_file, n.source_line, c.front, c.back, c.state, c.due, "
    "c.stability, c.difficulty, c.step, c.last_review, c.reps, c.lapses, c.suspended, c.leech, "
    "c.buried_until, c.retired_at, n.type AS note_type, n.tags, c.template "
    "FROM cards c JOIN notes n ON n.id = c.note_id WHERE c.id = ?"
)


def card_detail(db: Database, card_id: str, decks_dir: Path) -> dict[str, Any]:
    """Return one card with its note, source, FSRS state and every review, in the order given."""
    card_id = resolve_card_id(db, card_id)
    cursor = db.execute(_DETAIL, [card_id])
    card = dict(zip((d[0] for d in cursor.description), cursor.fetchone(), strict=True))
    source_file, source_line = card.pop("source_file"), card.pop("source_line")
    card["source"] = f"{display_path(decks_dir / source_file)}:{source_line}"
    card["state"] = State(card["state"]).label
    for flag in ("suspended", "leech"):
        card[flag] = bool(card[flag])
    card["retired"] = card.pop("retired_at") is not None
    card["tags"] = json.loads(card["tags"])
    cursor = db.execute(
        "SELECT rating, reviewed_at, duration_ms, due, state, kind, points, ticked FROM reviews "
        f"WHERE card_id = ? ORDER BY {reviewlog.history_order()}",
        [card_id],
    )
    card["reviews"], card["rescheduled"] = [], []
    for rating, reviewed_at, duration_ms, due, state, kind, points, ticked in cursor:
        if kind == Kind.RESCHEDULED:  # a due day brought forward: not an answer
            card["rescheduled"].append({"reviewed_at": reviewed_at, "due": due})
            continue
        review = {
            "rating": rating,
            "reviewed_at": reviewed_at,
            "duration_ms": duration_ms,
            "due": due,
            "state": State(state).label,
            "cram": kind == Kind.CRAM,
        }
        if points is not None:
            review["points"] = points
            review["ticked"] = [int(n) for n in (ticked or "").split()]
        card["reviews"].append(review)
    return {key: card[key] for key in _DETAIL_KEYS}


_DETAIL_KEYS = (
    "id", "deck", "note_id", "source", "front", "back", "state", "due", "stability", "difficulty",
    "step", "last_review", "reps", "lapses", "suspended", "leech", "buried_until", "retired",
    "note_type", "tags", "template", "reviews", "rescheduled",
)  # fmt: skip
