"""The collection: the decks directory, the SQLite file and the settings, opened together.

Every command and the review controller receive one. Opening checks ``cards.toml`` before the
file is touched, so a broken settings file changes nothing. Settings are read without compiling;
compiling is an explicit step (:meth:`Collection.sync` before a command: cheap when no deck file
changed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flashcards import decks, store
from flashcards.database import Database
from flashcards.errors import CardsError, NotFoundError
from flashcards.paths import display_path
from flashcards.settings import Settings, load_settings

if TYPE_CHECKING:
    from flashcards.compile_rows import CompileResult
    from flashcards.journal import Journal

COLLECTION_PRESET = ""  # the preset of decks without a [deck."…"] table of their own


@dataclass
class Collection:
    """An open collection with its decks directory and its settings."""

    db: Database
    path: Path
    decks_dir: Path
    configured: Settings  # cards.toml alone
    _settings: Settings | None = field(default=None, repr=False)
    _parameters_seen: int | None = field(default=None, repr=False)
    journal: Journal | None = field(default=None, repr=False)  # on with `journal = "..."` in cards.toml
    _journal_warned: set[str] = field(default_factory=set, repr=False)  # shown once a command

    @classmethod
    def open(cls, path: Path, decks_dir: Path, waiting: Callable[[], None] | None = None) -> Collection:
        """Check ``cards.toml``, then open (creating if needed) the collection at ``path``;
        ``waiting`` is called if it waits for another command writing it (store.open_collection)."""
        check_decks_dir(decks_dir, must_exist=False)
        configured = load_settings(decks_dir)
        collection = cls(store.open_collection(path, waiting), path, decks_dir, configured)
        collection._finish_migrations()
        return collection

    def _finish_migrations(self) -> None:
        """Recompute every card's cached state from the log when a migration changed the rules.

        A migration cannot do it itself: replaying needs the settings (steps, parameters), which
        live beside the decks. The log is not touched; the file was backed up before the migration.
        """
        if not self.db.execute("SELECT 1 FROM pending_rebuild LIMIT 1").fetchone():
            return
        from flashcards.scheduler import rebuild

        rebuild(self.db, self.settings, after=lambda: self.db.execute("DELETE FROM pending_rebuild"))

    @property
    def settings(self) -> Settings:
        """``cards.toml`` with the FSRS parameters `cards optimize` saved in the collection."""
        if self._settings is None:
            self._parameters_seen = parameters_version(self.db)
            self._settings = with_saved_parameters(self.db, self.configured)
        return self._settings

    def refresh_settings(self) -> bool:
        """Reload the settings if `cards optimize` saved or restored parameters since; True if it did."""
        version = parameters_version(self.db)
        if self._settings is not None and version == self._parameters_seen:
            return False
        changed = self._settings is not None
        self._settings, self._parameters_seen = None, version
        return changed

    def compile(self, now: datetime, *, count_unchanged: bool = True, dry_run: bool = False) -> CompileResult:
        """Bring the collection in line with the deck files (see :func:`compiler.compile_decks`)."""
        from flashcards.compiler import compile_decks

        return compile_decks(self.db, self.decks_dir, now, count_unchanged=count_unchanged, dry_run=dry_run)

    def sync(self, now: datetime) -> list[str]:
        """Compile before a command; return the warnings to show (no decks directory, history retired)."""
        if self.decks_dir.is_dir():
            from flashcards.deckstat import decks_unchanged

            if decks_unchanged(self.db, self.decks_dir):  # not a file read: the compiler not even imported
                return []
            return compile_warnings(self.compile(now, count_unchanged=False))
        if self.db.execute("SELECT 1 FROM notes WHERE retired_at IS NULL LIMIT 1").fetchone():
            return [
                f"warning: no decks directory at {display_path(self.decks_dir)}; showing the collection "
                "as last compiled (pass --decks DIR or set $CARDS_DECKS)"
            ]
        return []

    def sync_journal(self, progress: Callable[[int, int], None] | None = None) -> list[str]:
        """With the journal on: append this device's unwritten lines, then take in other devices'
        new lines (see :mod:`flashcards.journal`; ``progress`` as ``Journal.take_in`` gives it);
        return the warnings to show."""
        directory = self.configured.journal_dir
        if directory is None:
            if self.db.execute("SELECT 1 FROM journal_on").fetchone():
                from flashcards.journal import turn_off

                turn_off(self.db)
            return []
        from flashcards.journal import Journal, device_name, turn_on

        if self.journal is None:
            try:
                device = device_name(self.path)
            except (ValueError, OSError) as error:
                raise CardsError(f"the review journal: {error}") from None
            self.journal = Journal(self.db, directory, device)
            turn_on(self.db)
        warnings = self.flush_journal()
        result = self.journal.take_in(self.settings, self.configured, progress)
        if result.parameters:
            self._settings = None  # another device's fitted parameters are the active ones now
        return [*warnings, *result.warnings]

    def flush_journal(self) -> list[str]:
        """Append the answers logged here since to this device's journal file (the journal on)."""
        if self.journal is None:
            return []
        failed = []
        try:
            self.journal.flush()
        except OSError as error:
            failed.append(
                f"warning: cannot write the review journal {display_path(self.journal.path)} "
                f"({error.strerror or error}); the answers are saved in the collection and written "
                "to the journal next time"
            )
        notices, self.journal.notices = self.journal.notices, []
        fresh = [warning for warning in [*notices, *failed] if warning not in self._journal_warned]
        self._journal_warned.update(fresh)  # a file that cannot be written fails so at every answer: once
        return fresh

    def has_cards(self) -> bool:
        """True when the collection has any active card."""
        return self.db.execute("SELECT 1 FROM cards WHERE retired_at IS NULL LIMIT 1").fetchone() is not None

    def active_decks(self) -> list[str]:
        """The decks that have active cards."""
        return [str(deck) for (deck,) in self.db.execute(decks.ACTIVE_DECKS)]

    def require_deck(self, deck: str | None) -> None:
        """Raise :class:`NotFoundError` unless ``deck`` (or a sub-deck of it) has active cards."""
        if deck is None:
            return
        if not deck.strip():
            raise NotFoundError("the deck name is empty; leave --deck out to use every deck")
        condition, params = decks.sql_filter(deck)
        found = self.db.execute(
            f"SELECT 1 FROM cards WHERE retired_at IS NULL AND {condition} LIMIT 1", params
        )
        if found.fetchone() is None:
            raise NotFoundError(f"no deck named {deck!r}; `cards status` lists the decks")


