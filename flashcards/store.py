"""The collection: one SQLite file holding notes, cards (with their FSRS state) and the review log.

Opened in WAL mode with a busy timeout, so a second process waits instead of failing. Schema
changes are numbered migrations applied on open, after a backup of the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from flashcards.errors import CardsError

BUSY_TIMEOUT_MS = 10_000

migrations = Migrations("cards")


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE deck_files (
            path TEXT PRIMARY KEY,      -- relative to the decks directory
            sha256 TEXT NOT NULL,       -- content hash: unchanged files are skipped
            compiled_at TEXT NOT NULL
        );
        CREATE TABLE note_types (
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL,   -- JSON: fields, key, kind, templates
            fingerprint TEXT NOT NULL,
            source_file TEXT,           -- NULL for built-in types
            modified_at TEXT NOT NULL
        );
        CREATE TABLE notes (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            deck TEXT NOT NULL,
            fields TEXT NOT NULL,       -- JSON object: field name -> Markdown text
            tags TEXT NOT NULL,         -- JSON list
            source_file TEXT NOT NULL,
            source_line INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            modified_at TEXT NOT NULL,  -- when its content last changed
            retired_at TEXT             -- set when the note left the decks; history is kept
        );
        CREATE INDEX notes_source_file ON notes(source_file);
        CREATE TABLE cards (
            id TEXT PRIMARY KEY,        -- note id + '/' + template name
            note_id TEXT NOT NULL REFERENCES notes(id),
            template TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            deck TEXT NOT NULL,
            front TEXT NOT NULL,        -- Markdown
            back TEXT NOT NULL,         -- Markdown
            position INTEGER NOT NULL,  -- order of new cards: file order, then line, then template
            created_at TEXT NOT NULL,
            modified_at TEXT NOT NULL,
            retired_at TEXT,
            state INTEGER NOT NULL DEFAULT 0,   -- 0 new, 1 learning, 2 review, 3 relearning
            step INTEGER,
            stability REAL,
            difficulty REAL,
            due TEXT,                   -- UTC; NULL while new
            last_review TEXT,
            reps INTEGER NOT NULL DEFAULT 0,
            lapses INTEGER NOT NULL DEFAULT 0,
            suspended INTEGER NOT NULL DEFAULT 0,
            leech INTEGER NOT NULL DEFAULT 0,
            buried_until TEXT           -- UTC start of the day the card may show again
        );
        CREATE INDEX cards_note ON cards(note_id);
        CREATE INDEX cards_queue ON cards(state, due) WHERE retired_at IS NULL AND suspended = 0;
        CREATE INDEX cards_new ON cards(position) WHERE state = 0 AND retired_at IS NULL;
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,     -- append-only
            card_id TEXT NOT NULL REFERENCES cards(id),
            rating INTEGER NOT NULL,    -- 1 Again, 2 Hard, 3 Good, 4 Easy
            reviewed_at TEXT NOT NULL,  -- UTC
            duration_ms INTEGER NOT NULL,
            due TEXT NOT NULL,          -- the due date this answer produced (fuzz is random)
            state_before INTEGER NOT NULL,
            state INTEGER NOT NULL,
            stability REAL NOT NULL,
            difficulty REAL NOT NULL
        );
        CREATE INDEX reviews_card ON reviews(card_id, id);
        CREATE INDEX reviews_time ON reviews(reviewed_at);
        """
    )


