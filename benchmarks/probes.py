"""Programs the benchmark runs in their own process: measured in-process, or for comparison.

``python benchmarks/probes.py NAME ARGS...``:

- ``answers DB NOW COUNT``: answer COUNT cards of a session, timing each committed answer;
  prints ``{"p50": ms, "p95": ms, "answers": n}`` as JSON.
- ``genanki DB OUT``: genanki alone writing the notes of collection DB (fields as they are)
  to the package OUT.
- ``anki-import PACKAGE DIR``: the official Anki library importing PACKAGE (with scheduling)
  into a new collection in DIR.
- ``generate DB NOTES REVIEWS_PER_CARD DAYS SEED NOW``: the simulated learner building a
  collection (in its own process, so the benchmark's own memory stays small: a child's peak
  RSS counts what it inherits before it starts the command).
- ``anki-due ANKI_COLLECTION``: the official Anki library opening a collection and counting
  what is due in each deck.
- ``log-floor DB SCRATCH``: what SQLite alone takes to write the review log of collection DB
  (an import's million rows, say) into a new file SCRATCH, as a large merge writes it (rows
  added with no index, the log's indexes built after on two threads, the commit and the
  checkpoint), as the log keeps rows in the write-ahead log, then under the rollback journal (as
  a large merge writes them), then narrowed (times as integer milliseconds, no text source ids)
  under the rollback journal: no Python work but binding the values. Prints seconds per phase
  as JSON.
- ``read-floor PACKAGE``: what an import takes to open an Anki package (unzipped, its note types,
  decks and cards read) and read its whole review log card by card, as ``cards import`` reads
  them, with nothing done with the rows. Prints seconds per phase and the row count as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def answers(db_path: str, now_text: str, count: str) -> None:
    """Answer cards as a session does (next card, then answer) and time each answer's commit."""
    from flashcards import clock
    from flashcards.collection import Collection
    from flashcards.controller import ReviewController
    from flashcards.settings import DeckSettings, Settings
    from flashcards.states import Rating
    from flashcards.store import open_collection

    db = open_collection(Path(db_path))
    unlimited = DeckSettings(new_per_day=1_000_000, reviews_per_day=1_000_000)
    moment = [clock.parse_instant(now_text)]
    collection = Collection(db, Path(db_path), Path(db_path).parent / "decks", Settings(unlimited))
    session = ReviewController(collection, now=lambda: moment[0], fixed_clock=True)
    timings = []
    for index in range(int(count)):
        card = session.card()
        if card is None:
            break
        session.reveal()
        rating = Rating(1 + index % 4 if card.kind == "new" else 3 + index % 2)
        started = time.perf_counter()
        session.rate(rating)
        timings.append((time.perf_counter() - started) * 1000)
        moment[0] += timedelta(seconds=5)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    print(json.dumps({"p50": statistics.median(timings), "p95": p95, "answers": len(timings)}))


def genanki_alone(db_path: str, out: str) -> None:
    """Build and write a package of the collection's notes with genanki and nothing else."""
    import sqlite3

    import genanki

    connection = sqlite3.connect(db_path)
    types = {
        name: json.loads(definition)
        for name, definition in connection.execute("SELECT name, definition FROM note_types")
    }
    models = {}
    for index, (name, definition) in enumerate(sorted(types.items())):
        fields = [{"name": field} for field in definition["fields"]]
        templates = [
            {"name": t["name"], "qfmt": t["front"], "afmt": t["back"]} for t in definition["templates"]
        ]
        kind = genanki.Model.CLOZE if definition.get("kind") == "cloze" else genanki.Model.FRONT_BACK
        models[name] = genanki.Model(1_600_000_000 + index, name, fields, templates, model_type=kind)
    decks: dict[str, Any] = {}
    rows = connection.execute("SELECT id, type, deck, fields, tags FROM notes WHERE retired_at IS NULL")
    for note_id, note_type, deck, fields, tags in rows:
        if deck not in decks:
            decks[deck] = genanki.Deck(1_700_000_000 + len(decks), deck)
        values = json.loads(fields)
        decks[deck].add_note(
            genanki.Note(
                model=models[note_type],
                fields=[values.get(f["name"], "") for f in models[note_type].fields],
                tags=json.loads(tags),
                guid=genanki.guid_for(note_id),
            )
        )
    genanki.Package(list(decks.values())).write_to_file(out, timestamp=0)


