"""``cards compile``: check the decks, then bring the collection in line with them."""

from __future__ import annotations

import json

import click

from flashcards import clock
from flashcards.cli import Env, pass_env
from flashcards.collection import check_decks_dir
from flashcards.textsafe import visible


@click.command(name="compile")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_env
def command(env: Env, as_json: bool) -> None:
    """Check the decks, then add, update and retire notes and cards in one transaction.

    Unchanged files are skipped. Notes removed from the decks are retired, never deleted:
    their history stays and comes back with them. On any error nothing is written.
    """
    check_decks_dir(env.decks_dir)
    collection = env.collection(compile=False)
    try:
        result = collection.compile(clock.now())
    except BaseException:
        env.discard_if_created()  # a refused first compile leaves no collection behind
        raise
    for warning in collection.configured.unknown_decks(collection.active_decks()):
        click.echo(visible(str(warning)), err=True)
    if as_json:
        click.echo(json.dumps({"notes": result.notes.as_dict(), "cards": result.cards.as_dict()}, indent=2))
        return
    for label, counts in (("notes", result.notes), ("cards", result.cards)):
        parts = [f"{counts.added} added", f"{counts.updated} updated", f"{counts.retired} retired"]
        if counts.restored:
            parts.append(f"{counts.restored} restored")
        parts.append(f"{counts.unchanged} unchanged")
        click.echo(f"{label + ':':7}" + ", ".join(parts))
