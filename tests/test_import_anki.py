"""The round trip through the real Anki engine: export, review in Anki (and in cards), import back.

The bundled decks go to Anki with their scheduling; cards are answered in Anki over four days
through Anki's own scheduler (FSRS on, fuzz off), and some of the same cards in cards in between;
then Anki's exports (.apkg with scheduling, legacy .apkg, .colpkg) are imported back. Every Anki
answer must be in the log once, in time order, with the due date Anki gave, and every card
studied only in Anki must have Anki's memory state.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from flashcards import clock, reviewlog, store
from flashcards.compiler import compile_decks
from flashcards.errors import CardsError
from flashcards.export import export_package
from flashcards.importing import import_file
from flashcards.paths import display_path
from flashcards.scheduler import answer, rebuild
from flashcards.settings import DeckSettings, Settings

from .anki_engine import AnkiEngine
from .conftest import BUNDLED_DECKS

DECK = "MLOps Interview"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
SETTINGS = Settings(defaults=DeckSettings(enable_fuzzing=False))
RATINGS = [3, 3, 1, 3, 4, 2, 3, 3, 1, 3, 3, 4]
LEGACY_EXPORT = """
from anki.collection import ExportAnkiPackageOptions
options = ExportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True, with_media=True, legacy=True)
col.export_anki_package(out_path=path, options=options, limit=None)
"""
MADE_IN_ANKI = """
note = col.new_note(col.models.by_name("cards:basic"))
note["front"], note["back"] = "added on the phone", "on a cards note type"
col.add_note(note, col.decks.id("MLOps Interview::Teams"))
studied = [cid for cid in col.find_cards("-is:new")]
col.sched.suspend_cards(studied[:1])
result = studied[0]
"""
CARDS_OF_ANKI = """
result = {}
for cid in col.find_cards(''):
    card = col.get_card(cid)
    if "cards_id" in card.note() and not card.note()["cards_id"]:
        continue  # added in Anki on a cards note type: no counterpart here
    memory = card.memory_state
    result[cid] = [card.note()['cards_id'], card.ord, card.type, card.queue, card.due,
                   memory.stability if memory else None, memory.difficulty if memory else None]
"""


def _session(anki: AnkiEngine, at: datetime, answers: int, offset: int) -> None:
    """Answer up to ``answers`` cards in Anki from ``at``, 20 s apart, as its queue shows them."""
    anki.set_time(at)
    for index in range(answers):
        queued = anki.queued(DECK)
        if queued is None:
            return
        anki.answer(queued.card_id, RATINGS[(index + offset) % len(RATINGS)], taken_ms=4000)
        anki.set_time(at + timedelta(seconds=20 * (index + 1)))


def _due_in_cards(db: sqlite_utils.Database, at: datetime) -> list[str]:
    rows = db.execute(
        "SELECT id FROM cards WHERE state != 0 AND (due_day <= ? OR (due_day IS NULL AND due <= ?)) ORDER BY id",
        [clock.study_day(at).toordinal(), clock.to_db(at)],
    )
    return [row[0] for row in rows]


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the round trip once; the tests below read what it recorded."""
    work = tmp_path_factory.mktemp("round-trip")
    decks = work / "decks"
    shutil.copytree(BUNDLED_DECKS, decks)
    db = store.open_collection(work / "collection.db")
    compile_decks(db, decks, START)
    first = [row[0] for row in db.execute("SELECT id FROM cards ORDER BY position LIMIT 6")]
    for card_id in first:  # learnt in cards before the export: 1m, 10m, then graduated
        answer(db, card_id, 3, START, 3000, SETTINGS)
        answer(db, card_id, 3, START + timedelta(minutes=11), 3000, SETTINGS)
    package = export_package(db, work / "ours.apkg", with_scheduling=True, settings=SETTINGS).path
    exported = {row[0] for row in db.execute("SELECT anki_id FROM reviews")}
    between: list[str] = []
    locked = ""
    with AnkiEngine(work, tz="UTC", start=START + timedelta(hours=1)) as anki:
        anki.import_apkg(package)
        anki.enable_fsrs(deck=DECK)
        _session(anki, START + timedelta(hours=1), 20, 0)
        _session(anki, START + timedelta(hours=1, minutes=15), 20, 3)
        _session(anki, START + timedelta(days=1, hours=1), 30, 5)
        # in cards, two days on: the cards due here, which Anki answers again the next morning
        evening = START + timedelta(days=2, hours=10)
        between = _due_in_cards(db, evening)
        for index, card_id in enumerate(between):
            answer(db, card_id, RATINGS[index % len(RATINGS)], evening, 5000, SETTINGS)
        _session(anki, START + timedelta(days=3, hours=1), 40, 7)
        _session(anki, START + timedelta(days=3, hours=1, minutes=15), 40, 2)
        suspended = anki.run(MADE_IN_ANKI)
        anki.export_apkg(work / "back.apkg")
        anki.run(LEGACY_EXPORT, path=str(work / "legacy.apkg"))
        anki.export_apkg(work / "no-scheduling.apkg", with_scheduling=False)
        anki.export_colpkg(work / "back.colpkg")
        try:
            import_file(db, SETTINGS, anki.workdir / "collection.anki2")
        except CardsError as error:
            locked = str(error)
        revlog = anki.run("result = col.db.all('select id, cid, ease, ivl, type from revlog order by id')")
        cards = {int(key): value for key, value in anki.run(CARDS_OF_ANKI).items()}
        today = anki.today()
    reports = [import_file(db, SETTINGS, work / "back.apkg")]
    logged = db.execute(
        "SELECT card_id, rating, reviewed_at, source, anki_id, due, due_day, id FROM reviews "
        f"ORDER BY {reviewlog.log_order()}"
    ).fetchall()
    states = {row[0]: row[1:] for row in db.execute("SELECT id, stability, difficulty, due_day FROM cards")}
    check = rebuild(db, SETTINGS, write=False)
    for path in (
        work / "back.colpkg",
        work / "legacy.apkg",
        work / "back.apkg",
        work / "anki" / "collection.anki2",
    ):
        reports.append(import_file(db, SETTINGS, path))  # the profile's collection once Anki is closed
    return {
        "db": db,
        "exported": exported,
        "between": between,
        "revlog": revlog,
        "cards": cards,
        "today": today,
        "reports": reports,
        "logged": logged,
        "states": states,
        "check": check,
        "locked": locked,
        "suspended": suspended,
        "work": work,
        "final": db.execute(f"SELECT * FROM reviews ORDER BY {reviewlog.log_order()}").fetchall(),
    }


