"""The Anki engine harness: Anki's clock, "today", fuzz and memory states follow what the test sets."""

from __future__ import annotations

import sqlite3
import zipfile
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS

from .anki_engine import AnkiEngine

# Central European time as a POSIX rule, so the test needs no tz database; Europe/Berlin is
# checked too where one is installed.
CET_RULE = "CET-1CEST,M3.5.0,M10.5.0/3"
HAS_ZONEINFO = Path("/usr/share/zoneinfo/Europe/Berlin").exists()
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 13:00 in Berlin, a Monday
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    "tz",
    [CET_RULE, pytest.param("Europe/Berlin", marks=pytest.mark.skipif(not HAS_ZONEINFO, reason="no tzdata"))],
)
def test_today_changes_at_the_rollover_in_the_local_zone(tmp_path: Path, tz: str) -> None:
    with AnkiEngine(tmp_path, tz=tz, start=START) as anki:
        assert anki.today() == 0
        assert anki.next_day_at() == utc(2026, 1, 6, 3)  # 04:00 CET

        anki.set_time(utc(2026, 1, 6, 2, 59, 59))
        assert anki.today() == 0
        anki.set_time(utc(2026, 1, 6, 3, 0, 0))
        assert anki.today() == 1

        # Summer time: the rollover is 04:00 CEST, 02:00 UTC.
        summer_day = (date(2026, 7, 1) - date(2026, 1, 5)).days
        anki.set_time(utc(2026, 7, 1, 1, 59))
        assert anki.today() == summer_day - 1
        anki.set_time(utc(2026, 7, 1, 2, 0))
        assert anki.today() == summer_day
        assert anki.next_day_at() == utc(2026, 7, 2, 2)

        # Going back in time works too (the worker drops Anki's cached day).
        anki.set_time(START)
        assert anki.today() == 0


def test_rollover_hour_is_taken_from_the_preferences(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START) as anki:
        anki.enable_fsrs(rollover_hour=0)
        assert anki.next_day_at() == utc(2026, 1, 5, 23)  # midnight CET
        anki.set_time(utc(2026, 1, 5, 23, 0))
        assert anki.today() == 1


def test_learning_due_and_revlog_ids_follow_the_shimmed_clock(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START) as anki:
        anki.enable_fsrs(deck="Spanish", learning_steps=[1, 10])
        (card_id,) = anki.add_basic_notes("Spanish", ["hola"])
        assert card_id == int(START.timestamp() * 1000)  # ids are Anki's "now" in ms

        anki.answer(card_id, GOOD)
        card = anki.card(card_id)
        assert (card["type"], card["queue"]) == (1, 1)
        assert card["due"] == int(START.timestamp()) + 600
        assert card["revlog"][0]["id"] == int(START.timestamp() * 1000)

        later = START + timedelta(minutes=7, seconds=30)
        anki.set_time(later)
        anki.answer(card_id, AGAIN)
        card = anki.card(card_id)
        assert card["due"] == int(later.timestamp()) + 60
        assert [row["ivl"] for row in card["revlog"]] == [-600, -60]


def test_the_worker_clock_is_frozen_but_monotonic_time_runs(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, start=START) as anki:
        observed = anki.run(
            "import ctypes, time\n"
            "libc = ctypes.CDLL(None)\n"
            "class TimeVal(ctypes.Structure):\n"
            "    _fields_ = [('sec', ctypes.c_long), ('usec', ctypes.c_long)]\n"
            "tv = TimeVal()\n"
            "libc.gettimeofday(ctypes.byref(tv), None)\n"
            "libc.time.restype = ctypes.c_long\n"
            "started = time.monotonic()\n"
            "time.sleep(0.05)\n"
            "result = [time.time(), libc.time(None), tv.sec, time.monotonic() - started]\n"
        )
    wall, c_time, timeofday, monotonic_elapsed = observed
    assert wall == c_time == timeofday == START.timestamp()
    assert monotonic_elapsed >= 0.04


def test_fuzz_is_off(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START) as anki:
        anki.enable_fsrs(deck="Fuzz", learning_steps=[])
        first, second = anki.add_basic_notes("Fuzz", ["a", "b"])
        history = [(START, EASY), (START + timedelta(days=8), GOOD), (START + timedelta(days=40), GOOD)]
        for when, rating in history:
            anki.set_time(when)
            for card_id in (first, second):
                expected = anki.next_states(card_id)[1][rating - 1].days
                anki.answer(card_id, rating)
                assert anki.card(card_id)["ivl"] == expected
        # Different card ids seed different fuzz in Anki; with fuzz off the intervals agree.
        a, b = anki.card(first), anki.card(second)
        assert a["ivl"] == b["ivl"] > 20
        assert [row["ivl"] for row in a["revlog"]] == [row["ivl"] for row in b["revlog"]]


