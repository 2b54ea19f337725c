"""The collection file: every earlier schema migrates on open, keeping every row, after a backup."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import store

NAMES = [migration.name for migration in store.migrations.pending(sqlite_utils.Database(memory=True))]
SAMPLE = {"INTEGER": 7, "REAL": 2.5, "TEXT": "2026-11-27T09:00:00.000000+00:00"}


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
    assert [name[:4] for name in NAMES] == [f"{n:04d}" for n in range(1, len(NAMES) + 1)]


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
                (row + 1 if kind == "INTEGER" else f"{table}-{row}") if pk else SAMPLE.get(kind, f"v{row}")
                for _, _, kind, _, _, pk in info
            ]
            marks = ", ".join("?" * len(values))
            old.conn.execute(f"INSERT INTO {table} VALUES ({marks})", values)
    old.conn.commit()
    old.conn.close()
    before, before_columns = contents(path), columns(path)

    migrated = store.open_collection(path)
    assert store.migrations.pending(migrated) == []
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
