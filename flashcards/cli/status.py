"""``cards status``: what is due today, per deck."""

from __future__ import annotations

import click

from flashcards import clock
from flashcards.cli import Env, pass_env
from flashcards.textsafe import json_text, visible


@click.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_env
def command(env: Env, as_json: bool) -> None:
    """Show new / learning / review cards due today per deck, and the next learning card.

    Counts respect the daily limits (a deck's count includes its sub-decks).
    """
    from flashcards.queue import ReviewQueue, deck_status

    collection = env.collection(as_last_compiled=True)
    db, settings = collection.db, collection.settings
    now = clock.now()
    decks = deck_status(db, settings, now)
    everything = ReviewQueue(db, settings)
    total = everything.counts(now)
    next_learning = everything.next_learning_due(now)
    for warning in settings.unknown_decks([d.deck for d in decks]):  # the decks with active cards
        click.echo(visible(str(warning)), err=True)
    if as_json:
        data = {
            "decks": [d.as_dict() for d in decks],
            "total": {"new": total.new, "learning": total.learning, "review": total.review},
            "next_learning": clock.to_db(next_learning) if next_learning else None,
        }
        click.echo(json_text(data))
        return
    if not decks:
        click.echo(env.no_cards_message())
        return
    names = {d.deck: visible(d.deck) for d in decks}
    width = max(len("Total"), *(len(name) for name in names.values()))
    click.echo(f"{'Deck':<{width}}  {'New':>5} {'Learn':>5} {'Due':>5}")
    for deck in decks:
        c = deck.counts
        click.echo(f"{names[deck.deck]:<{width}}  {c.new:>5} {c.learning:>5} {c.review:>5}")
    click.echo(f"{'Total':<{width}}  {total.new:>5} {total.learning:>5} {total.review:>5}")
    if next_learning is not None:
        local = next_learning.astimezone().strftime("%H:%M")
        click.echo(f"Next learning card at {local} (in {clock.wait_text(next_learning - now)}).")
    elif total.total == 0 and not any(d.counts.total for d in decks):
        click.echo("Nothing due today.")
