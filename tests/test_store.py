"""The collection file: which files are opened, and how every earlier schema migrates.

Only new paths, empty files and known cards collections are opened; a collection of any earlier
schema opens migrated, keeping every row, after a backup.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import reviewlog, store
from flashcards.cli import cli
from flashcards.errors import CardsError
from flashcards.states import Rating, State

DECK = """
deck: D
notes:
  - front: a
    back: b
"""


def foreign(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE things (x)")
    connection.execute("INSERT INTO things VALUES (1)")
    connection.commit()
    connection.close()


def anki(path: Path) -> None:
    from anki.collection import Collection

    Collection(str(path)).close()


def newer(path: Path) -> None:
    store.open_collection(path).conn.close()
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO _sqlite_migrations(migration_set, name, applied_at) VALUES ('cards', '0099_future', 'x')"
    )
    connection.execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")  # as a newer version leaves it
    connection.commit()
    connection.close()


def files_beside(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir()) if p.is_file()}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (foreign, "not a cards collection (it holds other tables: things)"),
        (anki, "not a cards collection (it holds other tables: cards, col,"),
        (newer, "written by a newer version of cards (unknown migrations: 0099_future)"),
    ],
    ids=["foreign", "anki", "newer"],
)
def test_other_databases_are_refused_and_left_untouched(
    tmp_path: Path, write_deck: Callable[..., Path], make: Callable[[Path], None], message: str
) -> None:
    write_deck("d.yaml", DECK)
    path = tmp_path / "other" / "file.db"
    path.parent.mkdir()
    make(path)
    before = files_beside(path)
    with pytest.raises(CardsError, match=re.escape(message)):
        store.open_collection(path)
    result = CliRunner().invoke(cli, ["--db", str(path), "status"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: ") and message in result.stderr
    assert "left untouched" in result.stderr
    assert files_beside(path) == before  # no WAL switch, no table, no backup, no -wal or -shm


def test_a_non_regular_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CardsError, match="not a regular file"):
        store.open_collection(tmp_path)
    link = tmp_path / "to-a-directory.db"
    link.symlink_to(tmp_path)
    with pytest.raises(CardsError, match="not a regular file"):
        store.open_collection(link)


def test_new_paths_empty_files_and_collections_open(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for path in (tmp_path / "new.db", empty):
        db = store.open_collection(path)
        assert db.execute("PRAGMA application_id").fetchone()[0] == store.APPLICATION_ID
        db.conn.close()
        store.open_collection(path).conn.close()  # and again, now as a collection


def test_a_collection_without_application_id_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store.open_collection(path).conn.close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA application_id = 0")
    connection.commit()
    connection.close()
    db = store.open_collection(path)
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 0


def test_a_migration_is_backed_up_first(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store.open_collection(path).conn.close()
    connection = sqlite3.connect(path)
    connection.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_parameters_replaced'")
    connection.execute("ALTER TABLE parameters DROP COLUMN replaced_id")
    connection.execute("PRAGMA user_version = 0")  # as a collection from before the version was kept
    connection.commit()
    connection.close()
    db = store.open_collection(path)
    assert "replaced_id" in sqlite_utils.Database(db.conn)["parameters"].columns_dict
    backup = tmp_path / "c.db.bak-before-0006_parameters_replaced"
    assert "replaced_id" not in sqlite_utils_columns(backup)


def test_a_migration_held_up_by_another_writer_fails_after_the_busy_timeout_without_waiting_longer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a collection in the rollback journal (a large import or merge) is waited for: a
    migration that another process's ordinary write holds up fails after the busy timeout."""
    path = tmp_path / "c.db"
    store.open_collection(path).conn.close()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_parameters_replaced'")
    connection.execute("ALTER TABLE parameters DROP COLUMN replaced_id")
    connection.execute("PRAGMA user_version = 0")
    connection.execute("BEGIN IMMEDIATE")  # another process writing, in the write-ahead log
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 100)
    waits: list[bool] = []
    with pytest.raises(CardsError, match=r"c\.db is busy: another process is writing it; try again"):
        store.open_collection(path, lambda: waits.append(True))
    assert waits == []
    connection.execute("ROLLBACK")
    connection.close()
    db = store.open_collection(path)
    assert "replaced_id" in sqlite_utils.Database(db.conn)["parameters"].columns_dict


def test_ctrl_c_interrupts_a_wait_on_a_terminal_even_when_started_ignoring_it() -> None:
    import os
    import signal

    from flashcards.interrupts import interruptible

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with pytest.raises(KeyboardInterrupt), interruptible(terminal=True):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):  # the handler runs between bytecodes
                pass
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        with interruptible(terminal=False):  # not on a terminal: left ignored
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def sqlite_utils_columns(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[1] for row in connection.execute("PRAGMA table_info(parameters)")]
    finally:
        connection.close()


