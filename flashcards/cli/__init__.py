"""The command line: a thin layer that parses options, calls the core, and prints.

Each command lives in its own module, imported only when it runs. Heavy modules (yaml, fsrs,
fsrs_rs_python, genanki, rich, markdown_it) are imported inside the functions that need them,
never at the top of a module that bare ``cards`` or ``cards status`` loads: start-up time is the
floor of every command (tests/test_cli.py checks it).
"""

from __future__ import annotations

import importlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flashcards import __version__, clock, paths
from flashcards.errors import CardsError, SourceError, UnknownCardsError
from flashcards.textsafe import visible

if TYPE_CHECKING:
    from flashcards.collection import Collection

PROGRESS_FROM_LINES = 10_000  # a bar on a terminal while a take-in of this many journal lines applies them
COMMANDS = {
    "check": "Validate deck files without writing anything.",
    "lint": "Advise on card quality (answers on the front, duplicates, long answers...).",
    "compile": "Bring the collection in line with the decks.",
    "status": "Show what is due today, per deck.",
    "review": "Run today's review session.",
    "list": "List cards.",
    "show": "Show one card with its note, source and history.",
    "stats": "Show retention, forecast and activity.",
    "export": "Write decks to an Anki package (.apkg).",
    "import": "Take in an Anki export or collection: reviews, and notes as YAML.",
    "optimize": "Fit FSRS parameters to your own review log.",
    "rebuild": "Recompute every card's state from the review log.",
    "suspend": "Take cards out of the review queue.",
    "unsuspend": "Put suspended cards (leeches too) back into the review queue.",
    "schema": "Print the JSON Schema of the deck format, for editors.",
}


