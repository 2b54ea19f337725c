"""The order in which new cards are first shown: a file's ``order:``, and how decks are gathered.

A card's ``position`` holds its file's ``order:`` above its line and template, so ordering by it
puts files with a lower ``order:`` first, files without one last (then by path, line and
template). The setting ``new_gather_order`` (top level of ``cards.toml``) chooses, as Anki's
new-card gather order does, between ``in-order`` (that order across all decks),
``interleaved`` (one card from each deck in turn, each deck in that order) and
``random-notes`` (notes shuffled, the same way every day; a note's cards stay together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flashcards.database import Database

GATHER_ORDERS = ("in-order", "interleaved", "random-notes")
ORDER_LIMIT = 1_000_000  # a file's order: from -ORDER_LIMIT to ORDER_LIMIT
_SHIFT = 42  # line * 1000 + template ordinal stays below 2**42 (a deck file is at most 4 MiB)
_UNORDERED = 2 * ORDER_LIMIT + 2  # files without order: after all others; the key stays below 2**21

_IN_ORDER = f"c.position >> {_SHIFT}, n.source_file, c.position"


def position(order: int | None, line: int, ordinal: int) -> int:
    """A new card's place: its file's ``order:`` (or after every ordered file), line, template."""
    key = _UNORDERED if order is None else order + ORDER_LIMIT + 1
    return (key << _SHIFT) + line * 1000 + ordinal


def new_order(db: Database, gather: str) -> tuple[str, str]:
    """How to sort new cards (tables ``c`` cards, ``n`` notes) under ``gather``: a join to add, and
    the ``ORDER BY`` terms. The order does not change as cards are answered (an interleaved card's
    turn is its place in its deck among all the deck's cards, new or not), so a session may read
    a window of it once."""
    if gather == "interleaved":
        deck = "OVER (PARTITION BY c.deck"
        ranks = (
            f"SELECT c.id, row_number() {deck} ORDER BY {_IN_ORDER}) AS turn, "
            f"min(c.position >> {_SHIFT}) {deck}) AS deck_order, min(n.source_file) {deck}) AS deck_file "
            "FROM cards c JOIN notes n ON n.id = c.note_id WHERE c.retired_at IS NULL"
        )
        return f" JOIN ({ranks}) r ON r.id = c.id", f"r.turn, r.deck_order, r.deck_file, c.deck, {_IN_ORDER}"
    if gather == "random-notes":
        db.conn.create_function("cards_shuffle", 1, _shuffle, deterministic=True)
        return "", f"cards_shuffle(c.note_id), {_IN_ORDER}"
    return "", _IN_ORDER


def _shuffle(note_id: str) -> int:
    import hashlib  # here: only a random order needs it (an import done once is a dictionary lookup)

    return int.from_bytes(hashlib.sha256(f"cards:new:{note_id}".encode()).digest()[:7], "big")
