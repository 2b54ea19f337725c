"""The package itself: derived ids, deterministic bytes, modification times, atomic writes, the CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flashcards import anki_ids, clock, export, render_html, store
from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.errors import CardsError, NotFoundError, SourceError
from flashcards.export import ID_FIELD, export_package, package_name
from flashcards.render_html import markdown_to_html

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
DECK = """
deck: Ops::Deploy
tags: [ops]
notes:
  - front: What is a canary?
    back: A small slice of traffic first.
  - type: cloze
    text: "Canary limits the {{c1::blast radius}}."
"""
OTHER = """
deck: Ops Review
notes:
  - front: Other deck
    back: not exported with --deck Ops
"""


@pytest.fixture
def project(write_deck: Callable[..., Path], decks: Path, db_path: Path) -> sqlite_utils.Database:
    write_deck("deploy.yaml", DECK)
    write_deck("other.yaml", OTHER)
    db = store.open_collection(db_path)
    compile_decks(db, decks, T0)
    return db


def _collection(package: Path, tmp_path: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(package) as archive:
        path = tmp_path / "unpacked.anki2"
        path.write_bytes(archive.read("collection.anki2"))
    return sqlite3.connect(path)


def test_markdown_fields_are_escaped_html() -> None:
    assert markdown_to_html("a < b & \"c\" 'd'") == "a &lt; b &amp; &quot;c&quot; &#39;d&#39;"
    assert markdown_to_html("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert markdown_to_html("one\ntwo") == "one<br />\ntwo"
    assert markdown_to_html("- a\n- *b*") == "<ul>\n<li>a</li>\n<li><em>b</em></li>\n</ul>"
    assert markdown_to_html("para\n\n`x < y`") == "<p>para</p>\n<p><code>x &lt; y</code></p>"
    assert markdown_to_html("   ") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{c1::answer}}", "{{c1::answer}}"),
        ("{{c2::**bold**::a hint}} after", "{{c2::<strong>bold</strong>::a hint}} after"),
        ("x {{c1::a_b_c}} y", "x {{c1::a_b_c}} y"),
        ("{{c1::1 < 2}}", "{{c1::1 &lt; 2}}"),
    ],
)
def test_cloze_markers_survive_rendering(text: str, expected: str) -> None:
    assert markdown_to_html(text, reveal_cloze=False) == expected


@given(st.text(alphabet="aZ09 ,;:.?!()/%$@{}'\"=\n*_#-<>&`[]\\|~+", max_size=30))
@settings(max_examples=400, deadline=None)
def test_the_plain_text_shortcut_renders_like_markdown(text: str) -> None:
    assert markdown_to_html(text) == (render_html._render(text, None, True) if text.strip() else "")


def test_ids_are_derived_and_in_genankis_range() -> None:
    for name in ("basic", "Ops::Deploy", ""):
        assert anki_ids.ID_LOW <= anki_ids.deck_id(name) < anki_ids.ID_HIGH
        assert anki_ids.ID_LOW <= anki_ids.model_id(name) < anki_ids.ID_HIGH
    assert anki_ids.deck_id("Ops") == anki_ids.deck_id("Ops") != anki_ids.deck_id("Ops::Deploy")
    assert anki_ids.deck_id("basic") != anki_ids.model_id("basic")
    assert anki_ids.note_guid("a") == anki_ids.note_guid("a") != anki_ids.note_guid("b")


@pytest.mark.parametrize(
    "note_id", ["a", "basic:what-is-a-canary-deployment", "team-data-scientists", "é ü", ""]
)
def test_note_guids_are_the_ones_genanki_derives(note_id: str) -> None:
    from genanki import guid_for

    assert anki_ids.note_guid(note_id) == guid_for("cards", note_id)


def test_note_guids_equal_genankis_over_many_ids() -> None:
    """The digits are made two at a time: ids of every length and leading digit come out the same."""
    from genanki import guid_for

    for index in range(3000):
        note_id = f"sim-{index % 7}-{index:07d}/{'x' * (index % 5)}"
        assert anki_ids.note_guid(note_id) == guid_for("cards", note_id), note_id


def test_millisecond_ids_are_unique_and_stable_when_rows_are_added() -> None:
    stamp = clock.to_db(T0)
    first = anki_ids.millisecond_ids([("b", stamp), ("a", stamp), ("c", stamp)])
    base = int(T0.timestamp() * 1000)
    assert first == {"a": base, "b": base + 1, "c": base + 2}
    later = anki_ids.millisecond_ids(
        [*[(k, stamp) for k in "abc"], ("d", clock.to_db(T0 + timedelta(microseconds=1)))]
    )
    assert {k: later[k] for k in "abc"} == first
    assert later["d"] == base + 3


@pytest.mark.parametrize(
    ("local", "day"),
    [
        ("2026-03-02T03:59:59", 0),
        ("2026-03-02T04:00:00", 1),
        ("2026-03-03T03:59:59", 1),
        ("2026-03-03T04:00:00", 2),
    ],
)
def test_anki_day_numbers_start_at_the_day_start_hour(local: str, day: int) -> None:
    days = anki_ids.AnkiDays(4, UTC)
    start = (date(2026, 3, 1) - anki_ids.CREATION_DAY).days
    assert days.day(datetime.fromisoformat(local).replace(tzinfo=UTC)) == start + day
    assert days.creation() == datetime(2000, 1, 1, 4, tzinfo=UTC)
    assert days.creation_minutes_west() == 0


def test_anki_intervals_are_days_across_a_day_start_else_negative_seconds() -> None:
    days = anki_ids.AnkiDays(4, UTC)
    morning = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert days.interval(morning, morning + timedelta(minutes=10)) == -600
    assert days.interval(morning, morning + timedelta(days=3)) == 3
    assert days.interval(datetime(2026, 3, 2, 3, 50, tzinfo=UTC), datetime(2026, 3, 2, 4, 5, tzinfo=UTC)) == 1


def test_package_name_is_safe_readable_and_different_for_every_deck() -> None:
    assert package_name(None) == "all.apkg"
    assert package_name("MLOps Interview::Teams") == "MLOps_Interview~Teams.apkg"
    assert package_name("../../etc/passwd") == "%2E.%2F..%2Fetc%2Fpasswd.apkg"
    assert package_name("C++") == "C%2B%2B.apkg"
    assert package_name("C") == "C.apkg"
    names = [
        "C",
        "c",
        "C++",
        "C--",
        "C__",
        "C  ",
        "C::",
        "C:",
        "C:::",
        "all",
        "%61ll",
        "a b",
        "a_b",
        "日本",
        ".x",
        "x" * 300,
    ]
    names.append("x" * 299 + "y")
    encoded = [package_name(n) for n in names]
    assert len(set(encoded)) == len(names)
    assert all("/" not in e and not e.startswith(".") and len(e.encode()) <= 255 for e in encoded)


def test_exporting_twice_gives_identical_bytes(project: sqlite_utils.Database, tmp_path: Path) -> None:
    first = export_package(project, tmp_path / "a.apkg", with_scheduling=True)
    second = export_package(project, tmp_path / "b.apkg", with_scheduling=True)
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["collection.anki2", "media"]
    assert all(
        i.date_time == (1980, 1, 1, 0, 0, 0) and i.compress_type == zipfile.ZIP_DEFLATED for i in infos
    )


def test_times_in_the_package_come_from_the_collection(
    project: sqlite_utils.Database, tmp_path: Path
) -> None:
    package = export_package(project, tmp_path / "p.apkg").path
    collection = _collection(package, tmp_path)
    stamp = int(T0.timestamp())
    assert {row[0] for row in collection.execute("SELECT mod FROM notes")} == {stamp}
    assert {row[0] for row in collection.execute("SELECT mod FROM cards")} == {stamp}
    models = json.loads(collection.execute("SELECT models FROM col").fetchone()[0])
    assert {m["mod"] for m in models.values()} == {stamp}
    note_ids = sorted(row[0] for row in collection.execute("SELECT id FROM notes"))
    assert note_ids[0] == stamp * 1000
    crt, conf = collection.execute("SELECT crt, conf FROM col").fetchone()
    assert json.loads(conf)["schedVer"] == 2 and json.loads(conf)["rollover"] == 4
    assert crt == int(clock.day_start(anki_ids.CREATION_DAY).timestamp())


def test_an_edit_moves_only_that_notes_modification_time(
    project: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path, tmp_path: Path
) -> None:
    later = T0 + timedelta(days=2)
    write_deck("deploy.yaml", DECK.replace("A small slice", "A small, watched slice"))
    compile_decks(project, decks, later)
    collection = _collection(export_package(project, tmp_path / "p.apkg").path, tmp_path)
    mods = dict(collection.execute("SELECT flds, mod FROM notes").fetchall())
    edited = next(mod for fields, mod in mods.items() if "watched" in fields)
    assert edited == int(later.timestamp())
    assert sorted(mods.values()) == [int(T0.timestamp())] * 2 + [int(later.timestamp())]


def test_the_note_id_field_is_last_and_unused_by_templates(
    project: sqlite_utils.Database, tmp_path: Path
) -> None:
    collection = _collection(export_package(project, tmp_path / "p.apkg").path, tmp_path)
    models = json.loads(collection.execute("SELECT models FROM col").fetchone()[0])
    for model in models.values():
        assert model["flds"][-1]["name"] == ID_FIELD
        for template in model["tmpls"]:
            assert ID_FIELD not in template["qfmt"] + template["afmt"]
    ids = {row[0].split("\x1f")[-1] for row in collection.execute("SELECT flds FROM notes")}
    assert ids == {row[0] for row in project.execute("SELECT id FROM notes")}


def test_deck_option_includes_sub_decks_only(project: sqlite_utils.Database, tmp_path: Path) -> None:
    result = export_package(project, tmp_path / "p.apkg", deck="Ops")
    assert (result.notes, result.cards, result.decks) == (2, 2, 2)
    with pytest.raises(NotFoundError, match="no deck named 'Op'"):
        export_package(project, tmp_path / "q.apkg", deck="Op")
    assert not (tmp_path / "q.apkg").exists()


def test_retired_notes_are_not_exported(
    project: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path, tmp_path: Path
) -> None:
    (decks / "other.yaml").unlink()
    compile_decks(project, decks, T0 + timedelta(hours=1))
    assert export_package(project, tmp_path / "p.apkg").notes == 2


def test_a_failed_write_leaves_the_old_package_and_no_temporary_file(
    project: sqlite_utils.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "p.apkg"
    export_package(project, target)
    before = target.read_bytes()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "replace", broken)
    with pytest.raises(CardsError, match="No space left on device"):
        export_package(project, target, with_scheduling=True)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["p.apkg"]


def test_a_reserved_field_name_is_reported(
    write_deck: Callable[..., Path], decks: Path, fresh_db: Any, tmp_path: Path
) -> None:
    write_deck(
        "x.yaml",
        """
        deck: X
        types:
          odd:
            fields: [name, cards_id]
            templates:
              card: {front: "{{name}}", back: "{{cards_id}}"}
        notes:
          - {type: odd, name: n, cards_id: v}
        """,
    )
    with pytest.raises(SourceError) as raised:  # refused at its line by check and compile, not at export
        compile_decks(fresh_db, decks, T0)
    assert str(raised.value.problems[0]).split("decks/")[-1] == (
        "x.yaml:4:20: error: 'cards_id' is reserved: the Anki export adds a field 'cards_id' holding the "
        "note's id; name the field differently"
    )


def test_cli_writes_the_default_package_and_reports_it(project: sqlite_utils.Database, decks: Path) -> None:
    result = CliRunner().invoke(cli, ["export"], catch_exceptions=False)
    assert result.exit_code == 0
    target = decks.parent / "exports" / "all.apkg"
    assert target.is_file()
    assert result.output.startswith("Wrote ")
    assert "3 notes, 3 cards, 3 decks" in result.output and "KiB" in result.output
    result = CliRunner().invoke(cli, ["export", "--deck", "Ops::Deploy", "--with-scheduling"])
    assert result.exit_code == 0
    assert "Ops~Deploy.apkg: 2 notes, 2 cards, 2 decks, 0 reviews" in result.output


def test_cli_output_option_and_errors(project: sqlite_utils.Database, tmp_path: Path) -> None:
    target = tmp_path / "mine.apkg"
    assert CliRunner().invoke(cli, ["export", "-o", str(target)]).exit_code == 0
    assert target.is_file()
    result = CliRunner().invoke(cli, ["export", "--deck", "Nope"])
    assert result.exit_code == 1


def test_progress_is_reported_up_to_the_number_of_notes(
    project: sqlite_utils.Database, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    export_package(project, tmp_path / "p.apkg", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 3)]


def test_the_progress_bar_stays_off_when_stderr_is_not_a_terminal() -> None:
    from flashcards.cli.export import PROGRESS_FROM_NOTES
    from flashcards.cli.progress import Progress

    bar = Progress("Exporting", PROGRESS_FROM_NOTES)
    bar(100, 10_000)
    assert bar.bar is None
    bar.close()


def test_the_day_start_hour_setting_reaches_the_package(
    project: sqlite_utils.Database, tmp_path: Path
) -> None:
    from flashcards.settings import DeckSettings, Settings

    late = Settings(defaults=DeckSettings(day_start_hour=6))
    collection = _collection(export_package(project, tmp_path / "p.apkg", settings=late).path, tmp_path)
    crt, conf = collection.execute("SELECT crt, conf FROM col").fetchone()
    assert json.loads(conf)["rollover"] == 6
    assert datetime.fromtimestamp(crt, UTC) == datetime(2000, 1, 1, 6, tzinfo=UTC)


def test_decks_with_similar_names_export_to_different_default_files(
    write_deck: Callable[..., Path], decks: Path
) -> None:
    write_deck("a.yaml", 'deck: "C++"\nnotes:\n  - {front: a, back: b}\n')
    write_deck("b.yaml", 'deck: "C"\nnotes:\n  - {front: c, back: d}\n')
    for deck in ("C++", "C"):
        assert CliRunner().invoke(cli, ["export", "--deck", deck]).exit_code == 0
    assert sorted(p.name for p in (decks.parent / "exports").iterdir()) == ["C%2B%2B.apkg", "C.apkg"]


@pytest.mark.parametrize("target", ["device", "fifo"])
def test_export_refuses_an_existing_target_that_is_not_a_regular_file(
    project: sqlite_utils.Database, tmp_path: Path, target: str
) -> None:
    path = tmp_path / target
    if target == "device":
        path.symlink_to("/dev/null")  # through a link: a build without the check replaces the link only
    else:
        os.mkfifo(path)
    kind = path.stat().st_mode
    with pytest.raises(CardsError, match="exists and is not a regular file"):
        export_package(project, path)
    assert path.stat().st_mode == kind
    result = CliRunner().invoke(cli, ["export", "-o", str(path)])
    assert result.exit_code == 1 and "is not a regular file" in result.stderr
    assert path.stat().st_mode == kind
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_interrupted_export_leaves_no_temporary_file(
    project: sqlite_utils.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", stop)
    result = CliRunner().invoke(cli, ["export", "-o", str(tmp_path / "out" / "p.apkg")])
    assert result.exit_code != 0
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_an_export_stopped_by_a_signal_leaves_no_temporary_file(
    project: sqlite_utils.Database, tmp_path: Path, signal_name: str
) -> None:
    # In its own process: the signal arrives while the package is being written.
    script = (
        "import os, signal, sys, time, zipfile\n"
        "def stop(*args, **kwargs):\n"
        f"    os.kill(os.getpid(), signal.{signal_name})\n"
        "    time.sleep(10)\n"
        "zipfile.ZipFile.writestr = stop\n"
        "from flashcards.cli import main\n"
        "sys.argv = ['cards', 'export', '-o', sys.argv[1]]\n"
        "main()\n"
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", script, str(out / "p.apkg")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 128 + getattr(signal, signal_name)
    assert "Traceback" not in result.stderr
    assert list(out.iterdir()) == []


def test_a_note_made_in_anki_goes_back_with_its_own_guid() -> None:
    from genanki import guid_for

    from flashcards.foreign import note_id

    for guid in ("Hb*/x`T:{Q", "é,üxyzab", "abcdefghi"):
        assert anki_ids.note_guid(note_id(guid)) == guid
    for written in (
        "anki-",
        "anki-zz",
        "anki-ff",
        "anki-0a",
        "anki-2024",
        "anki-20242025",
    ):  # derived as any id
        assert anki_ids.note_guid(written) == guid_for("cards", written)