def test_an_answered_card_gets_a_memory_state_with_fsrs_on(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START) as anki:
        anki.enable_fsrs(deck="Memory")
        (card_id,) = anki.add_basic_notes("Memory", ["x"])
        assert anki.card(card_id)["memory_state"] is None
        anki.answer(card_id, GOOD)
        memory = anki.card(card_id)["memory_state"]
        assert memory is not None
        # A first Good sets stability to the initial-stability weight for Good.
        assert memory["stability"] == pytest.approx(DEFAULT_PARAMETERS[2], abs=1e-4)
        assert 1 <= memory["difficulty"] <= 10


def test_queued_shows_the_labels_of_the_buttons(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START) as anki:
        anki.enable_fsrs(deck="Labels", learning_steps=[1, 10])
        (card_id,) = anki.add_basic_notes("Labels", ["q"])
        queued = anki.queued("Labels")
        assert queued is not None
        assert (queued.card_id, queued.queue, queued.type, queued.counts) == (card_id, 0, 0, (1, 0, 0))
        assert [i.kind for i in queued.intervals] == ["learning", "learning", "learning", "review"]
        assert [i.seconds for i in queued.intervals[:3]] == [60, 330, 600]
        # Under the 20-minute learn-ahead limit a label starts with "<".
        assert queued.labels[:3] == ["<1m", "<6m", "<10m"]
        assert queued.labels[3] == f"{queued.intervals[3].days}d"
        assert anki.due_counts("Labels") == (1, 0, 0)


def test_export_and_import_round_trip(tmp_path: Path) -> None:
    apkg, colpkg = tmp_path / "deck.apkg", tmp_path / "all.colpkg"
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START, name="source") as source:
        source.enable_fsrs(deck="Trip", learning_steps=[10])
        card_ids = source.add_basic_notes("Trip", ["one", "two"])
        for card_id, rating in zip(card_ids, (GOOD, EASY), strict=True):
            source.answer(card_id, rating)
        source.set_time(START + timedelta(days=9))
        source.answer(card_ids[1], HARD)
        before = [source.card(card_id) for card_id in card_ids]
        source_today = source.today()
        assert source.export_apkg(apkg) == 2
        source.export_colpkg(colpkg)
        assert source.card(card_ids[0])["reps"] == 1  # the collection is usable after the export

    with zipfile.ZipFile(colpkg) as package:
        assert "collection.anki21b" in package.namelist()

    with AnkiEngine(tmp_path, tz=CET_RULE, start=START + timedelta(days=9), name="target") as target:
        assert target.import_apkg(apkg)["new"] == 2
        after = [target.card(card_id) for card_id in card_ids]
        target_today = target.today()

    kept = ("type", "queue", "ivl", "reps", "lapses", "revlog")
    assert [{k: c[k] for k in kept} for c in after] == [{k: c[k] for k in kept} for c in before]
    # Review due dates are day numbers of each collection: the import shifts them so that the
    # cards stay due on the same calendar day.
    assert (source_today, target_today) == (9, 0)
    assert [c["due"] - target_today for c in after] == [c["due"] - source_today for c in before]
    assert all(c["memory_state"] is not None for c in after)


def test_the_collection_is_created_at_the_shimmed_time(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, start=START) as anki:
        anki.add_basic_notes("Default", ["z"])
        path = anki.workdir / "collection.anki2"
    with closing(sqlite3.connect(path)) as db:
        (crt,) = db.execute("select crt from col").fetchone()
    assert datetime.fromtimestamp(crt, UTC) == utc(2026, 1, 5, 4)  # 04:00 UTC on the creation day


def test_a_learning_step_of_a_day_or_more_is_due_on_a_day_number(tmp_path: Path) -> None:
    with AnkiEngine(tmp_path, tz=CET_RULE, start=START) as anki:
        anki.enable_fsrs(deck="Days", learning_steps=[10, 1440])
        (card_id,) = anki.add_basic_notes("Days", ["d"])
        anki.answer(card_id, GOOD)  # next step 1 day: interday learning
        card = anki.card(card_id)
        assert (card["type"], card["queue"], card["due"]) == (1, 3, 1)
        assert anki.queued("Days") is None
        anki.answer(card_id, GOOD)  # not queued, answered ahead all the same
        assert anki.card(card_id)["type"] == 2
