"""``cards stats``: where you stand, on one screen."""

from __future__ import annotations

import shutil

import click

from flashcards import clock
from flashcards.cli import Env, pass_env
from flashcards.textsafe import json_text, visible


@click.command(name="stats")
@click.option("--deck", metavar="DECK", help="Only this deck and its sub-decks.")
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=182,
    show_default=True,
    help="Days of activity to show (heatmap and average time per card).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@pass_env
def command(env: Env, deck: str | None, days: int, as_json: bool) -> None:
    """Show cards by state, true retention, the 30-day forecast, activity and streaks.

    True retention is the share of reviews of cards in review state answered Hard, Good
    or Easy. Days are study days, starting at day_start_hour (default 04:00 local time).
    """
    from flashcards.stats import DEFAULT_DECAY, collection_stats, render

    collection = env.collection(as_last_compiled=True)
    settings = collection.settings
    collection.require_deck(deck)
    deck_settings = settings.for_deck(deck)
    stats = collection_stats(
        collection.db,
        clock.now(),
        deck=deck,
        days=days,
        day_start_hour=settings.day_start_hour,
        desired_retention=deck_settings.desired_retention,
        decay=deck_settings.parameters[20] if deck_settings.parameters else DEFAULT_DECAY,
    )
    if as_json:
        click.echo(json_text(stats))
        return
    click.echo(visible(render(stats, width=min(shutil.get_terminal_size().columns, 80))))
