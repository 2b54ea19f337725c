"""The review journal's costs, measured inside one process; prints one JSON object.

``python benchmarks/journal_probe.py WORKDIR CARDS LINES``: a collection of CARDS cards (rows
written directly, no deck files: the journal never reads them) and another device's journal of
LINES answers (LINES / CARDS per card, a day apart) are made under WORKDIR; then

- ``first_merge``: the first take-in of the whole journal (every line new);
- ``nothing_new``: the start-up check when nothing changed (median of 50), as every command runs it;
- ``thousand_new``: taking in 1,000 lines appended since (median of 5), for cards whose replay
  marks the first merge wrote (no history read);
- ``thousand_unmarked``: the same for 1,000 other cards whose marks are gone (as an undo or a
  cram answer here takes a card's away): each card's whole history read and replayed (median of 5).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flashcards import clock, reviewlog, store
from flashcards.collection import Collection

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def make_collection(db_path: Path, cards: int) -> None:
    db = store.open_collection(db_path)
    stamp = clock.to_db(START)
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.executemany(
            "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, "
            "created_at, modified_at) VALUES (?, 'basic', 'Bench', '{}', '[]', 'bench.yaml', 1, '', ?, ?)",
            ((f"n{i:06d}", stamp, stamp) for i in range(cards)),
        )
        db.conn.executemany(
            "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, "
            "modified_at) VALUES (?, ?, 'card', 0, 'Bench', 'q', 'a', ?, ?, ?)",
            ((f"n{i:06d}/card", f"n{i:06d}", i, stamp, stamp) for i in range(cards)),
        )
    db.conn.close()


def line(card: int, answer: int, serial: int) -> str:
    at = START + timedelta(days=answer * 3, seconds=card)
    state_before = 0 if answer == 0 else 2
    due = at + timedelta(days=3)
    values = {
        "card": f"n{card:06d}/card",
        "day_end": int(
            clock.next_day_start(at).timestamp()
        ),  # the end of its study day, as a machine gives it
        "device": "other",
        "due": clock.to_db(due),
        "due_day": due.date().toordinal(),
        "duration_ms": 4000,
        "id": f"{serial:016x}",
        "kind": 0,
        "rating": 3,
        "reviewed_at": clock.to_db(at),
        "stability": 3.0,
        "difficulty": 5.0,
        "state": 2,
        "state_before": state_before,
    }
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def write_journal(
    path: Path, cards: int, lines: int, first_serial: int = 0, first_answer: int = 0, offset: int = 0
) -> None:
    """Append ``lines`` answers to cards ``offset`` to ``offset + cards``, card by card for each answer."""
    per_card = max(1, lines // cards)
    with path.open("a", encoding="utf-8") as handle:
        serial = first_serial
        for answer in range(first_answer, first_answer + per_card):
            for card in range(offset, offset + min(cards, lines)):
                handle.write(line(card, answer, serial) + "\n")
                serial += 1


def main() -> None:
    work, cards, lines = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    shutil.rmtree(work, ignore_errors=True)
    decks = work / "repo" / "decks"
    decks.mkdir(parents=True)
    (work / "repo" / "cards.toml").write_text('journal = "reviews"\n', encoding="utf-8")
    journal = work / "repo" / "reviews"
    journal.mkdir()
    db_path = work / "collection.db"
    make_collection(db_path, cards)
    other = journal / "other.jsonl"
    write_journal(other, cards, lines)
    import os

    os.environ["CARDS_DEVICE"] = "bench"
    collection = Collection.open(db_path, decks)
    started = time.perf_counter()
    warnings = collection.sync_journal()
    first = time.perf_counter() - started
    assert not warnings, warnings
    taken = int(collection.db.execute("SELECT count(*) FROM reviews").fetchone()[0])
    assert taken == lines, (taken, lines)
    idle = []
    for _ in range(50):
        started = time.perf_counter()
        collection.sync_journal()
        idle.append(time.perf_counter() - started)
    thousand = []
    answer = max(1, lines // cards)
    for run in range(5):
        write_journal(other, 1000, 1000, first_serial=lines + run * 1000, first_answer=answer + run)
        started = time.perf_counter()
        collection.sync_journal()
        thousand.append(time.perf_counter() - started)
    unmarked = []
    for run in range(5):
        offset = 1000 * (run + 1)
        cards_here = [f"n{card:06d}/card" for card in range(offset, offset + 1000)]
        with collection.db.conn:
            collection.db.execute("BEGIN")
            reviewlog.forget_marks(collection.db, cards_here)
        write_journal(
            other, 1000, 1000, first_serial=lines + 5000 + run * 1000, first_answer=answer, offset=offset
        )
        started = time.perf_counter()
        collection.sync_journal()
        unmarked.append(time.perf_counter() - started)
    total = int(collection.db.execute("SELECT count(*) FROM reviews").fetchone()[0])
    assert total == lines + 10000, total
    print(
        json.dumps(
            {
                "cards": cards,
                "lines": lines,
                "first_merge": first,
                "nothing_new": statistics.median(idle),
                "thousand_new": statistics.median(thousand),
                "thousand_unmarked": statistics.median(unmarked),
            }
        )
    )


if __name__ == "__main__":
    main()
