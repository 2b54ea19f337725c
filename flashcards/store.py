"""The collection: one SQLite file holding notes, cards (with their FSRS state) and the review log.

Opened in WAL mode with a busy timeout, so a second process waits instead of failing. Schema
changes are numbered migrations applied on open, after a backup of the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flashcards.database import Database
from flashcards.errors import CardsError
from flashcards.interrupts import interruptible

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
# A large import or merge holds the file under the rollback journal while it writes (a minute, at
# most, for a million answers): opening it meanwhile is tried again (every OPEN_RETRY_S, each try
# waiting OPEN_TIMEOUT_MS) for this long before the command gives up.
WAIT_FOR_WRITER_S = 600
OPEN_TIMEOUT_MS = 200
OPEN_RETRY_S = 0.2
APPLICATION_ID = 0x43524453  # "CRDS" in the SQLite header: set by every migration (older files have 0)
# The number of migrations (flashcards.migrations): every migrated collection keeps it as its
# user_version, so one that has it, ours by its application id, is opened without another check.
SCHEMA_VERSION = 20
_HEADER = b"SQLite format 3\x00"
MIGRATIONS_TABLE = "_sqlite_migrations"  # where sqlite-utils records the migrations applied
MIGRATION_SET = "cards"  # the name of our set of them there


def __getattr__(name: str) -> Any:
    if name == "migrations":  # the sqlite-utils migrations, imported when asked for
        from flashcards.migrations import migrations

        return migrations
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Busy(CardsError):
    """Another connection holds the collection under the rollback journal (a large import or merge)."""


def open_collection(path: Path, waiting: Callable[[], None] | None = None) -> Database:
    """Open (creating if needed) the collection at ``path`` and bring its schema up to date.

    Only a new path, an empty file, an empty SQLite database or a ``cards`` collection whose
    migrations this version knows is opened; anything else is refused with the file untouched.
    A collection whose header says it is ours and current is opened at once. While another
    command holds it (a large import or merge writing under the rollback journal), opening waits
    for it to end, up to ``WAIT_FOR_WRITER_S``; ``waiting`` is called once, when the wait begins.
    """
    try:
        return _open(path)
    except _Busy:
        pass
    if waiting is not None:
        waiting()
    deadline = time.monotonic() + WAIT_FOR_WRITER_S
    with interruptible(sys.stdin is not None and sys.stdin.isatty()):
        while True:
            time.sleep(OPEN_RETRY_S)
            try:
                return _open(path)
            except _Busy:
                if time.monotonic() >= deadline:
                    raise


def _open(path: Path) -> Database:
    """One try at :func:`open_collection`; _Busy if another connection holds the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        current = _current(path)
        if not current and (path.exists() or path.is_symlink()):
            _require_collection(path)
        connection = sqlite3.connect(str(path), timeout=OPEN_TIMEOUT_MS / 1000, isolation_level=None)
    except OSError as error:
        raise CardsError(f"cannot open the collection {path}: {error.strerror or error}") from None
    except sqlite3.Error as error:
        raise CardsError(f"cannot open the collection {path}: {error}") from None
    db = Database(connection)
    try:
        connection.execute(f"PRAGMA busy_timeout = {OPEN_TIMEOUT_MS}")  # tried again: open_collection
        try:
            connection.execute("PRAGMA journal_mode = WAL")  # the first statement that needs the file
        except sqlite3.OperationalError as error:
            if _is_busy(error) and _in_rollback_mode(path):  # what a large merge switches to
                raise _Busy(
                    f"{path} is busy: another cards command is writing it (a large import or merge "
                    f"takes a while); try again when it ends ({error})"
                ) from None
            raise
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # the log's view
            if current:  # the file's header is behind its write-ahead log: check it as any other
                _require_collection(path)
            _bring_up_to_date(db, path)
    except sqlite3.DatabaseError as error:
        connection.close()
        if _is_busy(error):  # another process writing it, past the busy timeout
            raise CardsError(
                f"{path} is busy: another process is writing it; try again when it ends ({error})"
            ) from None
        raise CardsError(f"{path}: not a usable cards collection ({error})") from None
    except BaseException:
        connection.close()
        raise
    return db


def _is_busy(error: sqlite3.DatabaseError) -> bool:
    text = str(error)
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _in_rollback_mode(path: Path) -> bool:
    """Whether the file's header says it is in SQLite's rollback-journal mode (bytes 18 and 19
    are 1; 2 in the write-ahead log, where ``cards`` keeps every collection but while a large
    import or merge writes: merge.rollback_journal)."""
    return _header(path)[18:20] == b"\x01\x01"