def _card_of(trip: dict[str, Any], anki_card: int) -> str:
    note_id, ordinal = trip["cards"][anki_card][:2]
    row = (
        trip["db"]
        .execute("SELECT id FROM cards WHERE note_id = ? AND ordinal = ?", [note_id, ordinal])
        .fetchone()
    )
    return str(row[0])


def test_every_anki_answer_is_in_the_log_once_in_time_order(round_trip: dict[str, Any]) -> None:
    trip = round_trip
    made_in_anki = [row for row in trip["revlog"] if row[0] not in trip["exported"]]
    assert len(made_in_anki) > 60  # four days of sessions in Anki
    imported = [row for row in trip["logged"] if row[3] == reviewlog.SOURCE_ANKI]
    assert sorted(row[4] for row in imported) == sorted(row[0] for row in made_in_anki)
    by_anki_id = {row[4]: row for row in imported}
    for anki_id, anki_card, ease, _, _ in made_in_anki:
        ours = by_anki_id[anki_id]
        assert ours[0] == _card_of(trip, anki_card)
        assert ours[1] == ease
        assert reviewlog.milliseconds(ours[2]) == anki_id
    # the answers given here, before the export and in between, are there once each, as before
    answered_here = [row for row in trip["logged"] if row[3] is None]
    assert len(answered_here) == 12 + len(trip["between"])
    report = trip["reports"][0]
    assert report.imported == len(made_in_anki)
    assert report.echoes == len(trip["exported"])
    assert report.notes_made_in_anki == 1
    assert report.suspended_in_anki == [_card_of(trip, trip["suspended"])]
    warnings = "\n".join(report.warnings())
    assert "1 note was added in Anki on a cards note type" in warnings
    assert "1 card is suspended in Anki" in warnings
    # each card's history is in time order, and cards answered in both places interleave
    for card_id in trip["between"]:
        history = [row for row in trip["logged"] if row[0] == card_id]
        assert [row[2] for row in history] == sorted(row[2] for row in history)
    interleaved = [
        card_id
        for card_id in trip["between"]
        if [row[3] for row in trip["logged"] if row[0] == card_id][-1] == reviewlog.SOURCE_ANKI
        and any(row[3] is None and row[2] > "2026-03-03" for row in trip["logged"] if row[0] == card_id)
    ]
    assert interleaved, "some card was answered in cards between two Anki answers"


def test_each_imported_answer_keeps_the_due_date_anki_gave(round_trip: dict[str, Any]) -> None:
    trip = round_trip
    intervals = {row[0]: row[3] for row in trip["revlog"]}
    checked = 0
    for row in trip["logged"]:
        if row[3] != reviewlog.SOURCE_ANKI:
            continue
        interval = intervals[row[4]]
        answered = clock.from_db(row[2])
        if interval > 0:
            assert row[6] == clock.study_day(answered).toordinal() + interval
            checked += 1
        else:
            assert clock.from_db(row[5]) == answered + timedelta(seconds=-interval)  # fuzz is off in Anki
    assert checked > 20
    # and a card answered last in Anki is due when Anki has it due
    today = date(2026, 3, 5)  # the last Anki session's study day
    for anki_card, (_, _, _, queue, due, _, _) in trip["cards"].items():
        card_id = _card_of(trip, anki_card)
        history = [row for row in trip["logged"] if row[0] == card_id]
        if queue == 2 and history and history[-1][3] == reviewlog.SOURCE_ANKI:
            assert trip["states"][card_id][2] == today.toordinal() + (due - trip["today"]), card_id


def test_memory_states_equal_ankis(round_trip: dict[str, Any]) -> None:
    trip = round_trip
    compared = 0
    for anki_card, (_, _, _, _, _, stability, difficulty) in trip["cards"].items():
        card_id = _card_of(trip, anki_card)
        if stability is None or card_id in trip["between"]:
            continue  # new in Anki, or answered here since the export: Anki has not seen those answers
        ours = trip["states"][card_id]
        assert ours[0] == pytest.approx(stability, rel=1e-3), card_id
        assert ours[1] == pytest.approx(difficulty, abs=2e-3), card_id
        compared += 1
    assert compared >= 30


