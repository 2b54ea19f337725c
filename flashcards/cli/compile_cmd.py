"""``cards compile``: check the decks, then bring the collection in line with them."""

from __future__ import annotations

import json

import click

from flashcards import clock
from flashcards.cli import Env, pass_env
from flashcards.collection import check_decks_dir, compile_warnings
from flashcards.textsafe import visible

_KINDS = ("added", "updated", "retired", "restored", "renamed")


@click.command(name="compile")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the cards that would be added, updated, retired, restored or renamed; write nothing "
    "(neither the collection nor a deck file).",
)
@pass_env
def command(env: Env, as_json: bool, dry_run: bool) -> None:
    """Check the decks, then add, update and retire notes and cards in one transaction.

    Unchanged files are skipped. Notes removed from the decks are retired, never deleted:
    their history stays and comes back with them. A note without 'id:' gets its id written
    into its file, so that later edits keep its history. On any error nothing is written.
    """
    check_decks_dir(env.decks_dir)
    collection = env.collection(compile=False)
    try:
        result = collection.compile(clock.now(), dry_run=dry_run)
    except BaseException:
        env.discard_if_created()  # a refused first compile leaves no collection behind
        raise
    if dry_run:
        env.discard_if_created()
    for warning in compile_warnings(result, ids=True):
        click.echo(visible(warning), err=True)
    if not dry_run:
        for problem in collection.configured.unknown_decks(collection.active_decks()):
            click.echo(visible(str(problem)), err=True)
    if as_json:
        data: dict[str, object] = {"notes": result.notes.as_dict(), "cards": result.cards.as_dict()}
        if dry_run:
            data["dry_run"] = True
            data["changes"] = result.changes
        data["retired_with_reviews"] = [
            {"id": r.card_id, "reviews": r.reviews, "reason": r.reason} for r in result.retired_history
        ]
        click.echo(json.dumps(data, indent=2))
        return
    if dry_run:
        for kind in _KINDS:
            for card_id in result.changes[kind]:
                click.echo(visible(f"would be {kind}: {card_id}"))
    for label, counts in (("notes", result.notes), ("cards", result.cards)):
        parts = [f"{counts.added} added", f"{counts.updated} updated", f"{counts.retired} retired"]
        if counts.restored:
            parts.append(f"{counts.restored} restored")
        parts.append(f"{counts.unchanged} unchanged")
        click.echo(f"{label + ':':7}" + ", ".join(parts))
    if dry_run:
        click.echo("Dry run: nothing was written.")
