"""``cards review``: today's review session."""

from __future__ import annotations

import sys

import click

from flashcards.cli import Env, pass_env


@click.command(name="review")
@click.option("--deck", "-d", metavar="DECK", help="Review only this deck and its sub-decks.")
@click.option(
    "--new",
    "new_limit",
    type=click.IntRange(min=0, max=1_000_000),
    metavar="N",
    help="Show at most N new cards this session, instead of the daily limit.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1_000_000),
    metavar="N",
    help="Start at most N cards (new or review) this session; their learning steps follow.",
)
@click.option(
    "--cram",
    is_flag=True,
    help="A pass over studied cards, weakest on the interview day first, whatever their due date; "
    "answers are logged as cram answers and change no schedule.",
)
@pass_env
def command(env: Env, deck: str | None, new_limit: int | None, limit: int | None, cram: bool) -> None:
    """Review what is due: learning cards, then reviews, then new cards.

    Space or Enter shows the answer; 1 Again, 2 Hard, 3 Good, 4 Easy; u undoes, s buries,
    e edits the card's YAML, ? lists the keys, q quits. Each answer is saved at once.
    When input is not a terminal, keys are read one per line (an empty line shows the answer).

    With --cram, every studied card of the deck (or --limit N of them) is shown once, the lowest
    predicted recall on the interview day first; the answers are kept in the log and ignored by
    the schedule, the optimizer and stats.
    """
    from flashcards.controller import ReviewController
    from flashcards.session import Keys, Session, default_console, print_summary

    collection = env.collection(as_last_compiled=True)
    if not collection.has_cards():
        click.echo(env.no_cards_message())
        return
    collection.require_deck(deck)
    if cram and new_limit is not None:
        raise click.UsageError("--new does not apply to --cram: a cram pass shows studied cards only")
    controller = ReviewController(collection, deck, new_limit, limit, cram=cram)
    session = Session(controller, default_console(), Keys(sys.stdin))
    session.run()
    print_summary(session)