@migrations(name="0002_parameters")
def _parameters(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE parameters (
            id INTEGER PRIMARY KEY,
            preset TEXT NOT NULL,       -- '' for the collection, else a deck with its own settings
            parameters TEXT NOT NULL,   -- JSON list of the 21 FSRS-6 weights
            created_at TEXT NOT NULL,
            reviews INTEGER NOT NULL,   -- training items (reviews a day or more apart) fitted on
            log_loss REAL NOT NULL,
            rmse REAL NOT NULL,
            active INTEGER NOT NULL DEFAULT 0   -- earlier fits are kept, to go back to
        );
        CREATE UNIQUE INDEX parameters_active ON parameters(preset) WHERE active = 1;
        """
    )


@migrations(name="0003_reviews_stats_index")
def _reviews_stats_index(db: sqlite_utils.Database) -> None:
    # Covers the statistics (retention, time per card, reviews per day) so they read the index
    # alone; it starts with reviewed_at, so it also serves everything reviews_time did.
    db.executescript(
        """
        CREATE INDEX reviews_stats ON reviews(reviewed_at, state_before, rating, duration_ms, card_id);
        DROP INDEX reviews_time;
        """
    )


@migrations(name="0004_cards_status_index")
def _cards_status_index(db: sqlite_utils.Database) -> None:
    # Covers what `cards status` counts per deck (and the deck list), so it reads this index
    # instead of every card's row with its text.
    db.executescript(
        """
        CREATE INDEX cards_status ON cards(deck, state, due, suspended, buried_until, retired_at)
            WHERE retired_at IS NULL;
        """
    )


@migrations(name="0005_cards_stats_index")
def _cards_stats_index(db: sqlite_utils.Database) -> None:
    # Covers `cards stats`: the card counts (young or mature from due and last_review) read it
    # instead of every card's row, and its lapses order gives the hardest cards without a sort.
    db.executescript(
        """
        CREATE INDEX cards_stats
            ON cards(lapses, state, suspended, retired_at, stability, last_review, due, deck);
        """
    )


@migrations(name="0006_parameters_replaced")
def _parameters_replaced(db: sqlite_utils.Database) -> None:
    # The set each fit replaced, so --restore goes back to exactly that one; NULL means cards.toml
    # or the defaults. Earlier fits get NULL: which set they replaced was not recorded.
    db.execute("ALTER TABLE parameters ADD COLUMN replaced_id INTEGER REFERENCES parameters(id)")


@migrations(name="0007_reviews_history_index")
def _reviews_history_index(db: sqlite_utils.Database) -> None:
    # A card's history is read in the order the answers were given, (reviewed_at, id), not by
    # row id: answers taken in from elsewhere arrive later than they were made.
    db.executescript(
        """
        CREATE INDEX reviews_history ON reviews(card_id, reviewed_at, id);
        DROP INDEX reviews_card;
        """
    )


@migrations(name="0008_study_days")
def _study_days(db: sqlite_utils.Database) -> None:
    # Review cards (and cards on a step of a day or more) are due on a study day, not at an
    # instant, so a time-zone move or a daylight-saving change cannot move them. Earlier answers
    # keep their rows as they are (due_day NULL: their due instant's study day, see
    # scheduler.replay); every card's cached state is recomputed from the log under the new
    # rules on the next open, when the settings are known (collection.Collection.open).
    db.executescript(
        """
        ALTER TABLE cards ADD COLUMN due_day INTEGER;
        ALTER TABLE reviews ADD COLUMN due_day INTEGER;
        CREATE TABLE pending_rebuild (reason TEXT NOT NULL);
        INSERT INTO pending_rebuild VALUES ('0008_study_days: elapsed days are study days');
        DROP INDEX cards_queue;
        CREATE INDEX cards_queue ON cards(state, due_day, due) WHERE retired_at IS NULL AND suspended = 0;
        DROP INDEX cards_status;
        CREATE INDEX cards_status ON cards(deck, state, due_day, due, suspended, buried_until, retired_at)
            WHERE retired_at IS NULL;
        """
    )


def open_collection(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the collection at ``path`` and bring its schema up to date."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists() and path.stat().st_size > 0
        connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as error:
        raise CardsError(f"cannot open the collection {path}: {error}") from None
    db = sqlite_utils.Database(connection, execute_plugins=False)  # no plugins: saves a package scan
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        pending = migrations.pending(db)
        if pending:
            if existed:
                backup(db, path.with_name(f"{path.name}.bak-before-{pending[0].name}"))
            migrations.apply(db)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise CardsError(f"{path}: not a usable cards collection ({error})") from None
    return db


def open_memory() -> sqlite_utils.Database:
    """Open an empty in-memory collection (for tests and simulations)."""
    db = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None), execute_plugins=False)
    migrations.apply(db)
    return db


def backup(db: sqlite_utils.Database, target: Path) -> None:
    """Copy the collection to ``target`` with SQLite's online backup."""
    destination = sqlite3.connect(str(target))
    try:
        db.conn.backup(destination)
    finally:
        destination.close()
