"""``cards import FILE``: answers given in Anki join the log; notes from elsewhere become YAML."""

from __future__ import annotations

from pathlib import Path

import click

from flashcards.cli import Env, pass_env
from flashcards.cli.progress import Progress
from flashcards.textsafe import visible

PROGRESS_FROM_CARDS = 2000  # a bar on a terminal from this many cards mapped


@click.command(name="import")
@click.argument("file", metavar="FILE", type=click.Path())
@click.option("--dry-run", is_flag=True, help="Print what would be imported; write nothing.")
@click.option(
    "--into",
    "into",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where notes that did not come from cards become deck files (default: decks/imported/).",
)
@pass_env
def command(env: Env, file: str, dry_run: bool, into: Path | None) -> None:
    """Take in an Anki export (.apkg, .colpkg) or a closed profile's collection.anki2.

    Reviews of notes that came from cards join the review log in time order (each answer
    once: those cards exported are recognised, a second import adds nothing), and the cards
    they touched are replayed from the merged log. Notes made in Anki become YAML decks
    under --into, with their history; a deck file changed here since an import wrote it is
    left as it is (and named). All or nothing: on an error, nothing is imported (the decks
    are compiled first, as before any command).
    """
    from flashcards.importing import import_file

    if not file.strip():
        raise click.UsageError("FILE is empty: give the path of an .apkg, a .colpkg or a collection.anki2")

    collection = env.collection(compile=not dry_run)
    with Progress("Importing", PROGRESS_FROM_CARDS) as bar:
        report = import_file(
            collection.db,
            collection.settings,
            Path(file),
            write=not dry_run,
            decks_dir=env.decks_dir,
            into=into,
            progress=bar,
        )
    for line in report.summary(dry_run):
        click.echo(visible(line))
    for line in report.warnings():
        click.echo(visible(line), err=True)
