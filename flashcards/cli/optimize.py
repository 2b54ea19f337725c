"""``cards optimize``: fit FSRS parameters to your own review log."""

from __future__ import annotations

import time

import click

from flashcards import clock
from flashcards.cli import Env, pass_env
from flashcards.textsafe import json_text, visible


@click.command(name="optimize")
@click.option("--deck", metavar="DECK", help="Only the preset of this deck (default: every preset).")
@click.option("--dry-run", is_flag=True, help="Fit and compare, but save and reschedule nothing.")
@click.option("--restore", is_flag=True, help="Go back to the parameters in use before the last fit.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@pass_env
def command(env: Env, deck: str | None, dry_run: bool, restore: bool, as_json: bool) -> None:
    """Fit the 21 FSRS-6 parameters to your review log and keep them when they predict it better.

    Parameters are fitted per preset: the collection, and each deck with its own table in
    cards.toml. Parameters are fitted on 80 % of the cards and compared (default, current,
    fitted) by log loss and RMSE on the other 20 %; better ones are saved (earlier ones are
    kept, see --restore) and the cards' memory states are recomputed from their history, in one
    transaction. At least 400 reviews a day or more apart are needed; with fewer, the current
    parameters stay.
    """
    from flashcards.optimize import optimize, restore_previous

    collection = env.collection()
    db, settings = collection.db, collection.configured
    collection.require_deck(deck)
    if restore:
        click.echo(visible(restore_previous(db, settings, deck)))
        return
    started = time.monotonic()

    def progress(message: str) -> None:
        click.echo(visible(f"[{time.monotonic() - started:5.1f}s] {message}"), err=True)

    result = optimize(db, settings, clock.now(), deck=deck, dry_run=dry_run, progress=progress)
    if as_json:
        click.echo(json_text([p.as_dict() for p in result.presets]))
        return
    for preset in result.presets:
        if preset.default is not None:
            name = f"deck {preset.preset!r}" if preset.preset else "the collection"
            click.echo(
                visible(
                    f"{name}: {preset.items} training items from {preset.reviews} reviews; fitted on "
                    f"{preset.fit_items}, tested on {preset.held_out_items} held out"
                )
            )
            click.echo(f"  {'':<10} {'in sample':>17} {'held out':>17}")
            click.echo(f"  {'parameters':<10} {'log loss':>9} {'RMSE':>7} {'log loss':>9} {'RMSE':>7}")
            for label, found in (
                ("default", preset.default),
                ("current", preset.current),
                ("fitted", preset.fitted),
            ):
                if found is not None:
                    inside, held = found.in_sample, found.held_out
                    click.echo(
                        f"  {label:<10} {inside.log_loss:9.4f} {inside.rmse:7.4f} "
                        f"{held.log_loss:9.4f} {held.rmse:7.4f}"
                    )
            if preset.fitted is not None:
                click.echo("  fitted: " + ", ".join(f"{w:g}" for w in preset.fitted.parameters))
        click.echo(visible(preset.message))