class DisplayedError(click.ClickException):
    """An error message shown as it is, on standard error, with exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(visible(self.message), err=True, file=file)


class DeckName(click.types.StringParamType):
    """A deck name given on the command line: never empty."""

    name = "deck"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        if not text.strip():
            self.fail("the deck name is empty; leave --deck out to use every deck", param, ctx)
        return text


DECK_NAME = DeckName()


class LazyGroup(click.Group):
    """A group that imports each command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _module_exists(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(cmd_name):
            return None
        module = importlib.import_module(f"flashcards.cli.{_module_name(cmd_name)}")
        command: click.Command = module.command
        for param in command.params:
            if param.name == "deck" and isinstance(param, click.Option):
                param.type = DECK_NAME  # every --deck: an empty one is a usage error, not "all decks"
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; domain errors become one clean message and exit code 1."""
        try:
            return super().invoke(ctx)
        except SourceError as error:
            count = len(error.problems)
            summary = f"{count} error{'s' if count != 1 else ''}; nothing was changed."
            raise DisplayedError("\n".join([*(str(p) for p in error.problems), summary])) from None
        except UnknownCardsError as error:
            lines = [f"error: {problem}" for problem in error.problems]
            raise DisplayedError("\n".join([*lines, "Nothing was changed."])) from None
        except CardsError as error:
            raise DisplayedError(f"error: {error}") from None
        except sqlite3.DatabaseError as error:
            raise DisplayedError(_database_message(ctx, error)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _database_message(ctx: click.Context, error: sqlite3.DatabaseError) -> str:
    """Say what a database error means for the user, and what to do about it."""
    where = paths.display_path(ctx.obj.db_path) if isinstance(ctx.obj, Env) else "the collection"
    text = str(error)
    if "readonly" in text or "read-only" in text:
        return f"error: {where} is read-only ({text}); check the file's permissions or pass --db PATH"
    if "locked" in text or "busy" in text:
        return f"error: {where} is busy: another cards process holds it ({text}); try again"
    if isinstance(error, sqlite3.OperationalError):
        return f"error: cannot use {where} ({text})"
    return f"error: {where} is damaged ({text}); restore a backup (collection.db.bak-*) or pass --db PATH"


def _module_name(name: str) -> str:
    return f"{name}_cmd" if name in ("list", "compile", "import") else name


def _module_exists(name: str) -> bool:
    return (Path(__file__).parent / f"{_module_name(name)}.py").exists()


@dataclass
class Env:
    """The options every command shares, and the collection they name, opened on first use."""

    db_option: str | None = None
    decks_option: str | None = None
    _collection: Collection | None = field(default=None, repr=False)
    _synced: bool = field(default=False, repr=False)
    _journaled: bool = field(default=False, repr=False)
    created: bool = field(default=False, repr=False)

    @property
    def decks_dir(self) -> Path:
        return paths.decks_dir(self.decks_option)

    @property
    def db_path(self) -> Path:
        return paths.db_path(self.db_option)

    def _waiting(self) -> None:
        click.echo(
            f"{paths.display_path(self.db_path)} is being written by another cards command (a large "
            "import or merge); waiting for it to end (Ctrl-C stops waiting)",
            err=True,
        )

    def collection(self, compile: bool = True, as_last_compiled: bool = False) -> Collection:
        """The collection, compiled first unless ``compile`` is False (cheap when nothing changed).

        ``cards.toml`` is checked before anything is written, so a broken settings file stops
        every command with the collection untouched, as a broken deck does. With
        ``as_last_compiled`` (the commands of a morning's review: ``review``, ``status``, ``show``,
        ``stats``), a deck file with errors does not stop the command: it says so, with the first
        error's place, and runs on the collection as last compiled, if there is one.
        """
        from flashcards.collection import Collection

        if self._collection is None:
            self.created = not self.db_path.exists()
            self._collection = Collection.open(self.db_path, self.decks_dir, self._waiting)
        if compile and not self._synced:
            self._synced = True
            try:
                warnings = self._collection.sync(clock.now())
            except SourceError as error:
                if not as_last_compiled or not self._collection.has_cards():
                    self.discard_if_created()
                    raise
                warnings = [stale_warning(error)]
            except BaseException:
                self.discard_if_created()
                raise
            for warning in warnings:
                click.echo(visible(warning), err=True)
        if not self._journaled:
            self._journaled = True
            warnings = self._sync_journal(self._collection)
            for warning in warnings:
                click.echo(visible(warning), err=True)
            if self._collection.journal is not None:
                collection = self._collection
                context = click.get_current_context(silent=True)
                if context is not None:
                    context.call_on_close(lambda: _echo_all(collection.flush_journal()))
        return self._collection

    @staticmethod
    def _sync_journal(collection: Collection) -> list[str]:
        """Take in the journal's new lines (the journal on: with a progress bar for a large take-in)."""
        if collection.configured.journal_dir is None:
            return collection.sync_journal()
        from flashcards.cli.progress import Progress

        with Progress("Taking in the review journal", PROGRESS_FROM_LINES) as bar:
            return collection.sync_journal(bar)

    def discard_if_created(self) -> None:
        """Remove the collection this command created, when its first compile failed."""
        from flashcards.store import discard

        if self._collection is not None and self.created:
            discard(self._collection.db, self.db_path)
            self._collection = None

    def no_cards_message(self) -> str:
        """What to tell a user whose collection has no cards yet."""
        where = paths.display_path(self.decks_dir)
        if not self.decks_dir.is_dir():
            return f"No cards yet, and no decks directory at {where}: pass --decks DIR or set $CARDS_DECKS."
        return f"No cards yet: write a deck file under {where}/ (`cards check` validates it), then run cards again."


def _echo_all(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(visible(warning), err=True)


def stale_warning(error: SourceError) -> str:
    """Say that the decks have errors, where the first is, and that the command goes on without them."""
    first = error.problems[0]
    count = len(error.problems)
    more = f" (and {count - 1} more)" if count > 1 else ""
    return (
        f"warning: {first.path}:{first.line}: {first.message}{more}\n"
        "  The decks were not compiled: showing the collection as last compiled. "
        "Fix the file (`cards check` lists every problem), then run cards again."
    )


pass_env = click.make_pass_decorator(Env)


@click.group(
    cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--db",
    "db_option",
    metavar="PATH",
    help="Collection file (default: $CARDS_DB, else the per-user data directory).",
)
@click.option(
    "--decks", "decks_option", metavar="DIR", help="Decks directory (default: $CARDS_DECKS, else ./decks)."
)
@click.version_option(__version__, "--version", prog_name="cards")
@click.pass_context
def cli(ctx: click.Context, db_option: str | None, decks_option: str | None) -> None:
    """cards: plain-text spaced repetition.

    Write notes in YAML under decks/, review them every day with FSRS scheduling,
    export them to Anki. Run without a command to see what is due today.
    """
    ctx.obj = Env(db_option, decks_option)
    if ctx.invoked_subcommand is None:
        status = cli.get_command(ctx, "status")
        if status is not None:
            ctx.invoke(status)
        else:
            click.echo(ctx.get_help())


def main() -> None:
    """Entry point of the ``cards`` command."""
    cli(prog_name="cards")
