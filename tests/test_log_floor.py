"""The benchmark's log-floor probe writes back every row of a collection's log, both ways."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

PROBES = Path(__file__).resolve().parent.parent / "benchmarks" / "probes.py"


def test_log_floor_writes_every_row_as_logged_and_narrowed(tmp_path: Path) -> None:
    source = tmp_path / "c.db"
    db = sqlite3.connect(source)
    db.execute(
        "CREATE TABLE reviews (id INTEGER PRIMARY KEY, card_id, rating, reviewed_at, duration_ms, due, "
        "state_before, state, stability, difficulty, due_day, step, day_end, source, source_id, anki_id, "
        "kind, points, ticked)"
    )
    db.executemany(
        "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, stability, "
        "difficulty, due_day, step, day_end, source, source_id, anki_id, kind) "
        "VALUES ('d/n/card', 3, ?, 3000, '2026-12-05T04:00:00.000000+00:00', 0, 2, 3.2, 5.0, 739590, NULL, "
        "1764907200, 'anki', ?, ?, 0)",
        [(f"2026-12-0{day}T09:00:00.000000+00:00", f"1:{day}", day) for day in (1, 2, 3)],
    )
    db.commit()
    db.close()
    scratch = tmp_path / "floor.db"
    done = subprocess.run(
        [sys.executable, str(PROBES), "log-floor", str(source), str(scratch)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["rows"] == 3
    for name in ("as logged", "narrow"):
        phases = report[name]
        assert phases["written"] == [3, 3]  # every row, each with its Anki id
        assert set(phases) == {"written", "insert_s", "indexes_s", "commit_and_close_s", "total_s", "size_mb"}
        assert phases["total_s"] >= 0
    assert not scratch.exists()  # the scratch file is removed after each run