def test_the_cache_is_what_the_merged_log_gives(round_trip: dict[str, Any]) -> None:
    assert round_trip["check"].changed == []
    assert round_trip["check"].reviews == len(round_trip["logged"])


def test_importing_again_adds_nothing(round_trip: dict[str, Any]) -> None:
    trip = round_trip
    first, *again = trip["reports"]
    assert len(again) == 4
    for report in again:  # .colpkg, legacy .apkg, the same .apkg, the profile's collection.anki2
        assert report.imported == 0
        assert report.already == first.imported
        assert report.echoes == first.echoes
    assert len(trip["final"]) == len(trip["logged"])
    assert [(row[1], row[3]) for row in trip["final"]] == [(row[0], row[2]) for row in trip["logged"]]


def _log(db: sqlite_utils.Database) -> list[tuple[Any, ...]]:
    return (
        db.execute("SELECT * FROM reviews ORDER BY id").fetchall()
        + db.execute("SELECT * FROM cards ORDER BY id").fetchall()
    )


def test_a_collection_anki_has_open_is_refused(round_trip: dict[str, Any]) -> None:
    assert "close Anki first" in round_trip["locked"]
    assert "collection.anki2" in round_trip["locked"]


def test_bad_packages_are_refused_with_the_collection_untouched(round_trip: dict[str, Any]) -> None:
    import sqlite3
    import zipfile

    work, db = round_trip["work"], round_trip["db"]
    before = _log(db)
    truncated = work / "truncated.apkg"
    truncated.write_bytes((work / "back.apkg").read_bytes()[:3000])
    newer = work / "newer.apkg"
    with zipfile.ZipFile(work / "legacy.apkg") as source, zipfile.ZipFile(newer, "w") as target:
        inner = work / "newer.anki21"
        inner.write_bytes(source.read("collection.anki21"))
        connection = sqlite3.connect(inner)
        connection.execute("UPDATE col SET ver = 19")
        connection.commit()
        connection.close()
        target.write(inner, "collection.anki21")
    other = work / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "not Anki")

    def damaged(name: str, *changes: str) -> None:  # the legacy package, its answers made new, changed
        inner = work / f"{name}.anki21"
        with zipfile.ZipFile(work / "legacy.apkg") as source:
            inner.write_bytes(source.read("collection.anki21"))
        connection = sqlite3.connect(inner)
        connection.execute("UPDATE revlog SET id = id + 7")
        for sql in changes:
            connection.execute(sql)
        connection.commit()
        connection.close()
        with zipfile.ZipFile(work / name, "w") as target:
            target.write(inner, "collection.anki21")

    damaged("rating.apkg", "UPDATE revlog SET ease = 9")
    damaged("before-2000.apkg", "UPDATE revlog SET id = -id")
    damaged("text.apkg", "UPDATE revlog SET time = 'slow'")
    # an id in December 9999: its due date a month on would be in the year 10000
    damaged(
        "year-9999.apkg",
        "UPDATE revlog SET id = 253402000000000, ivl = 30 WHERE id = (SELECT max(id) FROM revlog)",
    )
    damaged("interval.apkg", "UPDATE revlog SET ivl = 999999999 WHERE ivl > 0")
    damaged("note-types.apkg", "UPDATE col SET models = '{'")
    row = r"review-log row -?\d+ \(card \d+\): "
    again = "; the file is damaged or not written by Anki: export it from Anki again"
    expected = {  # what each says, as patterns
        "no-scheduling.apkg": re.escape(
            "holds no reviews: export it from Anki with 'Include scheduling information'"
        ),
        "truncated.apkg": re.escape("damaged or truncated"),
        "newer.apkg": re.escape("schema 19, which this version of cards does not know; upgrade cards"),
        "other.zip": re.escape("is a zip file but not an Anki package"),
        "rating.apkg": row + r"its rating \(ease\) is 9, not 1 to 4" + again,
        "before-2000.apkg": row
        + r"its id \(the millisecond it was given\) is before 2000 or after 7999"
        + again,
        "year-9999.apkg": row
        + r"its id \(the millisecond it was given\) is before 2000 or after 7999"
        + again,
        "text.apkg": row + "it holds 'slow', not a number" + again,
        "interval.apkg": row + "its interval is 999999999, beyond what Anki gives" + again,
        "note-types.apkg": r"its note types, decks or cards cannot be read \(JSONDecodeError: "
        + ".*"
        + again,
    }
    for name, message in expected.items():
        with pytest.raises(CardsError, match=message):
            import_file(db, SETTINGS, work / name)
        assert _log(db) == before, name


