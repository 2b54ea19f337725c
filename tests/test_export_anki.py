"""Import exported packages into a real Anki collection and check that it holds what cards holds."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from flashcards import clock, store
from flashcards.compiler import compile_decks
from flashcards.export import ID_FIELD, anki_type_name, export_package
from flashcards.scheduler import answer, set_suspended
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Rating

from .conftest import BUNDLED_DECKS

ALWAYS = 1  # ImportAnkiPackageUpdateCondition.ALWAYS
DECK = """
deck: Lang::Python
tags: [python, code]
types:
  term:
    fields: [term, meaning, example]
    key: term
    templates:
      meaning:
        front: "What does **{{term}}** mean?"
        back: "{{meaning}}{{#example}}\\n\\nExample: {{example}}{{/example}}"
      term:
        front: "Which term means *{{meaning}}*?"
        back: "{{term}}"
notes:
  - front: "Is 1 < 2 && \\"yes\\" == 'yes'?"
    back: "True & <script>alert('x')</script>"
    tags: [operators]
  - type: reversed
    front: List comprehension
    back: |
      A compact loop:
      - `[x * 2 for x in xs]`
      - *filters* too
  - type: cloze
    text: "A {{c1::generator}} is lazy; {{c2::**yield**::keyword}} returns a value."
    extra: "See PEP 255 < 300"
  - type: term
    id: term-gil
    term: GIL
    meaning: Global interpreter lock
    example: "Only one thread runs `bytecode` at a time."
  - type: term
    id: term-eafp
    term: EAFP
    meaning: Easier to ask forgiveness than permission
"""
SUB_DECK = """
deck: Lang::Python::Idioms
notes:
  - front: What does `enumerate` return?
    back: Pairs of (index, item).
"""


def import_package(collection: Collection, package: Path, **options: Any) -> Any:
    """Import ``package`` into ``collection`` as Anki's import dialog does."""
    request = ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions(**options))
    return collection.import_anki_package(request)


@pytest.fixture
def anki(tmp_path: Path) -> Any:
    """A fresh, empty Anki collection."""
    (tmp_path / "anki").mkdir()
    collection = Collection(str(tmp_path / "anki" / "collection.anki2"))
    yield collection
    collection.close()


@pytest.fixture
def project(write_deck: Callable[..., Path], decks: Path, db_path: Path) -> sqlite_utils.Database:
    """A collection compiled from two deck files, one a sub-deck of the other."""
    write_deck("python.yaml", DECK)
    write_deck("python/idioms.yaml", SUB_DECK)
    db = store.open_collection(db_path)
    compile_decks(db, decks, datetime(2026, 1, 5, 12, tzinfo=UTC))
    return db


def _notes_by_id(collection: Collection) -> dict[str, Any]:
    notes = {}
    for note_id in collection.find_notes(""):
        note = collection.get_note(note_id)
        notes[note[ID_FIELD]] = note
    return notes


