"""``cards suspend ID...``: take cards out of the review queue (``cards unsuspend`` puts them back)."""

from __future__ import annotations

import click

from flashcards.cli import Env, pass_env
from flashcards.textsafe import json_text, visible


def suspension_command(suspend: bool) -> click.Command:
    """The ``suspend`` command, or with ``suspend`` False the ``unsuspend`` command."""
    name = "suspend" if suspend else "unsuspend"

    @click.command(name=name)
    @click.argument("card_ids", metavar="ID...", nargs=-1, required=True)
    @click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
    @pass_env
    def command(env: Env, card_ids: tuple[str, ...], as_json: bool) -> None:
        from flashcards.scheduler import set_suspended

        done = set_suspended(env.collection().db, card_ids, suspend)
        if as_json:
            click.echo(
                json_text(
                    {
                        "suspended": suspend,
                        "changed": list(done.changed),
                        "unchanged": list(done.unchanged),
                        "leeches": list(done.leeches),
                    }
                )
            )
            return
        leeches = set(done.leeches)
        if done.changed:
            count = len(done.changed)
            shown = ", ".join(f"{c} (leech)" if c in leeches else c for c in done.changed)
            verb = "Suspended" if suspend else "Unsuspended"
            click.echo(visible(f"{verb} {count} card{'s' if count != 1 else ''}: {shown}"))
        if done.unchanged:
            were = "was" if len(done.unchanged) == 1 else "were"
            state = "already suspended" if suspend else "not suspended"
            click.echo(visible(f"{', '.join(done.unchanged)} {were} {state}"))

    command.help = (
        (
            "Suspend cards: they leave the review queue, keeping their state and history, until "
            "`cards unsuspend`."
        )
        if suspend
        else (
            "Unsuspend cards: they come back into the review queue where they were. A leech keeps "
            "its leech flag (Anki's 'leech' tag)."
        )
    ) + (
        "\n\nEach ID is a card id, a unique prefix of one, or a note id (all of the note's cards). "
        "All of them change or none: an ID that matches no card, or several, changes nothing."
    )
    return command


command = suspension_command(suspend=True)
