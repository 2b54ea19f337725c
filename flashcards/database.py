"""The collection's connection, as every module uses it: ``execute``, ``atomic`` and ``conn`` over
one sqlite3 connection in autocommit mode (transactions are explicit).

sqlite-utils owns the schema: its migrations run when a collection is opened with one pending
(:mod:`flashcards.migrations`, given the connection as a ``sqlite_utils.Database``), and tests
and tools may pass a ``sqlite_utils.Database``, which has the same members, wherever a
:class:`Database` is expected. Day-to-day commands talk to SQLite through this class instead:
importing sqlite-utils (dateutil, pluggy and the rest) costs about as much as everything else
``cards status`` does.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_SAVEPOINTS = itertools.count()


class Database:
    """One open collection file (or an in-memory one)."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> sqlite3.Cursor:
        """Run one statement; outside a transaction a write commits at once (autocommit)."""
        if parameters is None:
            return self.conn.execute(sql)
        return self.conn.execute(sql, parameters)

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction around the block (a savepoint inside one already open): all or nothing."""
        conn = self.conn
        if conn.in_transaction:
            savepoint = f"cards_{next(_SAVEPOINTS)}"
            conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:  # an error can end the whole transaction, savepoints and all
                    conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        conn.execute("BEGIN")
        try:
            yield self
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
