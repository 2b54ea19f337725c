"""The benchmark's log-floor probe writes back every row of a collection's log, each way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flashcards import reviewlog, store

AT = "2026-12-01T09:00:00.000000+00:00"
PROBES = Path(__file__).resolve().parent.parent / "benchmarks" / "probes.py"


def test_log_floor_writes_every_row_each_way(tmp_path: Path) -> None:
    source = tmp_path / "c.db"
    db = store.open_collection(source)
    db.execute(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, created_at, "
        "modified_at) VALUES ('n', 'basic', 'D', '{}', '[]', 'd.yaml', 1, '', ?, ?)",
        [AT, AT],
    )
    db.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at) "
        "VALUES ('n/card', 'n', 'card', 0, 'D', 'q', 'a', 0, ?, ?)",
        [AT, AT],
    )
    reviewlog.append_many(
        db,
        [
            (
                "n/card",
                3,
                f"2026-12-0{day}T09:00:00.000000+00:00",
                3000,
                "2026-12-09T04:00:00.000000+00:00",
                0,
                2,
                3.2,
                5.0,
                739594,
                None,
                1764907200,
                reviewlog.SOURCE_ANKI,
                f"1:{day}",
            )
            for day in (1, 2, 3)
        ],
    )
    db.conn.commit()
    db.conn.close()
    scratch = tmp_path / "floor.db"
    done = subprocess.run(
        [sys.executable, str(PROBES), "log-floor", str(source), str(scratch)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["rows"] == 3
    for name, mode in (("as logged", "WAL"), ("rollback journal", "DELETE"), ("narrow", "DELETE")):
        phases = report[name]
        assert phases["journal_mode"] == mode
        assert phases["written"] == [3, 3]  # every row, each with its Anki id
        assert phases["indexes"] == 4  # the log's own: history, source, Anki id, stats
        assert phases["total_s"] >= 0
    assert not scratch.exists()  # the scratch file is removed after each run


def test_read_floor_reads_every_row_of_a_package(tmp_path: Path) -> None:
    from .test_import import compiled, studied_package

    package = studied_package(compiled(tmp_path / "elsewhere"), tmp_path)
    done = subprocess.run(
        [sys.executable, str(PROBES), "read-floor", str(package)], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    assert report["rows"] == 12  # six cards, two answers each
    assert report["total_s"] >= report["open_s"] + report["revlog_s"] - 0.01