def test_commands_starting_at_once_on_a_new_collection_all_succeed(
    tmp_path: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("d.yaml", DECK)
    path = tmp_path / "race.db"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "flashcards", "--db", str(path), "status"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in processes]
    for p in processes:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert results == [(0, "")] * 8
    assert (tmp_path / "decks" / "d.yaml").read_text().count("id: basic:a\n") == 1  # written once
    assert not list(tmp_path.glob("race.db.bak-*"))  # a new file has nothing to back up
    db = store.open_collection(path)
    assert db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(NAMES)


def test_a_refused_first_compile_leaves_no_collection(
    tmp_path: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    write_deck("d.yaml", "deck: D\nnotes:\n  - front: a\n    bakc: b\n")
    for command in (["compile"], ["status"], ["list"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1, command
        assert not db_path.exists(), command
        assert not list(tmp_path.glob("collection.db*")), command


NAMES = [migration.name for migration in store.migrations.pending(sqlite_utils.Database(memory=True))]
SAMPLE = {"INTEGER": 7, "REAL": 2.5, "TEXT": "2026-11-27T09:00:00.000000+00:00"}
UNIQUE = {
    ("reviews", "anki_id"),
    ("reviews", "source_id"),
    ("journal_lines", "line_id"),
}  # columns of a unique index: one value a row


def tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != '_sqlite_migrations' ORDER BY name"
    )
    return [name for (name,) in rows]


def contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, for the columns each table has in the file at ``path``."""
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in tables(connection)
        }


def columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as connection:
        return {t: [c[1] for c in connection.execute(f"PRAGMA table_info({t})")] for t in tables(connection)}


def test_the_migrations_are_numbered_in_order() -> None:
    assert sorted(NAMES) == NAMES
    numbers = [int(name[:4]) for name in NAMES]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(NAMES) == store.SCHEMA_VERSION  # what a migrated collection keeps as its user_version
    assert sqlite_utils.Migrations.migrations_table == store.MIGRATIONS_TABLE


@pytest.mark.parametrize("applied", range(1, len(NAMES)), ids=lambda n: f"from-{NAMES[n - 1]}")
def test_a_collection_of_every_earlier_schema_opens_migrated_with_its_rows(
    tmp_path: Path, applied: int
) -> None:
    path = tmp_path / "collection.db"
    old = sqlite_utils.Database(path)
    store.migrations.apply(old, stop_before=NAMES[applied:])
    for table in tables(old.conn):
        info = old.conn.execute(f"PRAGMA table_info({table})").fetchall()
        for row in range(2):  # two rows each, with every column filled
            values = [
                (row + 1 if kind == "INTEGER" else f"{table}-{row}")
                if pk or (table, name) in UNIQUE
                else SAMPLE.get(kind, f"v{row}")
                for _, name, kind, _, _, pk in info
            ]
            marks = ", ".join("?" * len(values))
            old.conn.execute(f"INSERT INTO {table} VALUES ({marks})", values)
    old.conn.commit()
    old.conn.close()
    before, before_columns = contents(path), columns(path)

    migrated = store.open_collection(path)
    assert store.migrations.pending(sqlite_utils.Database(migrated.conn)) == []
    assert migrated.execute("PRAGMA user_version").fetchone() == (store.SCHEMA_VERSION,)
    migrated.conn.close()

    after, after_columns = contents(path), columns(path)
    for table, rows in before.items():
        kept = [after_columns[table].index(name) for name in before_columns[table]]
        assert [tuple(row[i] for i in kept) for row in after[table]] == rows, table
    backup = tmp_path / f"collection.db.bak-before-{NAMES[applied]}"
    assert contents(backup) == before
    with sqlite3.connect(backup) as connection:
        done = [name for (name,) in connection.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert done == NAMES[:applied]


def test_a_current_collection_opens_without_a_backup(tmp_path: Path) -> None:
    store.open_collection(tmp_path / "collection.db").conn.close()
    store.open_collection(tmp_path / "collection.db").conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak" in p.name) == []


def test_a_collection_from_before_study_days_is_rescheduled_from_its_log(tmp_path: Path) -> None:
    """0008 changes the rules: every card's cache is recomputed from the untouched log, after a backup."""
    from flashcards.collection import Collection
    from flashcards.scheduler import rebuild

    path, decks = tmp_path / "collection.db", tmp_path / "decks"  # the decks directory is empty
    old = sqlite_utils.Database(path)
    store.migrations.apply(
        old,
        stop_before=[
            "0008_study_days",
            "0009_reviews_step",
            "0010_parameters_version",
            "0011_reviews_day_end",
        ],
    )
    stamp = "2026-01-05T10:00:00.000000+00:00"
    old.conn.execute(
        "INSERT INTO notes VALUES ('basic:q', 'basic', 'D', '{}', '[]', 'd.yaml', 1, 'h', ?, ?, NULL)",
        [stamp, stamp],
    )
    # answered in the evening, then the next morning (the old rules: 0 days apart, a same-day update)
    log = [
        (3, "2026-01-05T21:00:00.000000+00:00", "2026-01-05T21:10:00.000000+00:00", 0, 1),
        (3, "2026-01-05T21:10:00.000000+00:00", "2026-01-07T21:10:00.000000+00:00", 1, 2),
        (3, "2026-01-06T09:00:00.000000+00:00", "2026-01-08T09:00:00.000000+00:00", 2, 2),
    ]
    for rating, at, due, before, after in log:
        old.conn.execute(
            "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, stability, "
            "difficulty) VALUES ('basic:q/card', ?, ?, 1000, ?, ?, ?, 2.3, 2.1)",
            [rating, at, due, before, after],
        )
    old.conn.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at, "
        "state, stability, difficulty, due, last_review, reps) VALUES ('basic:q/card', 'basic:q', 'card', 0, 'D', "
        "'q', 'a', 1, ?, ?, 2, 2.3065, 2.118, ?, ?, 3)",
        [stamp, stamp, log[-1][2], log[-1][1]],
    )
    old.conn.commit()
    rows_before = old.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    old.conn.close()

    collection = Collection.open(path, decks)
    state = collection.db.execute("SELECT state, stability, due_day FROM cards").fetchone()
    assert state[0] == 2 and state[1] > 5  # the morning answer is a day later: the long-term update
    assert state[2] == datetime_day("2026-01-08")
    assert collection.db.execute("SELECT count(*) FROM pending_rebuild").fetchone()[0] == 0
    after = collection.db.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    assert [row[:-6] for row in after] == [(*row, None, None, None) for row in rows_before]
    # no source (answered here); Anki ids: the millisecond of each answer, unique; answers (kind 0)
    assert [row[-6:] for row in after] == [
        (None, None, reviewlog.milliseconds(row[3]), 0, None, None) for row in rows_before
    ]
    assert rebuild(collection.db, collection.settings, write=False).changed == []
    assert (tmp_path / "collection.db.bak-before-0008_study_days").exists()


def datetime_day(text: str) -> int:
    from datetime import date

    return date.fromisoformat(text).toordinal()


def test_0012_gives_every_earlier_answer_the_millisecond_of_its_time_made_unique(tmp_path: Path) -> None:
    """Earlier answers get their Anki ids once: their millisecond, later ones moved on when they share one."""
    path = tmp_path / "collection.db"
    old = sqlite_utils.Database(path)
    store.migrations.apply(old, stop_before=["0012_reviews_origin"])
    stamp = "2026-01-05T08:00:00.000000+00:00"
    old.conn.execute(
        "INSERT INTO notes VALUES ('basic:q', 'basic', 'D', '{}', '[]', 'd.yaml', 1, 'h', ?, ?, NULL)",
        [stamp, stamp],
    )
    old.conn.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at) "
        "VALUES ('basic:q/card', 'basic:q', 'card', 0, 'D', 'q', 'a', 1, ?, ?)",
        [stamp, stamp],
    )
    times = [
        "2026-01-05T21:00:18.999648+00:00",  # a fraction SQLite's strftime would round up to the next second
        "2026-01-05T21:00:18.999900+00:00",  # the same millisecond: the next one
        "2026-01-05T21:00:19.000000+00:00",  # the millisecond after: taken, so the one after that
        "2026-01-05T09:00:00.000000+00:00",  # earlier (written later)
    ]
    for at in times:
        old.conn.execute(
            "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, stability, "
            "difficulty) VALUES ('basic:q/card', 3, ?, 1000, ?, 0, 1, 2.3, 2.1)",
            [at, at],
        )
    old.conn.commit()
    old.conn.close()
    db = store.open_collection(path)
    ids = [row[0] for row in db.execute("SELECT anki_id FROM reviews ORDER BY id")]
    first = reviewlog.milliseconds(times[0])
    assert first % 1000 == 999
    assert ids == [first, first + 1, first + 2, reviewlog.milliseconds(times[3])]
    # an answer given now in the same millisecond gets the next free id, as the migration numbers them
    reviewlog.append(
        db,
        reviewlog.Entry(
            "basic:q/card", Rating.GOOD, times[0], 1000, times[0], State.NEW, State.LEARNING, 2.3, 2.1
        ),
    )
    assert db.execute("SELECT max(anki_id) FROM reviews").fetchone()[0] == first + 3


def test_notes_made_in_anki_get_their_own_guid_back_when_migrated(tmp_path: Path) -> None:
    from flashcards import anki_ids
    from flashcards.foreign import note_id

    path = tmp_path / "collection.db"
    old = sqlite_utils.Database(path)
    store.migrations.apply(old, stop_before=["0020_imported_notes_guids"])
    imported, ours = note_id("Hb*/x`T:{Q"), "canary"
    for written in (imported, ours):
        old.conn.execute(
            "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, created_at, "
            "modified_at, anki_guid) VALUES (?, 'basic', 'D', '{}', '[]', 'd.yaml', 1, '', 'a', 'a', ?)",
            [written, anki_ids.derived_guid(written)],
        )
    old.conn.commit()
    old.conn.close()
    migrated = store.open_collection(path)
    guids = dict(migrated.execute("SELECT id, anki_guid FROM notes").fetchall())
    assert guids == {imported: "Hb*/x`T:{Q", ours: anki_ids.derived_guid(ours)}
