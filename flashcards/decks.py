"""A deck and its sub-decks: names nest with ``::`` (``Interview::Teams``), as in Anki.

Deck names compare exactly (case matters), as they do in the deck files and in Anki. Every
question of the form "is this deck inside that one" is answered here, in Python or in SQL.
"""

from __future__ import annotations

from typing import Any

SEPARATOR = "::"


def lineage(deck: str) -> list[str]:
    """Return ``deck`` and its parents, outermost first: ``A``, ``A::B``, ``A::B::C``."""
    parts = deck.split(SEPARATOR)
    return [SEPARATOR.join(parts[: depth + 1]) for depth in range(len(parts))]


def in_deck(name: str, deck: str | None) -> bool:
    """True when ``name`` is ``deck`` or one of its sub-decks (every deck is inside ``None``)."""
    return deck is None or name == deck or name.startswith(deck + SEPARATOR)


def sql_filter(deck: str | None, column: str = "deck") -> tuple[str, list[Any]]:
    """Return an SQL condition on ``column`` selecting ``deck`` and its sub-decks, with its parameters."""
    if deck is None:
        return "1", []
    prefix = deck + SEPARATOR
    return f"({column} = ? OR substr({column}, 1, ?) = ?)", [deck, len(prefix), prefix]


# The decks with active cards, one index seek each (cards_status leads with the deck): a pass
# over every card's entry would read 100,000 of them for a handful of names.
ACTIVE_DECKS = """
    WITH RECURSIVE names(deck) AS (
        SELECT min(deck) FROM cards WHERE retired_at IS NULL
        UNION ALL
        SELECT (SELECT min(deck) FROM cards WHERE retired_at IS NULL AND deck > names.deck)
        FROM names WHERE names.deck IS NOT NULL
    )
    SELECT deck FROM names WHERE deck IS NOT NULL
"""