FOREIGN_NOTES = """
def add(type_name, deck, fields, tags):
    note = col.new_note(col.models.by_name(type_name))
    for name, value in fields.items():
        note[name] = value
    note.tags = tags
    col.add_note(note, col.decks.id(deck, create=True))

models = col.models
vocab = models.new("Vocab (ES)")
for name in ("Word", "Meaning", "Example sentence"):
    models.add_field(vocab, models.new_field(name))
for name, front, back in (
    ("Recognise", "<b>{{Word}}</b>", "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{#Example sentence}}{{Example sentence}}{{/Example sentence}}"),
    ("Recall", "{{Meaning}}", "{{FrontSide}}\\n\\n<hr id=answer>\\n\\n{{Word}}"),
):
    template = models.new_template(name)
    template["qfmt"], template["afmt"] = front, back
    models.add_template(vocab, template)
models.add(vocab)
add("Basic", "Lang::Spanish", {"Front": "hola", "Back": "<i>hello</i>"}, ["es"])
add("Basic (and reversed card)", "Lang::Spanish::Verbs", {"Front": "comer", "Back": "to <b>eat</b>"}, ["es", "verb"])
add("Cloze", "Lang", {"Text": "{{c1::Madrid}} is the capital of {{c2::Spain}}.", "Back Extra": "geo"}, ["geo::europe"])
add("Vocab (ES)", "Lang::Spanish", {"Word": "perro", "Meaning": "dog", "Example sentence": "El perro<br>ladra."}, ["es"])
add("Basic", "Lang", {"Front": "colour of the sky", "Back": '<span style="color: blue">blue</span>'}, [])
result = len(col.find_cards(""))
"""


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An Anki deck made in Anki (five note types' worth of notes, sub-decks, tags), studied there, imported."""
    work = tmp_path_factory.mktemp("foreign")
    with AnkiEngine(work, tz="UTC", start=START) as anki:
        anki.enable_fsrs(deck="Lang")
        count = anki.run(FOREIGN_NOTES)
        _session_in(anki, "Lang", START, 40)
        _session_in(anki, "Lang", START + timedelta(minutes=15), 40)
        _session_in(anki, "Lang", START + timedelta(days=2, hours=1), 40)
        _session_in(anki, "Lang", START + timedelta(days=6, hours=1), 40)
        anki.export_apkg(work / "lang.apkg")
        cards = {
            int(key): value for key, value in anki.run(CARDS_OF_ANKI.replace("['cards_id']", ".guid")).items()
        }
        revlog = anki.run("result = col.db.all('select id, cid, ease from revlog order by id')")
    decks = work / "decks"
    decks.mkdir()
    db = store.open_collection(work / "collection.db")
    report = import_file(db, SETTINGS, work / "lang.apkg", decks_dir=decks)
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted((decks / "imported").iterdir())}
    again = import_file(db, SETTINGS, work / "lang.apkg", decks_dir=decks)
    return {
        "db": db,
        "decks": decks,
        "count": count,
        "cards": cards,
        "revlog": revlog,
        "report": report,
        "again": again,
        "texts": texts,
        "texts_again": {
            path.name: path.read_text(encoding="utf-8") for path in sorted((decks / "imported").iterdir())
        },
    }


def _session_in(anki: AnkiEngine, deck: str, at: datetime, answers: int) -> None:
    anki.set_time(at)
    for index in range(answers):
        queued = anki.queued(deck)
        if queued is None:
            return
        anki.answer(queued.card_id, RATINGS[index % len(RATINGS)], taken_ms=3000)
        anki.set_time(at + timedelta(seconds=20 * (index + 1)))


def test_a_foreign_deck_becomes_yaml_that_cards_check_accepts(foreign: dict[str, Any]) -> None:
    from .test_cli import run

    assert sorted(foreign["texts"]) == ["Lang.yaml", "Lang~Spanish.yaml", "Lang~Spanish~Verbs.yaml"]
    spanish = foreign["texts"]["Lang~Spanish.yaml"]
    assert "deck: Lang::Spanish\n" in spanish
    assert (
        "vocab-es:" in spanish and "fields:\n    - Word\n    - Meaning\n    - Example_sentence\n" in spanish
    )
    assert "front: '**{{Word}}**'" in spanish
    assert "back: '*hello*'" in spanish
    assert "tags:\n  - es\n" in spanish
    assert "text: '{{c1::Madrid}} is the capital of {{c2::Spain}}.'" in foreign["texts"]["Lang.yaml"]
    assert "- geo::europe" in foreign["texts"]["Lang.yaml"]
    code, out, err = run("--decks", str(foreign["decks"]), "check")
    assert (code, err) == (0, ""), out
    assert "5 notes, 8 cards: no problems." in out


def test_what_markdown_cannot_say_is_reported_per_note(foreign: dict[str, Any]) -> None:
    problems = [problem for deck in foreign["report"].foreign for problem in deck.problems]
    assert len(problems) == 1
    assert (
        problems[0].startswith("note anki-")
        and "field 'back': the style of <span> not converted" in problems[0]
    )
    assert any("the style of <span>" in line for line in foreign["report"].warnings())


