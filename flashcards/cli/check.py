"""``cards check``: validate deck files, print every problem with its location."""

from __future__ import annotations

from pathlib import Path

import click

from flashcards.cli import Env, pass_env
from flashcards.compiler import check_paths
from flashcards.errors import SourceError
from flashcards.paths import MAX_FILE_BYTES
from flashcards.textsafe import visible


@click.command(name="check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@pass_env
def command(env: Env, paths: tuple[Path, ...]) -> None:
    """Validate deck files (default: the decks directory); write nothing.

    Each problem is printed as FILE:LINE:COL: error: MESSAGE. Exits 1 if there is any.
    Advice (such as a ' #' after a value, which YAML drops as a comment) is printed as
    FILE:LINE:COL: warning: MESSAGE and does not change the exit code.
    A deck file is at most {limit} MiB.
    """
    files, problems = check_paths(list(paths) or [env.decks_dir], env.decks_dir)
    for warning in sorted(w for f in files for w in f.warnings):
        click.echo(visible(str(warning)), err=True)
    if problems:
        raise SourceError(problems)
    notes = sum(len(f.notes) for f in files)
    cards = sum(len(n.cards) for f in files for n in f.notes)
    click.echo(
        f"{len(files)} file{'s' if len(files) != 1 else ''}, {notes} notes, {cards} cards: no problems."
    )


command.help = (command.help or "").replace("{limit}", str(MAX_FILE_BYTES // 1048576))
