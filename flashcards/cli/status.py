"""``cards status``: what is due today, per deck."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from flashcards import clock
from flashcards.cli import Env, pass_env
from flashcards.textsafe import json_text, visible

if TYPE_CHECKING:
    from flashcards.interview import Readiness


@click.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_env
def command(env: Env, as_json: bool) -> None:
    """Show new / learning / review cards due today per deck, and the next learning card.

    Counts respect the daily limits (a deck's count includes its sub-decks). Decks with an
    interview date also show the days left, the recall predicted on the day (mean, and how many
    studied cards are below the target), the new cards a day the pace needs, and whether the
    date can be met.
    """
    from flashcards.interview import readiness
    from flashcards.limits import done_today
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
    done = done_today(db, settings, now)
    ready = {d.deck: readiness(db, settings, d.deck, now, done) for d in decks}
    overall = readiness(db, settings, None, now, done) if decks else None
    if as_json:
        data = {
            "decks": [
                {**d.as_dict(), **({"interview": r.as_dict()} if (r := ready[d.deck]) else {})} for d in decks
            ],
            "total": {"new": total.new, "learning": total.learning, "review": total.review},
            "next_learning": clock.to_db(next_learning) if next_learning else None,
            "interview": overall.as_dict() if overall else None,
            "journal": collection.journal.status() if collection.journal is not None else None,
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
    _echo_readiness(names, width, ready, overall)
    if collection.journal is not None:
        _echo_journal(collection.journal.status())


def _echo_journal(journal: dict[str, Any]) -> None:
    """One line on the review journal: this machine's file, the others read, what waits."""
    from pathlib import Path

    from flashcards.paths import display_path

    others = journal["other_devices"]
    text = f"Journal: {display_path(Path(journal['file']))} (this machine, '{visible(journal['device'])}')"
    if others:
        shown = ", ".join(visible(name) for name in others[:5]) + (", …" if len(others) > 5 else "")
        text += f"; {len(others)} other {'machine' if len(others) == 1 else 'machines'} read ({shown})"
    if journal["waiting"]:
        count = journal["waiting"]
        text += f"; {count} {'line waits' if count == 1 else 'lines wait'} for cards not in the decks here yet (pull them)"
    if journal["to_write"]:
        count = journal["to_write"]
        text += (
            f"; {count} {'line' if count == 1 else 'lines'} still to write (the file could not be written)"
        )
    click.echo("")
    click.echo(text + ".")


def _echo_readiness(
    names: dict[str, str], width: int, ready: dict[str, Readiness | None], overall: Readiness | None
) -> None:
    """The decks with an interview date: days left, recall predicted on the day, and the pace."""
    rows = [(names[deck], r) for deck, r in ready.items() if r is not None]
    if overall is not None:
        rows.append(("Total", overall))
    if not rows:
        return
    width = max(width, len("Interview"))
    click.echo("")
    click.echo(f"{'Interview':<{width}}  {'Date':>10} {'Days':>5} {'Recall':>6} {'Below':>5} {'New/d':>5}")
    for name, r in rows:
        recall = "—" if r.predicted_recall is None else f"{r.predicted_recall:.0%}"
        days = f"{r.days_left}" if r.days_left >= 0 else "past"
        click.echo(
            f"{name:<{width}}  {r.date.isoformat():>10} {days:>5} {recall:>6} {r.below_target:>5} {r.new_per_day:>5}"
        )
    click.echo(
        "Recall: predicted for the start of the interview day from what you know now, before the "
        "reviews still to come; Below: studied cards under the target."
    )
    for name, r in rows:
        if r.note:
            click.echo(visible(f"{name}: {r.note}."))
