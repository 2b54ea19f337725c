"""``cards list``: find cards."""

from __future__ import annotations

import re
from typing import Any

import click

from flashcards.cli import Env, pass_env
from flashcards.listing import list_cards
from flashcards.textsafe import json_text, visible


@click.command(name="list")
@click.option("--deck", "-d", metavar="DECK", help="Only this deck and its sub-decks.")
@click.option("--retired", is_flag=True, help="Include retired cards (notes no longer in the decks).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of cards.")
@pass_env
def command(env: Env, deck: str | None, retired: bool, as_json: bool) -> None:
    """List cards in source order: id, state, deck and front."""
    collection = env.collection()
    if not retired:
        collection.require_deck(deck)
    cards = list_cards(collection.db, deck, include_retired=retired)
    if as_json:
        click.echo(json_text(cards))
        return
    if not cards:
        click.echo("No cards.")
        return
    width = min(max(len(c["id"]) for c in cards), 60)
    states = [_state(card) for card in cards]
    state_width = max(10, *(len(state) for state in states))
    for card, state in zip(cards, states, strict=True):
        front = _MARKUP.sub("", " ".join(card["front"].split()))
        click.echo(visible(f"{card['id']:<{width}}  {state:<{state_width}}  {_clip(front, 70)}"))
    click.echo(f"{len(cards)} card{'s' if len(cards) != 1 else ''}")


_MARKUP = re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|`")


def _state(card: dict[str, Any]) -> str:
    """The state column: retired, suspended or the FSRS state, and 'leech' for a leech."""
    state = "retired" if card["retired"] else "suspended" if card["suspended"] else card["state"]
    return f"{state}, leech" if card["leech"] else state


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