def _text(field: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", field))


def test_first_import_holds_exactly_what_cards_holds(
    project: sqlite_utils.Database, tmp_path: Path, anki: Any
) -> None:
    result = export_package(project, tmp_path / "out.apkg")
    log = import_package(anki, result.path).log
    assert len(log.new) == result.notes == 6
    assert anki.note_count() == 6
    assert anki.card_count() == result.cards == project.execute("SELECT count(*) FROM cards").fetchone()[0]

    names = {d.name for d in anki.decks.all_names_and_ids()} - {"Default"}
    assert names == {"Lang", "Lang::Python", "Lang::Python::Idioms"}
    assert anki.decks.parents(anki.decks.id_for_name("Lang::Python::Idioms"))[-1]["name"] == "Lang::Python"

    types = {
        m.name: [f["name"] for f in anki.models.get(m.id)["flds"]] for m in anki.models.all_names_and_ids()
    }
    one, two = ["cards_front_1", "cards_back_1"], ["cards_front_2", "cards_back_2"]
    assert types[anki_type_name("basic")] == ["front", "back", *one, ID_FIELD]
    assert types[anki_type_name("reversed")] == ["front", "back", *one, *two, ID_FIELD]
    assert types[anki_type_name("cloze")] == ["text", "extra", ID_FIELD]
    assert types[anki_type_name("term")][:3] == ["term", "meaning", "example"]
    assert types[anki_type_name("term")][-1] == ID_FIELD
    assert anki.models.by_name(anki_type_name("cloze"))["type"] == 1

    notes = _notes_by_id(anki)
    stored = {
        row[0]: (json.loads(row[1]), json.loads(row[2]))
        for row in project.execute("SELECT id, fields, tags FROM notes")
    }
    assert set(notes) == set(stored)
    for note_id, (_, tags) in stored.items():
        assert sorted(notes[note_id].tags) == sorted(tags)
    basic = notes["basic:is-1-2-yes-yes"]
    assert _text(basic["front"]) == "Is 1 < 2 && \"yes\" == 'yes'?"
    assert _text(basic["back"]) == "True & <script>alert('x')</script>"
    assert "<script>" not in basic["back"]
    reversed_note = next(n for key, n in notes.items() if key.startswith("reversed:"))
    assert "<ul>" in reversed_note["back"] and "<code>[x * 2 for x in xs]</code>" in reversed_note["back"]
    assert "<em>filters</em>" in reversed_note["back"]


def test_every_card_renders_with_a_visible_front(
    project: sqlite_utils.Database, tmp_path: Path, anki: Any
) -> None:
    import_package(anki, export_package(project, tmp_path / "out.apkg").path)
    templates = {}
    for card_id in anki.find_cards(""):
        card = anki.get_card(card_id)
        question, answer_html = card.question(), card.answer()
        for side in (question, answer_html):
            assert "template has a problem" not in side.lower()
        visible = _text(re.sub(r"<style>.*?</style>", "", question, flags=re.DOTALL)).strip()
        assert visible
        templates[(card.note()[ID_FIELD], card.ord)] = (visible, answer_html)
    cloze_id = next(key for key, _ in templates if key.startswith("cloze:"))
    assert {ord_ for key, ord_ in templates if key == cloze_id} == {0, 1}
    front, back = templates[(cloze_id, 1)]
    assert "[keyword]" in front and "generator" in front
    assert '<span class="cloze" data-ordinal="2"><strong>yield</strong></span>' in back
    assert "See PEP 255 &lt; 300" in back
    front, back = templates[("term-gil", 0)]
    assert front == "What does GIL mean?"
    assert "<strong>GIL</strong>" in back and "<hr id=answer>" in back and "Example: Only one thread" in back
    front, _ = templates[("term-eafp", 0)]
    _, back = templates[("term-eafp", 0)]
    assert "Example:" not in back
    for card_id in anki.find_cards(f'"note:{anki_type_name("cloze")}"'):
        assert anki.get_card(card_id).note_type()["type"] == 1


def test_reimport_updates_edited_notes_in_place_and_keeps_anki_history(
    project: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path, tmp_path: Path, anki: Any
) -> None:
    import_package(anki, export_package(project, tmp_path / "first.apkg").path)
    anki_note_ids = set(anki.find_notes(""))
    card_ids = set(anki.find_cards(""))
    studied = anki.get_card(anki.find_cards(f'"{ID_FIELD}:term-gil" card:1')[0])
    studied.start_timer()
    anki.sched.answerCard(studied, 3)
    studied_state = (
        studied.id,
        anki.get_card(studied.id).reps,
        anki.db.scalar("SELECT count(*) FROM revlog"),
    )

    # Anki keeps the package's modification times, so a later edit is "newer" whenever it was imported.
    write_deck("python.yaml", DECK.replace("Global interpreter lock", "Global interpreter *lock*"))
    compile_decks(project, decks, datetime(2026, 1, 6, tzinfo=UTC))
    log = import_package(anki, export_package(project, tmp_path / "second.apkg").path).log

    assert [_text(n.fields[-1]) for n in log.updated] == ["term-gil"]
    assert len(log.new) == 0 and len(log.conflicting) == 0
    assert set(anki.find_notes("")) == anki_note_ids
    assert set(anki.find_cards("")) == card_ids
    assert "Global interpreter <em>lock</em>" in _notes_by_id(anki)["term-gil"]["meaning"]
    card = anki.get_card(studied_state[0])
    assert (card.id, card.reps, anki.db.scalar("SELECT count(*) FROM revlog")) == studied_state
    assert card.reps == 1


def test_reimport_of_a_changed_note_type_merges_it(
    project: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path, tmp_path: Path, anki: Any
) -> None:
    import_package(anki, export_package(project, tmp_path / "first.apkg").path)
    changed = DECK.replace("fields: [term, meaning, example]", "fields: [term, meaning, example, source]")
    write_deck("python.yaml", changed.replace('    example: "Only', '    source: docs\n    example: "Only'))
    compile_decks(project, decks, datetime(2026, 1, 6, tzinfo=UTC))
    second = export_package(project, tmp_path / "second.apkg").path
    # Merging stamps the notes of the merged type with the import time, so they need "update: always".
    log = import_package(anki, second, merge_notetypes=True, update_notes=ALWAYS).log
    assert len(log.conflicting) == 0 and len(log.new) == 0
    assert anki.note_count() == 6
    fields = [f["name"] for f in anki.models.by_name(anki_type_name("term"))["flds"]]
    own = [f for f in fields if not re.fullmatch(r"cards_(front|back)_\d+", f)]
    assert sorted(own) == sorted(["term", "meaning", "example", "source", ID_FIELD])
    assert _notes_by_id(anki)["term-gil"]["source"] == "docs"


def test_scheduling_arrives_in_anki(project: sqlite_utils.Database, tmp_path: Path, anki: Any) -> None:
    settings = Settings(defaults=DeckSettings(enable_fuzzing=False))
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    reviewed = "term-gil/meaning"
    for offset, rating in (
        (timedelta(0), 3),
        (timedelta(minutes=10), 3),
        (timedelta(days=4), 1),
        (timedelta(days=4, minutes=10), 3),
    ):
        answer(project, reviewed, rating, start + offset, 4000, settings)
    easy = "basic:is-1-2-yes-yes/card"
    answer(project, easy, 4, start, 2000, settings)
    learning = "term-eafp/meaning"
    # answered a moment ago, today, and early enough that its 10-minute step ends before the day
    # does (Anki reads the real clock: a step past the rollover is an interday step, queue 3)
    now = datetime.now(UTC)
    hour = settings.day_start_hour
    at = max(clock.day_start(clock.study_day(now, hour), hour), now - timedelta(minutes=2))
    at = min(at, clock.next_day_start(now, hour) - timedelta(minutes=15))
    answer(project, learning, 3, at, 70_000, settings)

    project.execute("UPDATE cards SET suspended = 1 WHERE id IN (?, ?)", [easy, "term-eafp/term"])
    result = export_package(project, tmp_path / "s.apkg", with_scheduling=True, settings=settings)
    assert result.reviews == 6
    import_package(anki, result.path, with_scheduling=True)

    today = clock.study_day(datetime.now(UTC))
    for card_id in (reviewed, easy, learning):
        row = project.execute(
            "SELECT state, due, last_review, reps, lapses, stability, difficulty FROM cards WHERE id = ?",
            [card_id],
        ).fetchone()
        note_id = card_id.rsplit("/", 1)[0]
        ordinal = project.execute("SELECT ordinal FROM cards WHERE id = ?", [card_id]).fetchone()[0]
        anki_card = anki.get_card(anki.find_cards(f'"{ID_FIELD}:{note_id}" card:{ordinal + 1}')[0])
        due = clock.from_db(row[1])
        assert anki_card.type == row[0]
        assert (anki_card.queue == -1) == (card_id == easy)
        assert (anki_card.reps, anki_card.lapses) == (row[3], row[4])
        revlog = anki.db.list("SELECT ease FROM revlog WHERE cid = ? ORDER BY id", anki_card.id)
        ratings = project.execute(
            "SELECT rating FROM reviews WHERE card_id = ? ORDER BY id", [card_id]
        ).fetchall()
        assert revlog == [r[0] for r in ratings]
        assert anki_card.memory_state.stability == pytest.approx(row[5], abs=1e-3)
        assert anki_card.memory_state.difficulty == pytest.approx(row[6], abs=1e-2)
        if row[0] == 2:
            days = (clock.study_day(due) - today).days
            assert anki_card.due == anki.sched.today + days
            interval = (clock.study_day(due) - clock.study_day(clock.from_db(row[2]))).days
            assert anki_card.ivl == interval
        else:
            assert anki_card.queue == 1 and anki_card.due == int(due.timestamp())
    suspended = anki.find_cards("is:suspended")
    assert sorted(anki.get_card(c).note()[ID_FIELD] for c in suspended) == [
        "basic:is-1-2-yes-yes",
        "term-eafp",
    ]
    assert {anki.get_card(c).type for c in suspended} == {0, 2}
    times = anki.db.list("SELECT time FROM revlog ORDER BY id")
    assert max(times) == 60_000


IMPORT_IN_ZONE = """
import json, sys
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
anki = Collection(sys.argv[1])
options = ImportAnkiPackageOptions(with_scheduling=True)
anki.import_anki_package(ImportAnkiPackageRequest(package_path=sys.argv[2], options=options))
cards = [anki.get_card(card_id) for card_id in anki.find_cards('"cards_id:term-gil"', order="c.ord")]
print(json.dumps({"today": anki.sched.today, "cards": [[c.due, c.ivl] for c in cards]}))
"""


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_due_dates_across_the_day_boundary(
    project: sqlite_utils.Database, tmp_path: Path, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A card due just before the next local 04:00 is due today in Anki; one due at 04:00, tomorrow.

    Anki reads the time zone once per process, so it runs in a process of its own, in ``zone``.
    """
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    now = datetime.now(UTC)
    boundary = clock.next_day_start(now)
    cases = {"term-gil/meaning": boundary - timedelta(seconds=1), "term-gil/term": boundary}
    for card_id, due in cases.items():
        project.execute(
            "UPDATE cards SET state = 2, stability = 3.0, difficulty = 5.0, reps = 1, due = ?, last_review = ? "
            "WHERE id = ?",
            [clock.to_db(due), clock.to_db(now - timedelta(days=3)), card_id],
        )
    package = export_package(project, tmp_path / "b.apkg", with_scheduling=True).path
    (tmp_path / "anki").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_IN_ZONE, str(tmp_path / "anki" / "c.anki2"), str(package)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": zone},
    )
    seen = json.loads(done.stdout)
    today = seen["today"]
    assert seen["cards"] == [[today, 3], [today + 1, 4]]


def test_bundled_decks_import_into_anki(decks: Path, db_path: Path, tmp_path: Path, anki: Any) -> None:
    shutil.rmtree(decks)
    shutil.copytree(BUNDLED_DECKS, decks)
    db = store.open_collection(db_path)
    compile_decks(db, decks, datetime(2026, 1, 5, tzinfo=UTC))
    result = export_package(db, tmp_path / "bundled.apkg")
    import_package(anki, result.path)
    assert anki.note_count() == result.notes == db.execute("SELECT count(*) FROM notes").fetchone()[0]
    assert anki.card_count() == result.cards == db.execute("SELECT count(*) FROM cards").fetchone()[0]
    deck_names = {row[0] for row in db.execute("SELECT DISTINCT deck FROM notes")}
    assert deck_names <= {d.name for d in anki.decks.all_names_and_ids()}
    for card_id in anki.find_cards(""):
        card = anki.get_card(card_id)
        assert "template has a problem" not in (card.question() + card.answer()).lower()


def test_an_edited_template_updates_the_note_type_with_default_options(
    project: sqlite_utils.Database, write_deck: Callable[..., Path], decks: Path, tmp_path: Path, anki: Any
) -> None:
    import_package(anki, export_package(project, tmp_path / "first.apkg").path)
    write_deck("python.yaml", DECK.replace('"What does **{{term}}** mean?"', '"Define *{{term}}*."'))
    compile_decks(project, decks, datetime(2026, 1, 6, tzinfo=UTC))
    log = import_package(anki, export_package(project, tmp_path / "second.apkg").path).log
    assert len(log.new) == len(log.conflicting) == 0
    template = anki.models.by_name(anki_type_name("term"))["tmpls"][0]
    assert template["qfmt"] == "{{cards_front_1}}"  # the card's HTML is rendered at compile time
    card = anki.get_card(anki.find_cards(f'"{ID_FIELD}:term-gil" card:1')[0])
    assert "Define <em>GIL</em>." in card.question()


def test_anki_recomputes_the_same_memory_states_when_fsrs_is_turned_on(
    write_deck: Callable[..., Path], decks: Path, tmp_path: Path
) -> None:
    """Import with scheduling, then turn FSRS on in Anki: its states from the revlog equal ours."""
    from tests.anki_engine import AnkiEngine

    write_deck(
        "ex.yaml", "deck: Ex\nnotes:\n" + "".join(f"  - front: q{i}\n    back: a{i}\n" for i in range(6))
    )
    db = store.open_collection(tmp_path / "c.db")
    start = datetime(2026, 1, 5, 10, tzinfo=UTC)
    compile_decks(db, decks, start)
    settings = Settings(defaults=DeckSettings(enable_fuzzing=True))
    ratings = [3, 3, 1, 3, 4, 2, 3, 1, 1, 3]
    now = start
    for step in range(24):  # every card due is answered each morning (or evening), fuzz on
        for card_id, in db.execute("SELECT id FROM cards WHERE state = 0 OR due <= ? ORDER BY id",
                                   [clock.to_db(now)]).fetchall():  # fmt: skip
            answer(db, card_id, ratings[(step + len(card_id)) % len(ratings)], now, 3000, settings)
        now += timedelta(hours=13 if step % 2 else 11)
    package = export_package(db, tmp_path / "ex.apkg", with_scheduling=True, settings=settings).path
    ours = {
        card_id: (stability, difficulty)
        for card_id, stability, difficulty in db.execute("SELECT id, stability, difficulty FROM cards")
    }
    with AnkiEngine(tmp_path, tz="UTC", start=now + timedelta(days=1)) as anki:
        anki.import_apkg(package)
        anki.enable_fsrs(deck="Ex")  # Anki recomputes every card's memory state from the revlog
        found = anki.run(
            "result = [(c.note()['cards_id'], c.ord, c.memory_state.stability, c.memory_state.difficulty)"
            " for c in (col.get_card(i) for i in col.find_cards(''))]"
        )
    assert len(found) == len(ours) == 6
    for note_id, ordinal, stability, difficulty in found:
        mine = ours[f"{note_id}/card"]
        assert ordinal == 0
        assert stability == pytest.approx(mine[0], rel=1e-3), note_id
        assert difficulty == pytest.approx(mine[1], abs=2e-3), note_id


LEECH = "term-gil/meaning"


def _make_leech(db: sqlite_utils.Database, card_id: str) -> None:
    """Learn the card, then lapse it once: a leech (suspended) at threshold 1."""
    settings = Settings(defaults=DeckSettings(enable_fuzzing=False, leech_threshold=1))
    answer(db, card_id, 4, datetime(2026, 1, 6, 12, tzinfo=UTC), 3000, settings)
    assert answer(db, card_id, 1, datetime(2026, 1, 20, 12, tzinfo=UTC), 3000, settings).leech


def _leech_card(collection: Collection) -> Any:
    note_id, template = LEECH.split("/")
    ordinal = 1 if template == "meaning" else 2
    return collection.get_card(collection.find_cards(f'"{ID_FIELD}:{note_id}" card:{ordinal}')[0])


def test_a_leech_arrives_tagged_leech_and_suspended_until_unsuspended(
    project: sqlite_utils.Database, tmp_path: Path
) -> None:
    _make_leech(project, LEECH)
    seen = []
    for name in ("suspended", "unsuspended"):
        if name == "unsuspended":
            assert set_suspended(project, [LEECH], False).changed == (LEECH,)
        package = export_package(project, tmp_path / f"{name}.apkg", with_scheduling=True).path
        (tmp_path / name).mkdir()
        anki = Collection(str(tmp_path / name / "collection.anki2"))
        try:
            import_package(anki, package, with_scheduling=True)
            tagged = {note_id for note_id, note in _notes_by_id(anki).items() if "leech" in note.tags}
            card = _leech_card(anki)
            seen.append((tagged, sorted(card.note().tags), card.queue, card.lapses))
        finally:
            anki.close()
    assert seen[0] == ({"term-gil"}, ["code", "leech", "python"], -1, 1)
    assert seen[1][:2] == seen[0][:2]
    assert seen[1][2:] == (1, 1)  # relearning, due again


def test_a_note_that_became_a_leech_gets_the_tag_on_reimport(
    project: sqlite_utils.Database, tmp_path: Path, anki: Any
) -> None:
    first = export_package(project, tmp_path / "first.apkg", with_scheduling=True).path
    import_package(anki, first, with_scheduling=True)
    assert "leech" not in _notes_by_id(anki)["term-gil"].tags
    _make_leech(project, LEECH)
    second = export_package(project, tmp_path / "second.apkg", with_scheduling=True).path
    log = import_package(anki, second, with_scheduling=True).log
    assert [_text(n.fields[-1]) for n in log.updated] == ["term-gil"]
    assert sorted(_notes_by_id(anki)["term-gil"].tags) == ["code", "leech", "python"]
    assert _leech_card(anki).queue == 0  # a card Anki already has keeps its own scheduling


def test_a_package_without_scheduling_has_no_leech_tag(
    project: sqlite_utils.Database, tmp_path: Path
) -> None:
    """As in Anki, which drops the tag from packages without scheduling."""
    before = export_package(project, tmp_path / "before.apkg").path.read_bytes()
    _make_leech(project, LEECH)
    assert export_package(project, tmp_path / "after.apkg").path.read_bytes() == before


def test_a_rehearsal_arrives_as_cards_rehearsal_and_cram_or_moved_rows_leave_fsrs_as_ours(
    write_deck: Callable[..., Path], decks: Path, tmp_path: Path
) -> None:
    """The checklist on the back in Anki; its FSRS ignores cram answers and due days brought forward."""
    from tests.anki_engine import AnkiEngine
    from tests.conftest import make_controller

    write_deck(
        "prep.yaml",
        """
        deck: Prep
        notes:
          - id: canary
            front: What is a canary deployment?
            back: A release to a small slice of traffic first.
          - type: rehearsal
            id: star
            prompt: Tell me about a risky rollout.
            time: 2m
            points: [The situation, A canary first, The result]
            covers: [[], canary, []]
        """,
    )
    db = store.open_collection(tmp_path / "c.db")
    start = datetime(2026, 1, 5, 10, tzinfo=UTC)
    compile_decks(db, decks, start)
    settings = Settings(defaults=DeckSettings(enable_fuzzing=False))
    now = start
    for day in range(12):
        now = start + timedelta(days=day)
        session = make_controller(db, settings, now=now)
        rehearsed = 0
        while session.card() is not None:
            session.reveal()
            if session.rehearsal is not None:  # a point missed on every third day's first try
                missed = day % 3 == 0 and not rehearsed
                for number in (1, 3) if missed else (1, 2, 3):
                    session.tick(number)
                session.commit()
                rehearsed += 1
            else:
                session.rate(Rating.GOOD)
        cram = make_controller(db, settings, now=now + timedelta(hours=8), cram=True)
        while cram.card() is not None:
            cram.reveal()
            cram.rate(Rating.AGAIN)  # would lower every stability, were it an answer
    kinds = dict(db.execute("SELECT kind, count(*) FROM reviews GROUP BY kind").fetchall())
    assert kinds[1] > 10 and kinds[2] >= 1  # cram answers, and the canary brought forward
    package = export_package(db, tmp_path / "prep.apkg", with_scheduling=True, settings=settings).path
    ours = dict(db.execute("SELECT note_id, stability FROM cards").fetchall())
    with AnkiEngine(tmp_path, tz="UTC", start=now + timedelta(days=1)) as anki:
        anki.import_apkg(package)
        model = anki.run("m = col.models.by_name('cards:rehearsal'); result = [f['name'] for f in m['flds']]")
        back = anki.run(f"c = col.get_card(col.find_cards('\"{ID_FIELD}:star\"')[0]); result = c.answer()")
        revlog = anki.run(
            "result = sorted({tuple(r) for r in col.db.all('select type, factor = 0, ease = 0 from revlog')})"
        )
        anki.enable_fsrs(deck="Prep")
        found = anki.run(
            "result = [(c.note()['cards_id'], c.memory_state.stability) for c in "
            "(col.get_card(i) for i in col.find_cards(''))]"
        )
    assert model == ["prompt", "points", "time", "covers", "cards_front_1", "cards_back_1", ID_FIELD]
    assert "Tick the points you made:" in back
    assert re.search(r"<li>☐ The situation</li>\s*<li>☐ A canary first</li>\s*<li>☐ The result</li>", back)
    assert len(found) == 2
    for note_id, stability in found:
        assert stability == pytest.approx(ours[note_id], rel=1e-3), note_id
    assert [3, 1, 0] in revlog and [4, 0, 1] in revlog  # cram: filtered, factor 0; moved: manual, no button
