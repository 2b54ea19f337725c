"""Find cards and read one card with its note, source location and review history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlite_utils

from flashcards.errors import NotFoundError
from flashcards.paths import display_path

STATE_NAMES = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def deck_filter(deck: str | None, column: str = "deck") -> tuple[str, list[Any]]:
    """Return an SQL condition selecting a deck and its sub-decks (``deck::…``), with its parameters.

    Deck names compare exactly (case matters), as they do in the decks and in Anki.
    """
    if not deck:
        return "1", []
    prefix = f"{deck}::"
    return f"({column} = ? OR substr({column}, 1, ?) = ?)", [deck, len(prefix), prefix]


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def require_deck(db: sqlite_utils.Database, deck: str | None) -> None:
    """Raise :class:`NotFoundError` unless ``deck`` (or a sub-deck of it) has active cards."""
    if deck is None:
        return
    if not deck.strip():
        raise NotFoundError("the deck name is empty; leave --deck out to use every deck")
    condition, params = deck_filter(deck)
    found = db.execute(f"SELECT 1 FROM cards WHERE retired_at IS NULL AND {condition} LIMIT 1", params)
    if found.fetchone() is None:
        raise NotFoundError(f"no deck named {deck!r}; `cards status` lists the decks")


def list_cards(
    db: sqlite_utils.Database, deck: str | None = None, include_retired: bool = False
) -> list[dict[str, Any]]:
    """Return cards in source order, optionally restricted to a deck (with sub-decks)."""
    condition, params = deck_filter(deck, "c.deck")
    if not include_retired:
        condition += " AND c.retired_at IS NULL"
    rows = db.execute(
        "SELECT c.id, c.deck, c.front, c.back, c.note_id, c.state, c.due, c.suspended, c.retired_at "
        "FROM cards c JOIN notes n ON n.id = c.note_id "
        f"WHERE {condition} ORDER BY n.source_file, c.position",
        params,
    ).fetchall()
    return [
        {
            "id": row[0],
            "deck": row[1],
            "front": row[2],
            "back": row[3],
            "note_id": row[4],
            "state": STATE_NAMES[row[5]],
            "due": row[6],
            "suspended": bool(row[7]),
            "retired": row[8] is not None,
        }
        for row in rows
    ]


def resolve_card_id(db: sqlite_utils.Database, card_id: str) -> str:
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


def card_detail(db: sqlite_utils.Database, card_id: str, decks_dir: Path) -> dict[str, Any]:
    """Return one card with its note, source, FSRS state and every review, oldest first."""
    card_id = resolve_card_id(db, card_id)
    row = db.execute(
        "SELECT c.id, c.deck, c.note_id, n.source_file, n.source_line, c.front, c.back, c.state, c.due, "
        "c.stability, c.difficulty, c.step, c.last_review, c.reps, c.lapses, c.suspended, c.leech, "
        "c.buried_until, c.retired_at, n.type, n.tags, c.template "
        "FROM cards c JOIN notes n ON n.id = c.note_id WHERE c.id = ?",
        [card_id],
    ).fetchone()
    reviews = [
        {"rating": r[0], "reviewed_at": r[1], "duration_ms": r[2], "due": r[3], "state": STATE_NAMES[r[4]]}
        for r in db.execute(
            "SELECT rating, reviewed_at, duration_ms, due, state FROM reviews WHERE card_id = ? ORDER BY id",
            [card_id],
        )
    ]
    return {
        "id": row[0],
        "deck": row[1],
        "note_id": row[2],
        "source": f"{display_path(decks_dir / row[3])}:{row[4]}",
        "front": row[5],
        "back": row[6],
        "state": STATE_NAMES[row[7]],
        "due": row[8],
        "stability": row[9],
        "difficulty": row[10],
        "step": row[11],
        "last_review": row[12],
        "reps": row[13],
        "lapses": row[14],
        "suspended": bool(row[15]),
        "leech": bool(row[16]),
        "buried_until": row[17],
        "retired": row[18] is not None,
        "note_type": row[19],
        "tags": json.loads(row[20]),
        "template": row[21],
        "reviews": reviews,
    }
