"""``cards rebuild``: recompute every card's state from the review log."""

from __future__ import annotations

import click

from flashcards.cli import Env, pass_env
from flashcards.textsafe import visible


@click.command(name="rebuild")
@click.option("--check", is_flag=True, help="Change nothing; list cards whose state differs (exit 1 if any).")
@pass_env
def command(env: Env, check: bool) -> None:
    """Replay the review log and rewrite each card's cached FSRS state from it.

    The log is the truth; this repairs a damaged cache or applies new FSRS parameters to past
    answers. Due dates, states and learning steps come from the log. An answer whose recorded
    state before is not what the answers before it left (answers added before it or undone, by
    an earlier version, on another machine) is corrected to what it found, with its memory.
    """
    from flashcards.scheduler import rebuild

    collection = env.collection(compile=not check)  # --check changes nothing, not even by compiling
    result = rebuild(collection.db, collection.settings, write=not check, rows=True)
    changed = len(result.changed)
    found = (
        f" ({result.found_again} with answers that found another history than they have)"
        if result.found_again
        else ""
    )
    if check:
        for card_id in result.changed:
            click.echo(visible(f"differs: {card_id}"))
        click.echo(f"{result.cards} cards, {result.reviews} reviews: {changed} differ from the log{found}.")
        if changed:
            raise click.exceptions.Exit(1)
        return
    click.echo(
        f"Replayed {result.reviews} reviews over {result.cards} cards; {changed} cards updated{found}."
    )
