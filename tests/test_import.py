"""``cards import`` on packages cards writes itself: echoes, dry runs, unknown ids, bad files."""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from flashcards import reviewlog, store
from flashcards.compiler import compile_decks
from flashcards.database import Database
from flashcards.export import export_package
from flashcards.scheduler import answer
from flashcards.settings import DeckSettings, Settings

from .test_cli import run

DECKS = {
    "a.yaml": "deck: A\nnotes:\n" + "".join(f"  - front: a{i}\n    back: x\n" for i in range(4)),
    "b.yaml": "deck: B\nnotes:\n  - type: reversed\n    front: b\n    back: y\n",
}
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
SETTINGS = Settings(defaults=DeckSettings(enable_fuzzing=False))


def compiled(folder: Path) -> sqlite_utils.Database:
    """A collection at ``folder/c.db`` compiled from decks A and B written under ``folder/decks``."""
    (folder / "decks").mkdir(parents=True)
    for name, text in DECKS.items():
        (folder / "decks" / name).write_text(text, encoding="utf-8")
    db = store.open_collection(folder / "c.db")
    compile_decks(db, folder / "decks", START)
    return db


@pytest.fixture
def studied(tmp_path: Path) -> Path:
    """A package exported with scheduling from another collection that studied decks A and B."""
    return studied_package(compiled(tmp_path / "elsewhere"), tmp_path)


def studied_package(db: sqlite_utils.Database, folder: Path) -> Path:
    """``folder/studied.apkg``: collection ``db`` (made by :func:`compiled`) with each card
    answered Good twice, exported with scheduling."""
    source = Path(db.conn.execute("PRAGMA database_list").fetchone()[2]).parent
    for index, (card_id,) in enumerate(db.execute("SELECT id FROM cards ORDER BY id").fetchall()):
        answer(db, card_id, 3, START + timedelta(seconds=index), 2000, SETTINGS)
        answer(db, card_id, 3, START + timedelta(minutes=11, seconds=index), 2000, SETTINGS)
    db.conn.close()
    path = export_package(
        store.open_collection(source / "c.db"), folder / "studied.apkg", with_scheduling=True
    )
    return path.path


def _reviews(db_path: Path) -> list[tuple[object, ...]]:
    db = sqlite_utils.Database(db_path)
    try:
        return db.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    finally:
        db.conn.close()