def compile_warnings(result: CompileResult, ids: bool = False) -> list[str]:
    """What a compile must tell the user: cards retired with their history, ids it could not write,
    and (``ids``: for ``cards compile``) the ids it wrote into files."""
    verb = "would write" if result.dry_run else "wrote"
    lines = [
        f"{verb} 'id:' into {count} note{'s' if count != 1 else ''} of {path}, so that editing "
        f"{'them' if count != 1 else 'it'} keeps the history"
        for path, count in (result.ids_written if ids else [])
    ]
    lines.extend(result.warnings)
    retire = "would retire" if result.dry_run else "retired"
    for item in result.retired_history:
        lines.append(
            f"warning: {retire} card {item.card_id} with {item.reviews} review{'s' if item.reviews != 1 else ''}: "
            f"{item.reason}"
        )
    if result.retired_history:
        lines.append(
            "  Nothing is deleted. If that was a mistake, undo the edit (put the note back with its 'id:', "
            "or add 'renamed_from: OLD' to a renamed template) and compile: the card comes back with its history."
        )
    return lines


def check_decks_dir(path: Path, must_exist: bool = True) -> None:
    """Raise a clear error when the decks path is a file, or (``must_exist``) is missing."""
    if path.exists() and not path.is_dir():
        raise CardsError(
            f"--decks {display_path(path)} is a file; pass the directory that holds the deck files"
        )
    if must_exist and not path.exists():
        raise CardsError(
            f"decks directory {display_path(path)} does not exist; pass --decks DIR or set $CARDS_DECKS"
        )


def saved_parameters(db: Database) -> dict[str, tuple[float, ...]]:
    """Return the active fitted parameters of each preset."""
    rows = db.execute("SELECT preset, parameters FROM parameters WHERE active = 1").fetchall()
    if not rows:
        return {}
    import json  # only once a fit is saved

    return {preset: tuple(json.loads(values)) for preset, values in rows}


def parameters_version(db: Database) -> int:
    """A counter every change to the saved parameters raises (a fit saved, a restore), in its transaction."""
    return int(db.execute("SELECT version FROM parameters_version").fetchone()[0])


def with_saved_parameters(db: Database, settings: Settings) -> Settings:
    """Return ``settings`` with each preset's fitted parameters in place of the configured ones."""
    return with_parameters(settings, saved_parameters(db))


def with_parameters(settings: Settings, saved: Mapping[str, tuple[float, ...]]) -> Settings:
    """Return ``settings`` with ``saved`` (preset → parameters) in place of the configured ones."""
    if not saved:
        return settings
    defaults = settings.defaults
    if COLLECTION_PRESET in saved:
        defaults = replace(defaults, parameters=saved[COLLECTION_PRESET])
    overrides = {name: dict(values) for name, values in settings.overrides.items()}
    for preset, values in saved.items():
        if preset in overrides:
            overrides[preset]["parameters"] = values
    return replace(settings, defaults=defaults, overrides=overrides)