def test_the_foreign_deck_compiles_to_the_same_cards_with_their_history(foreign: dict[str, Any]) -> None:
    db = foreign["db"]
    ours = db.execute("SELECT count(*) FROM cards").fetchone()[0]
    assert ours == foreign["count"] == 8
    report = foreign["report"]
    assert report.imported == len(foreign["revlog"]) > 20
    assert report.cards_mapped == foreign["again"].cards_mapped == 8  # counted as any card mapped
    mapping = {key: value for deck in report.foreign for key, value in deck.cards.items()}
    assert len(mapping) == 8
    for anki_id, anki_card, ease in foreign["revlog"]:
        row = db.execute("SELECT card_id, rating FROM reviews WHERE anki_id = ?", [anki_id]).fetchone()
        assert row == (mapping[anki_card], ease)
    for anki_card, (_, _, _, _, _, stability, difficulty) in foreign["cards"].items():
        state = db.execute(
            "SELECT stability, difficulty FROM cards WHERE id = ?", [mapping[anki_card]]
        ).fetchone()
        assert state[0] == pytest.approx(stability, rel=1e-3)
        assert state[1] == pytest.approx(difficulty, abs=2e-3)
    assert rebuild(db, SETTINGS, write=False).changed == []


def test_importing_a_foreign_deck_again_updates_nothing_and_adds_nothing(foreign: dict[str, Any]) -> None:
    assert foreign["again"].imported == 0
    assert foreign["again"].already == foreign["report"].imported
    assert foreign["texts_again"] == foreign["texts"]


def test_a_later_export_writes_the_imported_answers_with_their_anki_ids(round_trip: dict[str, Any]) -> None:
    import sqlite3
    import zipfile

    work = round_trip["work"]
    package = export_package(
        round_trip["db"], work / "again.apkg", with_scheduling=True, settings=SETTINGS
    ).path
    with zipfile.ZipFile(package) as archive:
        (work / "again.anki2").write_bytes(archive.read("collection.anki2"))
    connection = sqlite3.connect(work / "again.anki2")
    written = {row[0] for row in connection.execute("SELECT id FROM revlog")}
    connection.close()
    answered_here_since = {row[4] for row in round_trip["logged"] if row[3] is None} - round_trip["exported"]
    assert written == {row[0] for row in round_trip["revlog"]} | answered_here_since


def _fresh(tmp_path: Any, foreign: dict[str, Any]) -> tuple[sqlite_utils.Database, Any, Any]:
    """A new collection and decks directory, and the package of the foreign fixture."""
    decks = tmp_path / "from-anki"
    decks.mkdir()
    return store.open_collection(tmp_path / "collection.db"), decks, foreign["decks"].parent / "lang.apkg"


def _state(db: sqlite_utils.Database, decks: Any) -> tuple[Any, ...]:
    files = {
        path.relative_to(decks).as_posix(): path.read_bytes() if path.is_file() else None
        for path in sorted(decks.rglob("*"))
    }
    return (
        files,
        _log(db),
        db.execute("SELECT * FROM notes ORDER BY id").fetchall(),
        db.execute("SELECT path, sha256 FROM deck_files ORDER BY path").fetchall(),
    )