def test_dry_run_reports_and_writes_nothing_then_the_import_writes(
    studied: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    for name, text in DECKS.items():
        write_deck(name, text)
    assert run("compile")[0] == 0
    code, out, _ = run("import", str(studied), "--dry-run")
    assert code == 0
    assert "reviews would import: 12;" in out and "Dry run: nothing was written." in out
    assert _reviews(db_path) == []
    code, out, err = run("import", str(studied))
    assert (code, err) == (0, "")
    assert "cards mapped to this collection: 6" in out and "reviews imported: 12;" in out
    rows = _reviews(db_path)
    sources = sqlite_utils.Database(db_path).execute("SELECT DISTINCT source FROM reviews").fetchall()
    assert len(rows) == 12 and sources == [(reviewlog.SOURCE_ANKI,)]
    code, out, _ = run("import", str(studied))
    assert "reviews imported: 0;" in out and "already imported: 12;" in out
    assert _reviews(db_path) == rows
    assert run("rebuild", "--check")[0] == 0


def test_our_own_export_comes_back_as_echoes(studied: Path, tmp_path: Path) -> None:
    shutil.copy(tmp_path / "elsewhere" / "c.db", tmp_path / "collection.db")
    shutil.copytree(tmp_path / "elsewhere" / "decks", tmp_path / "decks", dirs_exist_ok=True)
    before = _reviews(tmp_path / "collection.db")
    code, out, _ = run("import", str(studied))
    assert code == 0 and "reviews imported: 0; echoes of reviews made here skipped: 12;" in out
    assert _reviews(tmp_path / "collection.db") == before


def test_a_cards_id_that_names_no_card_here_is_a_warning(
    studied: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    write_deck("a.yaml", DECKS["a.yaml"])
    code, out, err = run("import", str(studied))
    assert code == 0
    assert "reviews imported: 8;" in out
    assert "warning: 1 note names a card id that is not in this collection (reversed:b)" in err


def test_the_same_file_again_is_answered_without_reading_it_and_reports_the_same(
    studied: Path, write_deck: Callable[..., Path], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards import importing

    for name, text in DECKS.items():
        write_deck(name, text)
    assert run("import", str(studied))[0] == 0
    rows = _reviews(db_path)

    def unread(path: Path) -> None:
        raise AssertionError("the file was read again")

    monkeypatch.setattr(importing, "open_anki", unread)
    for extra in ((), ("--dry-run",)):
        code, out, err = run("import", str(studied), *extra)
        assert (code, err) == (0, "")
        assert "cards mapped to this collection: 6" in out
        assert "reviews imported: 0;" in out or "reviews would import: 0;" in out
        assert "already imported: 12;" in out and "nothing new: the same file was imported in full on" in out
    assert _reviews(db_path) == rows
    copy = studied.with_name("copy.apkg")  # the same bytes elsewhere are the same file
    shutil.copy(studied, copy)
    assert "nothing new" in run("import", str(copy))[1]


def test_a_file_whose_notes_were_not_all_here_is_read_again_once_they_are(
    studied: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    write_deck("a.yaml", DECKS["a.yaml"])
    assert "reviews imported: 8;" in run("import", str(studied))[1]
    write_deck("b.yaml", DECKS["b.yaml"])
    assert run("compile")[0] == 0
    code, out, err = run("import", str(studied))
    assert (code, err) == (0, "")
    assert "reviews imported: 4; echoes of reviews made here skipped: 0; already imported: 8;" in out
    assert "nothing new" not in out
    assert "nothing new" in run("import", str(studied))[1]  # now it was taken in whole


def test_a_file_is_read_again_when_the_log_holds_fewer_answers_from_anki(
    studied: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    for name, text in DECKS.items():
        write_deck(name, text)
    assert run("import", str(studied))[0] == 0
    db = sqlite_utils.Database(db_path)
    with db.conn:  # what no command does: an answer from Anki taken out of the log
        db.execute("DELETE FROM reviews WHERE id = (SELECT max(id) FROM reviews)")
    db.conn.close()
    code, out, _ = run("import", str(studied))
    assert code == 0 and "reviews imported: 1;" in out and "nothing new" not in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, not a package", "is not an Anki file (neither a zip package nor an SQLite collection)"),
        (b"", "is not an Anki file"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "not a readable Anki collection"),
    ],
)
def test_a_file_that_is_not_anki_exits_1(tmp_path: Path, db_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "package.apkg"
    path.write_bytes(content)
    code, out, err = run("import", str(path))
    assert code == 1 and out == ""
    assert message in err and "Traceback" not in err


def test_a_missing_file_a_directory_a_pipe_or_no_name_exits_1(tmp_path: Path) -> None:
    code, _, err = run("import", str(tmp_path / "nope.apkg"))
    assert code == 1 and "nope.apkg does not exist; give the path of an Anki export" in err
    code, _, err = run("import", str(tmp_path))
    assert code == 1 and "is a directory" in err
    pipe = tmp_path / "pipe.apkg"
    os.mkfifo(pipe)
    code, _, err = run("import", str(pipe))  # read, it would wait for a writer for ever
    assert code == 1 and "is not a regular file" in err
    code, _, err = run("import", "")
    assert code == 2 and "FILE is empty" in err


def test_a_package_whose_compressed_collection_is_cut_short_exits_1(studied: Path, tmp_path: Path) -> None:
    import zipfile

    import zstandard

    with zipfile.ZipFile(studied) as source:
        inner = source.read("collection.anki2")
    packed = zstandard.ZstdCompressor().compress(inner)
    cut = tmp_path / "cut.apkg"
    with zipfile.ZipFile(cut, "w") as target:
        target.writestr("collection.anki21b", packed[: len(packed) // 2])
    code, out, err = run("import", str(cut))
    assert code == 1 and out == ""
    assert "the collection inside is cut short (a truncated package); export it again" in err


def test_progress_counts_the_cards_merged_up_to_those_mapped(
    studied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards import importing, merge

    monkeypatch.setattr(merge, "CHUNK_CARDS", 2)  # six cards: three chunks
    db = compiled(tmp_path / "here")
    seen: list[tuple[int, int]] = []
    report = importing.import_file(
        db, SETTINGS, studied, progress=lambda done, total: seen.append((done, total))
    )
    assert report.cards_mapped == 6 and report.imported == 12
    assert seen == [(2, 6), (4, 6), (6, 6), (6, 6)]


def test_a_large_import_builds_the_indexes_again_and_logs_the_same(
    studied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path that drops indexes and the journal trigger while it adds rows gives the same log,
    the same journal lines (the journal on), and the same schema after."""
    from flashcards import importing, journal, merge

    modes = _journal_modes(monkeypatch)
    logs = []
    for threshold in (10**9, 0):  # the row-by-row path, then the bulk one
        monkeypatch.setattr(merge, "BULK_ROWS", threshold)
        monkeypatch.setattr(merge, "QUIET_TRIGGER_ROWS", threshold)
        db = compiled(tmp_path / f"at-{threshold}")
        assert journal.turn_on(db)
        schema = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        assert {"journal_add", "reviews_stats", "cards_status"} <= {row[1] for row in schema}
        report = importing.import_file(db, SETTINGS, studied)
        assert report.imported == 12  # two answers to each of six cards
        assert modes.pop() == ("wal" if threshold else "delete")  # the bulk one under the rollback journal
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL again
        assert not (tmp_path / f"at-{threshold}" / "c.db-journal").exists()
        assert gc.isenabled()  # the cycle collector rests during a large merge only
        assert db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        lines = db.execute("SELECT review_id, written FROM journal_lines ORDER BY review_id").fetchall()
        assert lines == [(review_id, 0) for (review_id,) in db.execute("SELECT id FROM reviews ORDER BY id")]
        logs.append(
            db.execute("SELECT * FROM reviews ORDER BY id").fetchall()
            + db.execute("SELECT * FROM cards ORDER BY id").fetchall()
            + lines
        )
        db.conn.close()
    assert logs[0] == logs[1]


def _journal_modes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The journal mode each merge (merge.take_in) ran under, appended as it runs."""
    from flashcards import merge

    modes: list[str] = []
    take_in = merge.take_in

    def recording(db: Database, *args: Any, **kwargs: Any) -> merge.MergeResult:
        modes.append(db.execute("PRAGMA journal_mode").fetchone()[0])
        # power-safe in either: NORMAL in the write-ahead log, FULL under the rollback journal
        assert db.execute("PRAGMA synchronous").fetchone()[0] == (2 if modes[-1] == "delete" else 1)
        return take_in(db, *args, **kwargs)

    monkeypatch.setattr(merge, "take_in", recording)
    return modes


def test_a_large_import_with_the_collection_open_elsewhere_stays_in_the_write_ahead_log(
    studied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review session (another connection) has the collection open: the rollback journal
    would make it wait, so the large import goes on in the write-ahead log, and the session
    reads the collection as it was while the import writes, then the answers."""
    from flashcards import importing, merge

    monkeypatch.setattr(merge, "BULK_ROWS", 0)
    modes = _journal_modes(monkeypatch)
    db = compiled(tmp_path / "here")
    session = sqlite3.connect(tmp_path / "here" / "c.db", timeout=0)
    assert session.execute("SELECT count(*) FROM cards").fetchone() == (6,)
    take_in = merge.take_in

    def read_meanwhile(*args: Any, **kwargs: Any) -> merge.MergeResult:
        result = take_in(*args, **kwargs)
        assert session.execute("SELECT count(*) FROM reviews").fetchone() == (0,)  # not kept waiting
        return result

    monkeypatch.setattr(merge, "take_in", read_meanwhile)
    assert importing.import_file(db, SETTINGS, studied).imported == 12
    assert modes == ["wal"]
    assert session.execute("SELECT count(*) FROM reviews").fetchone() == (12,)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    session.close()


_KILLED_IMPORT = """
import sys, time
from pathlib import Path
from flashcards import importing, merge, reviewlog, store
from flashcards.settings import DeckSettings, Settings

merge.BULK_ROWS = 0
append_many = reviewlog.append_many

def append_and_hang(db, rows, **kwargs):
    db.execute("PRAGMA cache_size = 2")  # the rows reach the file (and the journal) before the commit
    append_many(db, rows, **kwargs)
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    print(mode, Path(sys.argv[1] + "-journal").exists(), flush=True)
    time.sleep(60)

reviewlog.append_many = append_and_hang
db = store.open_collection(Path(sys.argv[1]))
importing.import_file(db, Settings(defaults=DeckSettings(enable_fuzzing=False)), Path(sys.argv[2]))
"""


def test_kill_9_during_a_large_import_under_the_rollback_journal_leaves_the_collection_as_it_was(
    studied: Path, tmp_path: Path
) -> None:
    """Killed with rows of a large import in the file: the hot journal it leaves is rolled back
    when the collection is next opened, which is back in the write-ahead log."""
    import os
    import signal
    import subprocess
    import sys

    db = compiled(tmp_path / "here")
    before = db.execute("SELECT * FROM cards ORDER BY id").fetchall()
    db.conn.close()
    path = tmp_path / "here" / "c.db"
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED_IMPORT, str(path), str(studied)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            written = child.stdout.readline().split()  # the journal mode, and a hot journal beside the file
            assert written == ["delete", "True"]
        finally:
            os.kill(child.pid, signal.SIGKILL)
    assert Path(f"{path}-journal").stat().st_size > 0
    db = store.open_collection(path)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
    assert db.execute("SELECT * FROM cards ORDER BY id").fetchall() == before
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master")} >= {
        "reviews_anki",
        "reviews_source",
        "reviews_history",
        "reviews_stats",
        "journal_add",
    }
    db.conn.close()


def test_a_command_opening_the_collection_while_a_large_import_writes_is_told_it_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the rollback journal the import holds the file while it writes: a command opening it
    meanwhile waits its busy timeout, then says so (and what to do), not that the file is unusable."""
    from flashcards.errors import CardsError

    db = compiled(tmp_path / "here")
    assert db.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    db.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store, "OPEN_TIMEOUT_MS", 50)
    monkeypatch.setattr(store, "WAIT_FOR_WRITER_S", 0.3)
    waits: list[float] = []
    began = time.monotonic()
    with pytest.raises(CardsError, match=r"c\.db is busy: another cards command is writing it .* try again"):
        store.open_collection(tmp_path / "here" / "c.db", lambda: waits.append(time.monotonic()))
    assert len(waits) == 1 and waits[0] - began < 0.3 <= time.monotonic() - began
    db.execute("ROLLBACK")
    assert store.open_collection(tmp_path / "here" / "c.db").execute("PRAGMA journal_mode").fetchone() == (
        "wal",
    )


@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
def test_a_command_opening_the_collection_while_a_large_import_writes_waits_for_it_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lock: str
) -> None:
    """A command started while a large import writes (a write lock; the file itself, once the
    import's pages spill) says that it waits, once, and opens the collection when the import ends."""
    import threading

    compiled(tmp_path / "here").conn.close()
    path = tmp_path / "here" / "c.db"
    holding, release = threading.Event(), threading.Event()

    def large_import() -> None:
        writer = sqlite3.connect(path, isolation_level=None)
        assert writer.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
        writer.execute(f"BEGIN {lock}")
        writer.execute("INSERT INTO pending_rebuild VALUES ('a test')")
        holding.set()
        release.wait(10)
        writer.execute("ROLLBACK")
        writer.close()

    monkeypatch.setattr(store, "OPEN_TIMEOUT_MS", 50)
    thread = threading.Thread(target=large_import)
    thread.start()
    assert holding.wait(10)
    waits: list[bool] = []

    def waiting() -> None:
        waits.append(True)
        threading.Timer(0.5, release.set).start()

    db = store.open_collection(path, waiting)
    assert release.is_set()  # opened only once the import was let go
    thread.join()
    assert waits == [True]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_bulk_merge_keeps_anki_ids_apart_as_the_row_by_row_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the unique index of Anki ids while it adds rows, a large merge still gives each id
    once: an id the log had, or one an earlier chunk gave, is given up and numbered from the
    answer's millisecond, as row by row. (Row by row, an answer is numbered with its chunk; in
    bulk, at the end: an answer that wants the same millisecond may come first.)"""
    from flashcards import clock, merge
    from flashcards.states import State

    def offer(card_id: str, at: datetime, anki_id: int | None, source_id: str) -> merge.Offer:
        incoming = merge.Incoming(
            card_id=card_id,
            rating=3,
            reviewed_at=clock.to_db(at),
            duration_ms=1000,
            source="anki",
            source_id=source_id,
            state=State.LEARNING,
            due=clock.to_db(at + timedelta(minutes=10)),
            due_day=None,
            anki_id=anki_id,
        )
        return merge.Offer(card_id, "anki", [anki_id], lambda _: source_id, lambda _: [incoming])

    monkeypatch.setattr(merge, "CHUNK_CARDS", 1)  # a card a chunk: ids collide across chunks
    logs = []
    for threshold in (10**9, 0):
        monkeypatch.setattr(merge, "BULK_ROWS", threshold)
        monkeypatch.setattr(merge, "QUIET_TRIGGER_ROWS", threshold)
        db = compiled(tmp_path / f"at-{threshold}")
        cards = [row[0] for row in db.execute("SELECT id FROM cards ORDER BY id")]
        answer(db, cards[0], 3, START, 2000, SETTINGS)  # its Anki id: START's millisecond
        here = reviewlog.milliseconds(clock.to_db(START))
        later = START + timedelta(hours=1)
        offers = [
            offer(cards[1], later, here, "1:1"),  # taken by the answer logged here
            offer(cards[2], later, here + 7, "2:1"),
            offer(cards[3], later + timedelta(seconds=1), here + 7, "3:1"),  # taken by the chunk before
            offer(cards[4], later, None, "4:1"),  # numbered from its millisecond
        ]
        with db.conn:
            db.execute("BEGIN")
            with merge.bulk_writes(db, 10):
                assert (id(db.conn) in merge._BULK) == (threshold == 0)
                merged = merge.take_in(db, SETTINGS, offers)
        assert merged.added == 4
        rows = db.execute("SELECT card_id, anki_id FROM reviews ORDER BY id").fetchall()
        ids = [anki_id for _, anki_id in rows]
        assert len(set(ids)) == 5 and None not in ids
        assert ids[0] == here and ids[2] == here + 7  # the first to hold an id keeps it
        hour = reviewlog.milliseconds(clock.to_db(later))
        assert ids[3] == hour + 1000  # its own millisecond
        assert {ids[1], ids[4]} == {hour, hour + 1}  # numbered, or kept, from their millisecond
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert {row[1] for row in db.execute("SELECT type, name FROM sqlite_master")} >= {
            "reviews_anki",
            "reviews_source",
            "reviews_history",
        }
        logs.append(rows)
        db.conn.close()
    assert [card for card, _ in logs[0]] == [card for card, _ in logs[1]]


def test_a_busy_collection_here_is_not_reported_as_the_anki_file_open_in_anki(
    studied: Path, tmp_path: Path
) -> None:
    """Another process writes this collection while the import waits for it: the error is this
    collection's (busy), as every command reports it, not the Anki file's; nothing is written."""
    from flashcards import importing

    db = compiled(tmp_path / "here")
    db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(tmp_path / "here" / "c.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            importing.import_file(db, SETTINGS, studied)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert db.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
    assert importing.import_file(db, SETTINGS, studied).imported == 12


def test_anki_locking_its_collection_while_the_import_reads_it_is_reported_as_anki_open(
    studied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anki opens the profile's collection.anki2 after the cards are mapped, before its review
    log is read: the error names the Anki file (close Anki first), not this collection."""
    import zipfile

    from flashcards import importing
    from flashcards.errors import CardsError

    profile = tmp_path / "collection.anki2"
    with zipfile.ZipFile(studied) as package:
        name = next(name for name in package.namelist() if name.startswith("collection.anki2"))
        profile.write_bytes(package.read(name))
    db = compiled(tmp_path / "here")
    mapping = importing._map_cards
    anki: list[sqlite3.Connection] = []

    def map_then_anki_opens(*args: Any) -> dict[int, str]:
        mapped = mapping(*args)
        anki.append(sqlite3.connect(profile, isolation_level=None))
        anki[0].execute("BEGIN EXCLUSIVE")
        return mapped

    monkeypatch.setattr(importing, "_map_cards", map_then_anki_opens)
    with pytest.raises(CardsError, match=r"collection\.anki2 is open in Anki .* close Anki first"):
        importing.import_file(db, SETTINGS, profile)
    anki[0].execute("ROLLBACK")
    assert db.execute("SELECT count(*) FROM reviews").fetchone() == (0,)


def test_damage_in_this_collection_met_by_an_import_is_not_blamed_on_the_anki_file(
    studied: Path, tmp_path: Path
) -> None:
    """An index of the log here is damaged: the import fails with SQLite's error about this
    collection, not 'the Anki file is not readable'."""
    from flashcards import importing

    db = compiled(tmp_path / "here")
    path = tmp_path / "here" / "c.db"
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'reviews_anki'").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.conn.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\x0d" + b"\xff" * 64)  # the index's root page: garbage
    db = store.open_collection(path)
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        importing.import_file(db, SETTINGS, studied)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (3, "its collection (collection.anki21b) is missing; only the placeholder Anki writes"),
        (4, "an Anki package of a newer format (4) than this version of cards knows"),
    ],
)
def test_a_package_whose_meta_says_another_collection_exits_1(
    studied: Path, tmp_path: Path, version: int, message: str
) -> None:
    import zipfile

    with zipfile.ZipFile(studied) as source:
        inner = source.read("collection.anki2")  # as the placeholder for old versions is named
    package = tmp_path / "meta.apkg"
    with zipfile.ZipFile(package, "w") as target:
        target.writestr("meta", bytes([0x08, version]))  # PackageMetadata { version = 1 }
        target.writestr("collection.anki2", inner)
    code, out, err = run("import", str(package))
    assert code == 1 and out == ""
    assert message in err
