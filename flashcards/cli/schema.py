"""``cards schema``: print the JSON Schema of the deck format, for editors."""

from __future__ import annotations

import json

import click

from flashcards.schema import deck_schema


@click.command(name="schema")
def command() -> None:
    """Print the JSON Schema of a deck file (and of types.yaml), for editors.

    Save it (cards schema > deck.schema.json) and point your editor at it, e.g. with a first line
    '# yaml-language-server: $schema=deck.schema.json' in a deck file.
    """
    click.echo(json.dumps(deck_schema(), indent=2, ensure_ascii=False))
