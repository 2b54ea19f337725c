"""``cards lint``: advice on card quality, located like errors."""

from __future__ import annotations

from pathlib import Path

import click

from flashcards.cli import Env, pass_env
from flashcards.compiler import check_paths
from flashcards.errors import SourceError
from flashcards.textsafe import json_text, visible


@click.command(name="lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@pass_env
def command(env: Env, paths: tuple[Path, ...], as_json: bool) -> None:
    """Advise on the cards of deck files (default: the decks directory); write nothing.

    Each finding is printed as FILE:LINE:COL: warning: MESSAGE [RULE], at the note it is
    about. Exits 1 if there is any finding, 0 if none. The files must first pass
    `cards check`.

    \b
    Rules:
    {rules}

    Silence a rule for one note with `lint: [RULE, ...]`, or for a deck and its sub-decks
    with `lint_ignore = [...]` under [deck."NAME"] in cards.toml (at the top level: every
    deck). `lint_answer_words` (default 20) and `lint_front_words` (default 40) set the
    length limits.
    """
    from flashcards.lint import Limits, lint_notes
    from flashcards.settings import load_settings

    settings = load_settings(env.decks_dir)
    files, problems = check_paths(list(paths) or [env.decks_dir], env.decks_dir)
    if problems:
        raise SourceError(problems)

    def limits(deck: str) -> Limits:
        chosen = settings.for_deck(deck)
        return Limits(answer_words=chosen.lint_answer_words, front_words=chosen.lint_front_words)

    findings = lint_notes(
        (note for f in files for note in f.notes), lambda deck: settings.for_deck(deck).lint_ignore, limits
    )
    if as_json:
        click.echo(json_text([finding.to_dict() for finding in findings]))
    else:
        for finding in findings:
            click.echo(visible(str(finding)))
        cards = sum(len(n.cards) for f in files for n in f.notes)
        count = len(findings)
        summary = f"{count} finding{'s' if count != 1 else ''}" if count else "no findings"
        click.echo(f"{cards} card{'s' if cards != 1 else ''} linted: {summary}.", err=True)
    if findings:
        raise SystemExit(1)


def _rules_help() -> str:
    from flashcards.lint import RULES

    return "\n    ".join(f"  {name:<16} {text}" for name, text in RULES.items())


command.help = (command.help or "").replace("{rules}", _rules_help())
