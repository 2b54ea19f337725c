"""The collection's schema, as numbered sqlite-utils migrations (applied by :mod:`flashcards.store`).

Each migration runs once per collection, in order, inside the transaction that opens the file
for migrating, after a backup. The number of migrations is ``store.SCHEMA_VERSION``, which every
migrated collection keeps as its ``user_version``: a collection that has it is opened without
importing this module (or sqlite-utils).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

from flashcards.store import MIGRATION_SET

migrations = Migrations(MIGRATION_SET)


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


@migrations(name="0009_reviews_step")
def _reviews_step(db: sqlite_utils.Database) -> None:
    # The step an answer left a (re)learning card on, as the steps were then: changing the
    # learning steps later changes new answers only, and replaying the log still gives the cache.
    db.execute("ALTER TABLE reviews ADD COLUMN step INTEGER")


@migrations(name="0010_parameters_version")
def _parameters_version(db: sqlite_utils.Database) -> None:
    # A counter that every change to `parameters` (a fit saved, a restore) raises in the same
    # transaction, so a review session can notice new parameters by reading one integer.
    db.executescript(
        """
        CREATE TABLE parameters_version (version INTEGER NOT NULL);
        INSERT INTO parameters_version VALUES (0);
        CREATE TRIGGER parameters_inserted AFTER INSERT ON parameters
            BEGIN UPDATE parameters_version SET version = version + 1; END;
        CREATE TRIGGER parameters_updated AFTER UPDATE ON parameters
            BEGIN UPDATE parameters_version SET version = version + 1; END;
        CREATE TRIGGER parameters_deleted AFTER DELETE ON parameters
            BEGIN UPDATE parameters_version SET version = version + 1; END;
        """
    )


@migrations(name="0011_reviews_day_end")
def _reviews_day_end(db: sqlite_utils.Database) -> None:
    # When the study day of each answer ended (the next rollover, POSIX seconds), as the answering
    # machine's zone had it: replay counts the days elapsed from it, so a move to another time zone
    # does not change the history. NULL for earlier answers: replay uses the current zone for them.
    db.execute("ALTER TABLE reviews ADD COLUMN day_end INTEGER")


@migrations(name="0012_reviews_origin")
def _reviews_origin(db: sqlite_utils.Database) -> None:
    # Answers taken in from elsewhere (an Anki package, later another machine's journal) record
    # where they came from and their id there, so taking the same answer in twice adds nothing
    # (index reviews_origin: a card's origins read from the index alone).
    # Every answer also keeps the Anki review-log id an export gives it: kept, not recomputed,
    # so it never changes when other answers arrive, and Anki recognises its own answers (an
    # imported one keeps its Anki id) and cards the ones it exported. Earlier answers get the
    # millisecond of their time, made unique in the order the answers were given.
    db.executescript(
        """
        ALTER TABLE reviews ADD COLUMN source TEXT;     -- NULL: answered here
        ALTER TABLE reviews ADD COLUMN source_id TEXT;  -- the answer's id in its source
        ALTER TABLE reviews ADD COLUMN anki_id INTEGER; -- its Anki review-log id (milliseconds)
        CREATE UNIQUE INDEX reviews_source ON reviews(source, source_id) WHERE source IS NOT NULL;
        CREATE UNIQUE INDEX reviews_anki ON reviews(anki_id);
        CREATE INDEX reviews_origin ON reviews(card_id, anki_id, source, source_id);
        """
    )
    db.execute(
        """
        UPDATE reviews SET anki_id = numbered.anki_id FROM (
            SELECT id, rank + max(ms - rank) OVER (ORDER BY reviewed_at, id) AS anki_id FROM (
                SELECT id, reviewed_at,
                    -- whole seconds from the text before the fraction (strftime would round
                    -- .9995 s up), then the milliseconds, truncated as reviewlog.milliseconds does
                    CAST(strftime('%s', substr(reviewed_at, 1, 19)) AS INTEGER) * 1000
                        + CAST(substr(reviewed_at, 21, 3) AS INTEGER) AS ms,
                    row_number() OVER (ORDER BY reviewed_at, id) AS rank
                FROM reviews
            )
        ) AS numbered WHERE numbered.id = reviews.id
        """
    )


@migrations(name="0013_reviews_kind")
def _reviews_kind(db: sqlite_utils.Database) -> None:
    # What each log row is (states.Kind): an answer (0), a cram answer that changes nothing (1), or
    # a due day brought forward (2, rating 0). Only answers feed the memory model, the optimizer
    # and the statistics, so the stats index covers the kind too. A rehearsal answer keeps its
    # number of points and the points made ("1 3"); stats find rehearsal notes by their type.
    db.executescript(
        """
        CREATE INDEX notes_type ON notes(type);
        ALTER TABLE reviews ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE reviews ADD COLUMN points INTEGER;
        ALTER TABLE reviews ADD COLUMN ticked TEXT;
        DROP INDEX reviews_stats;
        CREATE INDEX reviews_stats ON reviews(reviewed_at, state_before, rating, duration_ms, card_id, kind);
        """
    )


@migrations(name="0014_rendered_html")
def _rendered_html(db: sqlite_utils.Database) -> None:
    # Each card's HTML as Anki shows it, each note's fields as HTML, and the note's exported Anki
    # fields joined as Anki stores them and its Anki GUID, rendered at compile time (an export
    # only reads them); the media files notes name, by their name in a package; and
    # for each deck file the media it named, so an edited image recompiles its file. A file
    # compiled by an earlier renderer (`rendered` below the compiler's) is compiled again.
    db.executescript(
        """
        ALTER TABLE cards ADD COLUMN front_html TEXT;
        ALTER TABLE cards ADD COLUMN back_html TEXT;
        ALTER TABLE notes ADD COLUMN fields_html TEXT;
        ALTER TABLE notes ADD COLUMN anki_fields TEXT;
        ALTER TABLE notes ADD COLUMN anki_guid TEXT;
        ALTER TABLE notes ADD COLUMN media TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE deck_files ADD COLUMN media TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE deck_files ADD COLUMN rendered INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE media (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, data BLOB NOT NULL);
        """
    )


@migrations(name="0015_journal")
def _journal(db: sqlite_utils.Database) -> None:
    # The review journal (flashcards.journal): every answer given here (or taken in from an Anki
    # file) gets a line id the moment it is logged while the journal is on (journal_on), by
    # trigger, in the answer's own transaction; `written` turns 1 once the line is appended and synced to this device's journal file, so a
    # crash between the commit and the append is made good on the next start. An undo of a line
    # already written queues a cancelling line (journal_outbox). How far each journal file has been
    # read (journal_files), lines whose card is not known yet (journal_pending) and cancelled line
    # ids (journal_cancelled) are kept here, never in the journal directory. Fitted parameters and
    # suspensions travel too: a change here is queued by trigger (journal_dirty,
    # journal_suspend_outbox) and written as a line; the newest line of each wins on every machine.
    # A card renamed with renamed_from is a line too (journal_renames): older lines name its old id.
    db.executescript(
        """
        CREATE TABLE journal_lines (
            review_id INTEGER PRIMARY KEY,
            line_id TEXT NOT NULL UNIQUE,
            written INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX journal_unwritten ON journal_lines(review_id) WHERE written = 0;
        CREATE TABLE journal_outbox (seq INTEGER PRIMARY KEY, line_id TEXT NOT NULL);
        CREATE TABLE journal_cancelled (line_id TEXT PRIMARY KEY);
        CREATE TABLE journal_files (
            name TEXT PRIMARY KEY,
            offset INTEGER NOT NULL,
            lines INTEGER NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            tail TEXT NOT NULL
        );
        CREATE TABLE journal_pending (
            line_id TEXT PRIMARY KEY,
            card_id TEXT NOT NULL,
            source TEXT NOT NULL,
            line TEXT NOT NULL
        );
        CREATE INDEX journal_pending_card ON journal_pending(card_id);
        CREATE TABLE journal_renames (  -- cards renamed (renamed_from), here (written 0 until its line is) or elsewhere
            old TEXT PRIMARY KEY,
            new TEXT NOT NULL,
            written INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE journal_on (one INTEGER);  -- a row while the journal is on (journal.turn_on)
        CREATE TABLE journal_parameters (
            line_id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            device TEXT NOT NULL,
            snapshot TEXT NOT NULL,     -- JSON: the active fits, one per preset
            written INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE journal_suspensions (
            card_id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            device TEXT NOT NULL,
            line_id TEXT NOT NULL,
            suspended INTEGER NOT NULL
        );
        CREATE TABLE journal_dirty (what TEXT PRIMARY KEY);  -- 'parameters': a snapshot to write
        CREATE TABLE journal_suspend_outbox (card_id TEXT PRIMARY KEY, suspended INTEGER NOT NULL);
        CREATE TABLE journal_applying (one INTEGER);  -- a row while lines of other devices are applied
        CREATE TRIGGER journal_parameters_inserted AFTER INSERT ON parameters
            WHEN NOT EXISTS (SELECT 1 FROM journal_applying)
            BEGIN INSERT OR IGNORE INTO journal_dirty VALUES ('parameters'); END;
        CREATE TRIGGER journal_parameters_updated AFTER UPDATE ON parameters
            WHEN NOT EXISTS (SELECT 1 FROM journal_applying)
            BEGIN INSERT OR IGNORE INTO journal_dirty VALUES ('parameters'); END;
        CREATE TRIGGER journal_suspended AFTER UPDATE OF suspended ON cards
            WHEN OLD.suspended != NEW.suspended AND NOT EXISTS (SELECT 1 FROM journal_applying)
            BEGIN INSERT OR REPLACE INTO journal_suspend_outbox VALUES (NEW.id, NEW.suspended); END;
        CREATE TRIGGER journal_add AFTER INSERT ON reviews
            WHEN (NEW.source IS NULL OR NEW.source NOT LIKE 'journal:%') AND EXISTS (SELECT 1 FROM journal_on)
                AND NOT EXISTS (SELECT 1 FROM journal_applying)
        BEGIN
            INSERT INTO journal_lines(review_id, line_id) VALUES (NEW.id, lower(hex(randomblob(8))));
        END;
        CREATE TRIGGER journal_remove AFTER DELETE ON reviews
            WHEN OLD.source IS NULL OR OLD.source NOT LIKE 'journal:%'
        BEGIN
            INSERT INTO journal_outbox(line_id)
                SELECT line_id FROM journal_lines WHERE review_id = OLD.id AND written = 1;
            INSERT OR IGNORE INTO journal_cancelled(line_id)
                SELECT line_id FROM journal_lines WHERE review_id = OLD.id;
            DELETE FROM journal_lines WHERE review_id = OLD.id;
        END;
        """
    )


@migrations(name="0016_imported_files")
def _imported_files(db: sqlite_utils.Database) -> None:
    # An Anki file taken in whole (every note it holds has its cards here, none was left aside)
    # is remembered by the SHA-256 of its bytes, with what that import reported: importing the
    # same bytes again can bring nothing new, so it is answered without reading the file
    # (flashcards.importing). `anki_rows`: the answers from Anki the log held after it; fewer
    # now, and the file is read in full again.
    db.executescript(
        """
        CREATE TABLE imported_files (
            digest TEXT PRIMARY KEY,
            imported_at TEXT NOT NULL,
            report TEXT NOT NULL,
            anki_rows INTEGER NOT NULL
        );
        """
    )


@migrations(name="0017_deck_file_stats")
def _deck_file_stats(db: sqlite_utils.Database) -> None:
    # Each deck file's size and modification time while the compiler read the bytes it hashed
    # (flashcards.deckstat): a command before which nothing changed reads no deck file.
    db.executescript(
        """
        CREATE TABLE deck_file_stats (
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL
        );
        """
    )


@migrations(name="0018_no_reviews_origin")
def _no_reviews_origin(db: sqlite_utils.Database) -> None:
    # reviews_origin (card_id, anki_id, source, source_id) gave nothing reviews_history (a card's
    # rows) and reviews_anki do not, and cost a third of the time of adding a million answers.
    db.execute("DROP INDEX IF EXISTS reviews_origin")


@migrations(name="0019_replay_marks")
def _replay_marks(db: sqlite_utils.Database) -> None:
    # Where replaying a card's whole log left the rules (their own state, step, memory, counts)
    # and its log (its last row's time, the state and step as logged), under rules of `rules`
    # (Rules.replay_key, a hash): a merge of answers given after all of a card's rows goes on from here
    # instead of reading and replaying its history (flashcards.merge). A cache: written by a
    # merge, carried over an answer given here, forgotten by every other change to the card's
    # log (flashcards.reviewlog).
    db.executescript(
        """
        CREATE TABLE replay_marks (
            card_id TEXT PRIMARY KEY,
            rules INTEGER NOT NULL,
            state INTEGER NOT NULL,
            step INTEGER,
            stability REAL,
            difficulty REAL,
            reps INTEGER NOT NULL,
            lapses INTEGER NOT NULL,
            last_stamp REAL,
            logged_lapses INTEGER NOT NULL,
            last_at TEXT NOT NULL,
            logged_state INTEGER NOT NULL,
            logged_step INTEGER
        );
        """
    )


@migrations(name="0020_imported_notes_guids")
def _imported_notes_guids(db: sqlite_utils.Database) -> None:
    # A note made in Anki and imported is exported with its own Anki GUID (anki_ids.note_guid),
    # so the collection it came from skips it instead of adding it a second time.
    from flashcards.anki_ids import note_guid

    rows = db.execute("SELECT id FROM notes WHERE id LIKE 'anki-%'").fetchall()
    db.conn.executemany("UPDATE notes SET anki_guid = ? WHERE id = ?", [(note_guid(i), i) for (i,) in rows])