def anki_import(package: str, directory: str) -> None:
    """Import a package into a new Anki collection, with its scheduling."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    collection = Collection(str(Path(directory) / "collection.anki2"))
    options = ImportAnkiPackageOptions(with_scheduling=True)
    collection.import_anki_package(ImportAnkiPackageRequest(package_path=package, options=options))
    collection.close()


def anki_due(path: str) -> None:
    """Open an Anki collection and count what is due per deck (Anki's deck list)."""
    from anki.collection import Collection

    collection = Collection(path)
    tree = collection.sched.deck_due_tree()
    print(sum(child.review_count + child.learn_count + child.new_count for child in tree.children))
    collection.close()


def generate(db_path: str, notes: str, reviews_per_card: str, days: str, seed: str, now: str) -> None:
    """Generate a simulated collection."""
    from datetime import datetime

    from flashcards.simulate import generate as simulate

    simulate(
        Path(db_path),
        notes=int(notes),
        reviews_per_card=int(reviews_per_card),
        days=int(days),
        seed=int(seed),
        now=datetime.fromisoformat(now),
    )


def forget(db_path: str) -> None:
    """Empty a collection's review log and make every card new: the notes stay (an import's target)."""
    import sqlite3

    from flashcards.states import CACHE_COLUMNS

    connection = sqlite3.connect(db_path, isolation_level=None)
    new = ", ".join(
        f"{column} = NULL" for column in CACHE_COLUMNS if column not in ("state", "reps", "lapses")
    )
    connection.execute("DELETE FROM reviews")
    connection.execute(f"UPDATE cards SET state = 0, reps = 0, lapses = 0, suspended = 0, leech = 0, {new}")
    connection.execute("VACUUM")
    connection.close()


def anki_export(path: str, out: str) -> None:
    """Export an Anki collection (every deck, no scheduling) to a package with the Anki library."""
    from anki.collection import Collection, ExportAnkiPackageOptions

    collection = Collection(path)
    options = ExportAnkiPackageOptions(with_scheduling=False, with_deck_configs=False, with_media=True)
    collection.export_anki_package(out_path=out, options=options, limit=None)
    collection.close()


def study_all(db_path: str, decks: str, now_text: str) -> None:
    """Compile the decks and answer every card Easy at ``now``: then nothing is due that day."""
    from datetime import datetime

    from flashcards.collection import Collection
    from flashcards.scheduler import answer

    now = datetime.fromisoformat(now_text)
    collection = Collection.open(Path(db_path), Path(decks))
    collection.compile(now)
    for (card_id,) in collection.db.execute("SELECT id FROM cards WHERE retired_at IS NULL").fetchall():
        answer(collection.db, card_id, 4, now, 3000, collection.settings)


def log_floor(db_path: str, scratch: str) -> None:
    """The SQLite part of writing a collection's log, as logged and narrowed (see the module's doc).

    The log's table and indexes are made as the collection has them (``sqlite_master``); the
    narrowed table only stores its two times as integers."""
    import os
    import sqlite3

    from flashcards import reviewlog

    columns = ", ".join(reviewlog.COLUMNS)
    source = sqlite3.connect(db_path)
    table = source.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'reviews'"
    ).fetchone()[0]
    indexes = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reviews' AND sql IS NOT NULL"
        )
    ]
    wide = source.execute(f"SELECT {columns} FROM reviews ORDER BY id").fetchall()
    source.close()
    at, due, source_id = (reviewlog.COLUMNS.index(name) for name in ("reviewed_at", "due", "source_id"))
    narrow = []  # integer times; an Anki row's source id is its Anki card and review ids: kept as numbers
    for row in wide:
        values = list(row)
        values[at], values[due] = reviewlog.milliseconds(row[at]), reviewlog.milliseconds(row[due])
        values[source_id] = None
        narrow.append(values)
    narrow_table = table.replace("reviewed_at TEXT", "reviewed_at INTEGER").replace("due TEXT", "due INTEGER")
    assert narrow_table.count("INTEGER") == table.count("INTEGER") + 2, "the log's two times as integers"

    def remove_scratch() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(scratch + suffix).unlink(missing_ok=True)

    report: dict[str, Any] = {"rows": len(wide)}
    for name, rows, create, mode in (
        ("as logged", wide, table, "WAL"),
        ("rollback journal", wide, table, "DELETE"),  # as a large merge writes (merge.rollback_journal)
        ("narrow", narrow, narrow_table, "DELETE"),
    ):
        remove_scratch()
        db = sqlite3.connect(scratch, isolation_level=None)
        db.execute(f"PRAGMA journal_mode = {mode}")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(create)
        db.execute("PRAGMA cache_size = -49152")
        db.execute("PRAGMA threads = 2")
        began = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            f"INSERT INTO reviews({columns}) VALUES ({', '.join('?' * len(reviewlog.COLUMNS))})", rows
        )
        inserted = time.perf_counter()
        for sql in indexes:
            db.execute(sql)
        indexed = time.perf_counter()
        db.execute("COMMIT")
        db.close()
        ended = time.perf_counter()
        check = sqlite3.connect(scratch)
        written = check.execute("SELECT count(*), count(DISTINCT anki_id) FROM reviews").fetchone()
        made = check.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        index_count = made.fetchone()[0]
        check.close()
        report[name] = {
            "journal_mode": mode,
            "written": list(written),
            "indexes": index_count,
            "insert_s": round(inserted - began, 2),
            "indexes_s": round(indexed - inserted, 2),
            "commit_and_close_s": round(ended - indexed, 2),
            "total_s": round(ended - began, 2),
            "size_mb": os.path.getsize(scratch) >> 20,
        }
        remove_scratch()
    print(json.dumps(report))


def read_floor(package: str) -> None:
    """An import's reading alone: the package opened, its log read in full (see the module's doc)."""
    from flashcards import anki_import

    began = time.perf_counter()
    with anki_import.open_anki(Path(package)) as collection:
        opened = time.perf_counter()
        rows = sum(1 for _ in collection.revlog())
        read = time.perf_counter()
    ended = time.perf_counter()
    report = {
        "rows": rows,
        "open_s": round(opened - began, 2),
        "revlog_s": round(read - opened, 2),
        "total_s": round(ended - began, 2),  # the unzipped copy removed too
    }
    print(json.dumps(report))


PROBES: dict[str, Callable[..., None]] = {
    "log-floor": log_floor,
    "read-floor": read_floor,
    "anki-export": anki_export,
    "study-all": study_all,
    "answers": answers,
    "genanki": genanki_alone,
    "anki-import": anki_import,
    "anki-due": anki_due,
    "generate": generate,
    "forget": forget,
}

if __name__ == "__main__":
    PROBES[sys.argv[1]](*sys.argv[2:])
