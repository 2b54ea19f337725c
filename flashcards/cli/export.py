"""``cards export``: write decks to an Anki package (.apkg)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from flashcards import paths
from flashcards.cli import Env, pass_env
from flashcards.cli.progress import Progress
from flashcards.paths import display_path
from flashcards.textsafe import visible

PROGRESS_FROM_NOTES = 2000


@click.command(name="export")
@click.option(
    "--deck", "deck", metavar="DECK", help="Export this deck and its sub-decks (default: everything)."
)
@click.option(
    "-o",
    "--output",
    "output",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Package to write (default: exports/<deck>.apkg beside the decks directory).",
)
@click.option(
    "--with-scheduling",
    is_flag=True,
    help="Include review state and history, so Anki continues where cards left off.",
)
@pass_env
def command(env: Env, deck: str | None, output: Path | None, with_scheduling: bool) -> None:
    """Write notes to an Anki package (.apkg) that re-imports update in place.

    Ids are derived from the decks, so importing a newer export into Anki updates the
    edited notes instead of duplicating them, and the same decks give a byte-identical file.
    """
    from flashcards.export import export_package, package_name

    collection = env.collection()
    db, settings = collection.db, collection.settings
    collection.require_deck(deck)
    target = output or paths.exports_dir(env.decks_dir) / package_name(deck)
    with _signals_as_exit(), Progress("Exporting", PROGRESS_FROM_NOTES) as bar:
        result = export_package(
            db, target, deck=deck, with_scheduling=with_scheduling, settings=settings, progress=bar
        )
    parts = [f"{result.notes} notes", f"{result.cards} cards", f"{result.decks} decks"]
    if with_scheduling:
        parts.append(f"{result.reviews} reviews")
    click.echo(visible(f"Wrote {display_path(result.path)}: {', '.join(parts)}, {_size(result.size)}."))


@contextmanager
def _signals_as_exit() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit, so an interrupted export removes its temporary file."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"