def _header(path: Path) -> bytes:
    """The file's first 100 bytes (SQLite's header), as many as it has; none if it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(100)
    except OSError:
        return b""


def _current(path: Path) -> bool:
    """Whether the file's header says it is a cards collection of this version's schema."""
    header = _header(path)
    return (
        len(header) == 100
        and header.startswith(_HEADER)
        and int.from_bytes(header[68:72], "big") == APPLICATION_ID
        and int.from_bytes(header[60:64], "big") == SCHEMA_VERSION
    )


def _bring_up_to_date(db: Database, path: Path) -> None:
    """Apply pending migrations, or only record the schema version a collection already has."""
    from flashcards.migrations import migrations

    if migrations.pending(_utils(db)):
        _migrate(db, path)
        return
    with contextlib.suppress(sqlite3.OperationalError):  # read-only: checked again at every open
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _utils(db: Database) -> sqlite_utils.Database:
    """The same connection as sqlite-utils wraps it, for its migrations."""
    import sqlite_utils

    return sqlite_utils.Database(db.conn, execute_plugins=False)  # no plugins: saves a package scan


def _migrate(db: Database, path: Path) -> None:
    """Apply pending migrations under a write lock, so processes opening a new file at once don't race."""
    from flashcards.migrations import migrations

    connection = db.conn
    utils = _utils(db)
    connection.execute("BEGIN IMMEDIATE")
    try:
        pending = migrations.pending(utils)  # again, inside the lock: another process may have migrated
        if pending:
            if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                _backup_committed(path, path.with_name(f"{path.name}.bak-before-{pending[0].name}"))
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            migrations.apply(utils)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _require_collection(path: Path) -> None:
    """Raise CardsError unless ``path`` is an empty file or database, or a collection this version knows."""
    shown = str(path)
    if not path.is_file():
        raise CardsError(f"{shown}: not a regular file; pass --db with the path of a collection file")
    with path.open("rb") as handle:
        header = handle.read(100)
    if not header:
        return
    if len(header) < 100 or not header.startswith(_HEADER):
        raise CardsError(
            f"{shown}: not a usable cards collection (not an SQLite database); it was left untouched"
        )
    application = int.from_bytes(header[68:72], "big")
    if application not in (0, APPLICATION_ID):
        raise CardsError(
            f"{shown}: not a cards collection (another program's SQLite file, application id {application:#x}); it was left untouched"
        )
    schema = _read_schema(path)
    if schema is None:  # a collection of this version (its header is behind its write-ahead log)
        return
    tables, applied = schema
    if not tables:
        return
    if applied is None:
        shown_tables = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        raise CardsError(
            f"{shown}: not a cards collection (it holds other tables: {shown_tables}); it was left untouched"
        )
    from flashcards.migrations import migrations

    known = {m.name for m in migrations.pending(_utils(open_memory(migrate=False)))}
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise CardsError(
            f"{shown}: written by a newer version of cards (unknown migrations: {', '.join(unknown)}); "
            "it was left untouched: upgrade cards to open it"
        )


def _read_schema(path: Path) -> tuple[set[str], list[str] | None] | None:
    """The tables of a database and its applied ``cards`` migrations (None: no ``cards``
    migrations); None instead when it is a collection of this version, by its application id and
    user version."""
    # Read-only; and without locking when there is no write-ahead log, so nothing (not even a
    # -wal or -shm file) is created beside a file that may not be ours.
    immutable = "" if path.with_name(f"{path.name}-wal").exists() else "&immutable=1"
    uri = f"file:{quote(str(path.resolve()))}?mode=ro{immutable}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise CardsError(f"cannot open the collection {path}: {error}") from None
    try:
        ours = connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        if ours and connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return None
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        }
        if MIGRATIONS_TABLE not in tables:
            return tables, None
        names = [
            row[0]
            for row in connection.execute(
                f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid", [MIGRATION_SET]
            )
        ]
        return tables, names or None
    except sqlite3.DatabaseError as error:
        raise CardsError(f"{path}: not a usable cards collection ({error}); it was left untouched") from None
    finally:
        connection.close()


def discard(db: Database, path: Path) -> None:
    """Close a collection this process has just created and remove its files."""
    db.conn.close()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(f"{path.name}{suffix}").unlink(missing_ok=True)


def open_memory(migrate: bool = True) -> Database:
    """Open an empty in-memory collection (for tests and simulations); ``migrate=False``: no tables."""
    db = Database(sqlite3.connect(":memory:", isolation_level=None))
    if migrate:
        from flashcards.migrations import migrations

        migrations.apply(_utils(db))
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return db


def backup(db: Database, target: Path) -> None:
    """Copy the collection to ``target`` with SQLite's online backup."""
    destination = sqlite3.connect(str(target))
    try:
        db.conn.backup(destination)
    finally:
        destination.close()


def _backup_committed(path: Path, target: Path) -> None:
    # A second connection reads the last committed state (WAL readers don't wait for the writer);
    # backing up from the connection holding the write lock would wait on itself.
    source = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        backup(Database(source), target)
    finally:
        source.close()