def test_a_failed_merge_leaves_no_deck_file_and_no_card(
    foreign: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards import merge

    db, decks, package = _fresh(tmp_path, foreign)
    before = _state(db, decks)

    def fail(*args: Any, **kwargs: Any) -> merge.MergeResult:
        assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 8  # compiled, not yet committed
        raise CardsError("the disk is full")

    monkeypatch.setattr(merge, "take_in", fail)
    with pytest.raises(CardsError, match="the disk is full"):
        import_file(db, SETTINGS, package, decks_dir=decks)
    assert _state(db, decks) == before
    monkeypatch.undo()
    report = import_file(db, SETTINGS, package, decks_dir=decks)
    assert report.imported == foreign["report"].imported
    assert rebuild(db, SETTINGS, write=False).changed == []


def test_a_failed_merge_puts_back_the_files_an_import_wrote_before(
    foreign: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards import merge
    from flashcards.importing import STAMP, written_by_import

    db, decks, package = _fresh(tmp_path, foreign)
    import_file(db, SETTINGS, package, decks_dir=decks)
    lang = decks / "imported" / "Lang.yaml"
    older = lang.read_text(encoding="utf-8").split("\n", 1)[1].replace("geo", "geography")
    import hashlib

    lang.write_text(f"{STAMP}{hashlib.sha256(older.encode()).hexdigest()}\n{older}", encoding="utf-8")
    assert written_by_import(lang.read_bytes())  # as an earlier import of other contents wrote it
    compile_decks(db, decks, clock.now())
    before = _state(db, decks)
    monkeypatch.setattr(merge, "take_in", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        import_file(db, SETTINGS, package, decks_dir=decks)
    assert _state(db, decks) == before
    monkeypatch.undo()
    import_file(db, SETTINGS, package, decks_dir=decks)
    assert "geography" not in lang.read_text(encoding="utf-8")  # unedited: Anki's version is written


def test_a_deck_file_edited_here_is_left_alone_and_reported(foreign: dict[str, Any], tmp_path: Any) -> None:
    db, decks, package = _fresh(tmp_path, foreign)
    first = import_file(db, SETTINGS, package, decks_dir=decks)
    spanish = decks / "imported" / "Lang~Spanish.yaml"
    edited = spanish.read_text(encoding="utf-8").replace("back: '*hello*'", "back: '*hello* (informal)'")
    assert edited != spanish.read_text(encoding="utf-8")
    spanish.write_text(edited, encoding="utf-8")
    others = {path.name: path.read_bytes() for path in (decks / "imported").iterdir() if path != spanish}
    again = import_file(db, SETTINGS, package, decks_dir=decks)
    assert spanish.read_text(encoding="utf-8") == edited
    assert {
        path.name: path.read_bytes() for path in (decks / "imported").iterdir() if path != spanish
    } == others
    warnings = "\n".join(again.warnings())
    assert (
        "imported/Lang~Spanish.yaml was changed here since `cards import` wrote it: left as it is" in warnings
    )
    assert "move the file away and import again" in warnings
    assert not any("Lang~Spanish.yaml" in line for line in again.summary(dry_run=False))
    assert sum(line.startswith("wrote ") for line in first.summary(dry_run=False)) == 3
    assert sum(line.startswith("unchanged: ") for line in again.summary(dry_run=False)) == 2
    assert (again.imported, again.already) == (0, first.imported)  # its cards' history is still known
    compile_decks(db, decks, clock.now())  # as the next command does: the edit is the note's text here
    assert db.execute("SELECT count(*) FROM notes WHERE fields LIKE '%informal%'").fetchone()[0] == 1
    assert import_file(db, SETTINGS, package, decks_dir=decks).edited_here  # and it stays left alone
    assert spanish.read_text(encoding="utf-8") == edited


def test_warnings_about_one_thing_speak_of_it() -> None:
    from pathlib import Path

    from flashcards.importing import ImportReport

    one = ImportReport(
        Path("x.apkg"),
        notes_unknown=["a"],
        notes_made_in_anki=1,
        reset_in_anki=["a:0"],
        rescheduled_in_anki=["a:0"],
        suspended_in_anki=["a:0"],
        not_in_decks=1,
    )
    text = "\n".join(one.warnings())
    for plural in ("them", "they", "their"):
        assert f" {plural} " not in text and f" {plural}:" not in text and f"{plural} " not in text.lower()
    assert "its reviews were not imported: compile the deck that holds it" in text
    assert "cards has no YAML for it: write it into a deck file" in text
    assert "its answers before the reset" in text and "it is not suspended here" in text
    many = ImportReport(Path("x.apkg"), notes_unknown=["a", "b"], suspended_in_anki=["a:0", "b:0"])
    assert "their reviews were not imported: compile the decks that hold them" in "\n".join(many.warnings())


def test_a_dry_run_of_a_foreign_deck_writes_no_file_and_no_card(
    foreign: dict[str, Any], tmp_path: Any
) -> None:
    db, decks, package = _fresh(tmp_path, foreign)
    before = _state(db, decks)
    report = import_file(db, SETTINGS, package, decks_dir=decks, write=False)
    assert sum(line.startswith("would write ") for line in report.summary(dry_run=True)) == 3
    assert _state(db, decks) == before


def test_answers_in_the_write_ahead_log_of_a_profile_imported_before_are_not_passed_over(
    tmp_path: Any,
) -> None:
    """A profile's collection.anki2 taken in whole, then opened in Anki again: its new answers
    are in collection.anki2-wal, the main file's bytes unchanged. While Anki has it open the
    import says so; once Anki is gone (killed: the log stays behind) they are taken in."""
    from .test_import import compiled, studied_package

    db = compiled(tmp_path / "here")
    package = studied_package(compiled(tmp_path / "elsewhere"), tmp_path)
    profile = tmp_path / "anki" / "collection.anki2"
    at = START + timedelta(days=3)
    with AnkiEngine(tmp_path, tz="UTC", start=at) as anki:
        anki.import_apkg(package)
    first = import_file(db, SETTINGS, profile)
    assert first.echoes == 0 and first.imported == 12
    main_file = profile.read_bytes()
    anki = AnkiEngine(tmp_path, tz="UTC", start=at + timedelta(days=1))
    anki.start()
    try:
        card = anki.run("result = col.find_cards('')[0]")
        anki.answer(card, 3, taken_ms=2000)
        assert profile.read_bytes() == main_file and Path(f"{profile}-wal").stat().st_size > 0
        before = _log(db)
        with pytest.raises(CardsError, match="close Anki first"):
            import_file(db, SETTINGS, profile)
        assert _log(db) == before
    finally:
        assert anki._process is not None
        anki._process.kill()  # as a crash leaves it: the answer in the write-ahead log only
        anki._process.wait()
        anki.close()
    assert Path(f"{profile}-wal").stat().st_size > 0
    again = import_file(db, SETTINGS, profile)
    assert again.same_file_at is None
    assert (again.imported, again.already) == (1, 12)
    assert import_file(db, SETTINGS, profile).same_file_at is not None  # and now it is the same file


MEDIA_NOTES = """
def add(type_name, deck, fields):
    note = col.new_note(col.models.by_name(type_name))
    for name, value in fields.items():
        note[name] = value
    col.add_note(note, col.decks.id(deck, create=True))
    return note.guid

models = col.models
odd = models.new("Odd names")
for name in ("Word", "Tags", "deck"):
    models.add_field(odd, models.new_field(name))
template = models.new_template("Card 1")
template["qfmt"], template["afmt"] = "{{Word}}", "{{FrontSide}}<hr id=answer>{{Tags}} {{deck}}"
models.add_template(odd, template)
models.add(odd)
picture = col.media.write_data("cat picture.png", b"\\x89PNG not really")
sound = col.media.write_data("meow.mp3", b"ID3 not really")
result = {
    "picture": add("Basic", "Pets", {"Front": f'<img src="{picture}">', "Back": f"a cat [sound:{sound}]"}),
    "link": add("Basic", "Pets", {"Front": "where are the docs?",
                                  "Back": '<a href="https://example.org/cats">here</a><table><tr><th>a</th>'
                                          '<th>b</th></tr><tr><td>1</td><td>2</td></tr></table>'}),
    "gone": add("Basic", "Pets", {"Front": 'who is this? <img src="gone.png">', "Back": "nobody"}),
    "nested": add("Cloze", "Pets", {"Text": "{{c1::outer {{c2::inner}} }}", "Back Extra": ""}),
    "empty": add("Basic", "Pets", {"Front": "<br>", "Back": "an empty front"}),
    "odd": add("Odd names", "Pets", {"Word": "gato", "Tags": "noun", "deck": "animals"}),
    "typed": add("Basic (type in the answer)", "Pets", {"Front": "cat, in Spanish", "Back": "el gato"}),
}
"""


@pytest.mark.parametrize("form", ["apkg", "legacy", "colpkg", "profile"])
def test_media_come_along_and_a_note_that_cannot_compile_is_left_out_alone(tmp_path: Any, form: str) -> None:
    from flashcards.foreign import note_id

    from .test_cli import run

    with AnkiEngine(tmp_path, tz="UTC", start=START) as anki:
        anki.enable_fsrs(deck="Pets")
        guids = anki.run(MEDIA_NOTES)
        _session_in(anki, "Pets", START, 20)
        revlog = anki.run("result = col.db.all('select id, cid from revlog order by id')")
        anki_cards = {int(k): v for k, v in anki.run(CARDS_OF_ANKI.replace("['cards_id']", ".guid")).items()}
        package = {
            "apkg": tmp_path / "pets.apkg",
            "legacy": tmp_path / "legacy.apkg",
            "colpkg": tmp_path / "pets.colpkg",
        }
        anki.export_apkg(package["apkg"])
        anki.run(LEGACY_EXPORT, path=str(package["legacy"]))
        anki.export_colpkg(package["colpkg"])
    source = package.get(form, tmp_path / "anki" / "collection.anki2")
    decks = tmp_path / "ours" / "decks"
    decks.mkdir(parents=True)
    db = store.open_collection(tmp_path / "ours" / "collection.db")
    report = import_file(db, SETTINGS, source, decks_dir=decks)
    media = decks / "imported" / "media"
    assert (media / "cat picture.png").read_bytes() == b"\x89PNG not really"
    assert (media / "meow.mp3").read_bytes() == b"ID3 not really"
    assert sorted(path.name for path in report.media) == ["cat picture.png", "meow.mp3"]
    text = (decks / "imported" / "Pets.yaml").read_text(encoding="utf-8")
    assert "front: '![](media/cat%20picture.png)'" in text
    assert "back: a cat [sound:media/meow.mp3]" in text
    assert "[here](https://example.org/cats)" in text and "| a | b |" in text
    warnings = "\n".join(report.warnings())
    for name, cards in (("nested", "2 cards"), ("empty", "1 card")):
        assert f"note {note_id(guids[name])} ({cards}) was not imported: " in warnings
        assert note_id(guids[name]) not in text
    assert "nested clozes" in warnings and "is empty" in warnings
    assert (
        f"note {note_id(guids['gone'])}: field 'front': the image 'gone.png' (not in the Anki file) not converted"
        in warnings
    )
    assert "<a>" not in warnings and "<table>" not in warnings and "href" not in warnings
    code, out, err = run("--decks", str(decks), "check")
    assert (code, err) == (0, ""), out
    assert "5 notes, 5 cards: no problems." in out
    code, out, _ = run(
        "--decks", str(decks), "--db", str(tmp_path / "ours" / "collection.db"), "list", "--json"
    )
    typed = next(card for card in json.loads(out) if card["front"].startswith("cat, in Spanish"))
    assert "el gato" not in typed["front"]  # the box to type in is left out: it would show the answer
    assert "typing the answer" in warnings
    assert "Tags_1" in text and "deck_2" in text  # fields named as a note's keys are: renamed
    # every card that was imported keeps its Anki history; the two left out bring none
    left_out = {cid for cid, values in anki_cards.items() if values[0] in (guids["nested"], guids["empty"])}
    kept = [anki_id for anki_id, cid in revlog if cid not in left_out]
    assert report.imported == len(kept) > 0
    logged = {row[0] for row in db.execute("SELECT anki_id FROM reviews")}
    assert logged == set(kept)
    again = import_file(db, SETTINGS, source, decks_dir=decks)
    assert (again.imported, again.media, again.media_kept) == (0, [], [])
    assert (decks / "imported" / "Pets.yaml").read_text(encoding="utf-8") == text


def test_notes_made_in_anki_exported_back_to_the_same_anki_are_not_added_twice(tmp_path: Any) -> None:
    """Anki knows a note it made by its GUID: an imported note goes back with it, so the
    collection it came from skips it (its note type differs) instead of adding a copy."""
    with AnkiEngine(tmp_path, tz="UTC", start=START) as anki:
        anki.enable_fsrs(deck="Pets")
        anki.run(MEDIA_NOTES)
        _session_in(anki, "Pets", START, 20)
        anki.export_apkg(tmp_path / "pets.apkg")
        decks = tmp_path / "ours" / "decks"
        decks.mkdir(parents=True)
        db = store.open_collection(tmp_path / "ours" / "collection.db")
        first = import_file(db, SETTINGS, tmp_path / "pets.apkg", decks_dir=decks)
        assert first.imported > 0
        notes = anki.run("result = col.note_count()")
        revlog = anki.run("result = col.db.scalar('select count() from revlog')")
        ours = export_package(db, tmp_path / "ours.apkg", with_scheduling=True, settings=SETTINGS).path
        anki.import_apkg(ours, merge_notetypes=False)  # the import dialog's default
        assert anki.run("result = col.note_count()") == notes
        assert anki.run("result = col.card_count()") == len(first.foreign[0].cards) + 3  # 3: left out here
        assert anki.run("result = col.db.scalar('select count() from revlog')") == revlog
        anki.export_apkg(tmp_path / "back.apkg")
    again = import_file(db, SETTINGS, tmp_path / "back.apkg", decks_dir=decks)
    assert (again.imported, again.notes_made_in_anki) == (0, 0)
    assert again.already == first.imported


@pytest.mark.parametrize("write", [False, True], ids=["dry-run", "import"])
def test_notes_imported_before_into_another_directory_stay_where_they_are_with_their_answers(
    foreign: dict[str, Any], write: bool
) -> None:
    """Another --into than the first time (or notes moved to a file of your own): a note already
    in a deck file stays there, the same id is not written twice, and its answers still count."""
    decks, db = foreign["decks"], foreign["db"]
    before = _log(db)
    package = foreign["decks"].parent / "lang.apkg"
    report = import_file(db, SETTINGS, package, decks_dir=decks, into=decks / "other", write=write)
    assert not (decks / "other").exists()
    assert _log(db) == before
    assert (report.imported, report.already, report.cards_mapped) == (0, foreign["report"].imported, 8)
    warnings = "\n".join(report.warnings())
    shown = display_path(decks / "imported" / "Lang~Spanish.yaml")
    assert f"2 notes of Anki deck 'Lang::Spanish' are in {shown} (moved there" in warnings
    assert "left as they are there, their answers imported" in warnings
    assert not any(line.startswith(("wrote", "would write")) for line in report.summary(not write))


ONE_NOTE = """
note = col.new_note(col.models.by_name("Basic"))
note["Front"], note["Back"] = FRONT, BACK
col.add_note(note, col.decks.id("Pets", create=True))
result = note.guid
"""


def _one_then_two(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, sqlite_utils.Database]:
    """Anki deck Pets exported with one note studied (one.apkg), then with a second (two.apkg);
    the decks directory (relative: the test runs in ``tmp_path``) and an empty collection."""
    with AnkiEngine(tmp_path, tz="UTC", start=START) as anki:
        anki.run(ONE_NOTE.replace("FRONT, BACK", '"hola", "hello"'))
        _session_in(anki, "Pets", START, 3)
        anki.export_apkg(tmp_path / "one.apkg")
        anki.run(ONE_NOTE.replace("FRONT, BACK", '"perro", "dog"'))
        anki.export_apkg(tmp_path / "two.apkg")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "decks").mkdir(exist_ok=True)
    return Path("decks"), store.open_collection(tmp_path / "collection.db")


def test_an_import_into_an_absolute_directory_updates_its_file_in_place(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--into spelled otherwise than the decks directory (absolute, as a shell expands '~'): the
    notes already in the file are the file's, not notes moved elsewhere."""
    decks, db = _one_then_two(tmp_path, monkeypatch)
    into = tmp_path / "decks" / "es"
    first = import_file(db, SETTINGS, tmp_path / "one.apkg", decks_dir=decks, into=into)
    second = import_file(db, SETTINGS, tmp_path / "two.apkg", decks_dir=decks, into=into)
    text = (into / "Pets.yaml").read_text(encoding="utf-8")
    assert "hola" in text and "perro" in text
    assert not [line for line in second.warnings() if "moved there" in line]
    assert db.execute("SELECT count(*) FROM notes WHERE retired_at IS NULL").fetchone() == (2,)
    assert second.already == first.imported > 0


def test_a_deck_file_that_is_a_link_keeps_its_notes_and_stays_a_link(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    decks, db = _one_then_two(tmp_path, monkeypatch)
    into = Path("decks") / "es"
    import_file(db, SETTINGS, tmp_path / "one.apkg", decks_dir=decks, into=into)
    (tmp_path / "elsewhere").mkdir()
    shutil.move(into / "Pets.yaml", tmp_path / "elsewhere" / "Pets.yaml")
    (into / "Pets.yaml").symlink_to(tmp_path / "elsewhere" / "Pets.yaml")
    second = import_file(db, SETTINGS, tmp_path / "two.apkg", decks_dir=decks, into=into)
    assert not [line for line in second.warnings() if "moved there" in line]
    assert (into / "Pets.yaml").is_symlink()
    text = (tmp_path / "elsewhere" / "Pets.yaml").read_text(encoding="utf-8")
    assert "hola" in text and "perro" in text
    assert db.execute("SELECT count(*) FROM notes WHERE retired_at IS NULL").fetchone() == (2,)
