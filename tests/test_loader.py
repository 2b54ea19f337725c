"""The deck loader: every problem is reported with file, line and column; nothing is constructed."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashcards.loader import MAX_FILE_BYTES, cross_file_problems, load_file
from flashcards.yamlnodes import MAX_DEPTH


def load(tmp_path: Path, text: str, name: str = "deck.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_file(path, name)


def messages(result) -> list[str]:
    return [str(p) for p in result.problems]


GOOD = """
deck: MLOps::Teams
tags: [mlops]
types:
  team:
    fields: [team, priority, bridge]
    templates:
      priority:
        front: "What does **{{team}}** prioritise?"
        back: "{{priority}}"
      bridge:
        front: "{{#bridge}}Your bridge role with {{team}}?{{/bridge}}"
        back: "{{bridge}}"
notes:
  - front: What is a canary deployment?
    back: A release to a small slice of traffic first.
  - type: reversed
    front: Shadow deployment
    back: The new model sees live traffic; its answers are never served.
  - type: cloze
    text: "Canary limits the {{c1::blast radius}} of {{c2::frequent releases::how often?}}."
    extra: From the article.
  - type: team
    id: team-ds
    team: Data Scientists
    priority: Model accuracy
    bridge: Enable experimentation with guardrails
    tags: [ds]
"""


def test_good_deck_loads_all_note_kinds(tmp_path: Path) -> None:
    result = load(tmp_path, GOOD)
    assert result.problems == []
    assert result.deck == "MLOps::Teams"
    ids = [card.id for note in result.notes for card in note.cards]
    assert ids == [
        "basic:what-is-a-canary-deployment/card",
        "reversed:shadow-deployment/card",
        "reversed:shadow-deployment/reverse",
        "cloze:canary-limits-the-blast-radius-of-frequent-releases/c1",
        "cloze:canary-limits-the-blast-radius-of-frequent-releases/c2",
        "team-ds/priority",
        "team-ds/bridge",
    ]
    reverse = result.notes[1].cards[1]
    assert reverse.front.startswith("The new model") and reverse.back == "Shadow deployment"
    c2 = result.notes[2].cards[1]
    assert c2.front == "Canary limits the blast radius of [how often?]."
    assert c2.back == "Canary limits the blast radius of {{c2::frequent releases}}.\n\nFrom the article."
    team = result.notes[3]
    assert team.tags == ("mlops", "ds")
    assert team.cards[0].front == "What does **Data Scientists** prioritise?"
    assert (team.path, team.line, team.column) == ("deck.yaml", 22, 5)


def test_scalars_are_kept_as_written(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        deck: D
        notes:
          - front: yes
            back: 3.20
          - front: "null?"
            back: ~
    """,
    )
    assert result.problems == []
    assert result.notes[0].fields == {"front": "yes", "back": "3.20"}
    assert result.notes[1].fields == {"front": "null?", "back": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("deck: [unclosed\n", "deck.yaml:2:1: error: YAML syntax:", id="syntax"),
        pytest.param(
            "deck: D\nnotes:\n  - front: a\n    back: b\n    back: c\n",
            "deck.yaml:5:5: error: duplicate key 'back' in a 'basic' note (first at line 4); keep one",
            id="duplicate-key",
        ),
        pytest.param(
            "deck: D\ndeck: E\nnotes: []\n",
            "deck.yaml:2:1: error: duplicate key 'deck'",
            id="duplicate-top-key",
        ),
        pytest.param(
            "deck: D\nnotes: {a: b}\n", "deck.yaml:2:8: error: 'notes' must be a list", id="wrong-type-notes"
        ),
        pytest.param(
            "deck: D\nnotes:\n  - front: [a, b]\n",
            "deck.yaml:3:12: error: field 'front' must be text, not a list",
            id="wrong-type-field",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - just text\n",
            "deck.yaml:3:5: error: a note must be a mapping",
            id="wrong-type-note",
        ),
        pytest.param("notes: []\n", "deck.yaml:1:1: error: missing key 'deck'", id="missing-deck"),
        pytest.param(
            "deck: D\nnotse: []\n",
            "deck.yaml:2:1: error: unknown key 'notse' in a deck file; did you mean 'notes'?",
            id="misspelt-key",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - front: a\n    bakc: b\n",
            "deck.yaml:4:5: error: unknown key 'bakc' in a 'basic' note; did you mean 'back'?",
            id="misspelt-field",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - back: b\n",
            "deck.yaml:3:5: error: field 'front' of a 'basic' note is empty",
            id="missing-front",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - type: clozed\n    text: x\n",
            "deck.yaml:3:11: error: unknown note type 'clozed'; did you mean 'cloze'?",
            id="unknown-type",
        ),
        pytest.param(
            "deck: D\ntypes:\n  t:\n    fields: [a]\n    templates:\n      one: {front: '{{b}}', back: '{{a}}'}\n",
            "deck.yaml:6:20: error: template 'one' of note type 't', front: names field 'b', which note type 't' does not have",
            id="template-missing-field",
        ),
        pytest.param(
            "deck: D\ntypes:\n  t:\n    fields: [a, b]\n    templates:\n      one: {front: '{{#b}}{{a}}{{/b}}', back: '{{a}}'}\nnotes:\n  - {type: t, a: x}\n",
            "deck.yaml:8:5: error: this note gets no card: the front of every template ('one') is empty for it",
            id="no-card",
        ),
        pytest.param(
            "deck: D\ntypes:\n  t:\n    fields: [a]\n    templates:\n      one: {front: 'Question', back: '{{a}}'}\n",
            "deck.yaml:6:20: error: template 'one' of note type 't': the front names no field",
            id="front-without-field",
        ),
        pytest.param(
            "deck: D\ntypes:\n  t:\n    fields: [a]\n    templates:\n      one: {front: '{{#a}}x', back: '{{a}}'}\n",
            "deck.yaml:6:20: error: template 'one' of note type 't', front: section 'a' is never closed",
            id="template-unclosed-section",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - type: cloze\n    text: no deletion here\n",
            "deck.yaml:4:11: error: cloze text has no deletion",
            id="cloze-without-deletion",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - type: cloze\n    text: '{{c1:oops}}'\n",
            "deck.yaml:4:11: error: malformed cloze",
            id="cloze-malformed",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - type: cloze\n    text: 'a {{c1::open'\n",
            "deck.yaml:4:11: error: cloze 'c1' is not closed",
            id="cloze-unclosed",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - type: cloze\n    text: '{{c0::zero}}'\n",
            "deck.yaml:4:11: error: cloze numbers start at 1",
            id="cloze-zero",
        ),
        pytest.param("", "deck.yaml:1:1: error: file is empty", id="empty-file"),
        pytest.param("# only a comment\n", "deck.yaml:1:1: error: file is empty", id="comment-only"),
        pytest.param(
            "deck: &d D\nnotes:\n  - {front: *d, back: b}\n", "error: anchors and aliases", id="alias"
        ),
        pytest.param(
            "deck: !!python/object:os.system D\nnotes: []\n",
            "deck.yaml:1:7: error: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
            id="python-tag",
        ),
        pytest.param(
            "deck: !custom D\nnotes: []\n", "error: YAML tag '!custom' is not allowed", id="custom-tag"
        ),
        pytest.param(
            "deck: D\ntags: [has space]\nnotes: []\n",
            "deck.yaml:2:8: error: tag 'has space' is not valid",
            id="bad-tag",
        ),
        pytest.param(
            "deck: D\nnotes:\n  - {id: 'bad id', front: a}\n", "error: id 'bad id' is not valid", id="bad-id"
        ),
        pytest.param(
            "deck: A::::B\nnotes: []\n",
            "deck.yaml:1:7: error: deck name 'A::::B' has an empty part",
            id="bad-deck-name",
        ),
        pytest.param(
            "deck: D\ntypes:\n  basic: {fields: [a], templates: {x: {front: '{{a}}', back: b}}}\n",
            "deck.yaml:3:3: error: 'basic' is a built-in note type",
            id="builtin-redeclared",
        ),
        pytest.param(
            "deck: D\ntypes:\n  t: {fields: [id], templates: {x: {front: '{{id}}', back: b}}}\n",
            "error: 'id' is reserved",
            id="reserved-field",
        ),
        pytest.param(
            "deck: D\ntypes:\n  t:\n    fields: [a]\n    templates:\n      x: {front: '{{a}}', back: '{{FrontSide}} {{a}}'}\n",
            "remove '{{FrontSide}}'",
            id="frontside",
        ),
    ],
)
def test_problems_are_located(tmp_path: Path, text: str, expected: str) -> None:
    result = load(tmp_path, text)
    found = messages(result)
    assert any(expected in message for message in found), found
    assert result.notes == [] or "note" not in expected


def test_all_problems_of_a_file_are_collected(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        deck: D
        notes:
          - front: ok
            back: fine
          - frnt: a
          - type: cloze
            text: nothing
          - front: [x]
    """,
    )
    assert [p.line for p in result.problems] == [5, 7, 8]
    assert len(result.notes) == 1


def test_non_utf8_file_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("deck: D\nnotes:\n  - front: caf\xe9\n".encode("latin-1"))
    result = load_file(path, "latin1.yaml")
    assert messages(result) == ["latin1.yaml:3:15: error: file is not UTF-8 (byte 0xe9); save it as UTF-8"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfdeck: D\nnotes:\n  - {front: a, back: b}\n")
    assert load_file(path).problems == []


def test_file_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"deck: D\nnotes:\n" + b"  - {front: a, back: b}\n" * (MAX_FILE_BYTES // 20))
    result = load_file(path, "big.yaml")
    assert len(result.problems) == 1
    assert "a deck file is at most 4 MiB: split it into several files" in str(result.problems[0])


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.process_time()
    result = load_file(path, "bomb.yaml")
    assert time.process_time() - started < 5  # a sanity bound: expanded, this would never finish
    assert any("anchors and aliases" in str(p) for p in result.problems)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 5000])
def test_absurd_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("deck: D\nnotes: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    result = load_file(path, "deep.yaml")
    assert result.problems, "deep nesting must be reported"
    assert any("nesting" in str(p) or "YAML" in str(p) for p in result.problems)


def test_duplicate_ids_are_reported_at_both_locations(tmp_path: Path) -> None:
    first = load(tmp_path, "deck: A\nnotes:\n  - {id: same, front: a, back: b}\n", "a.yaml")
    second = load(
        tmp_path, "deck: B\nnotes:\n  - front: c\n    back: d\n  - {id: same, front: e, back: f}\n", "b.yaml"
    )
    problems = [str(p) for p in cross_file_problems([first, second])]
    assert problems == [
        "a.yaml:3:5: error: duplicate note id 'same' (also at b.yaml:5); give one of them another 'id:'",
        "b.yaml:5:5: error: duplicate note id 'same' (also at a.yaml:3); give one of them another 'id:'",
    ]


def test_derived_ids_ignore_case_spacing_and_punctuation(tmp_path: Path) -> None:
    one = load(tmp_path, "deck: D\nnotes:\n  - {front: 'What is  a Canary?', back: b}\n", "one.yaml")
    two = load(tmp_path, "deck: D\nnotes:\n  - {front: 'what is a canary', back: other}\n", "two.yaml")
    assert one.notes[0].id == two.notes[0].id == "basic:what-is-a-canary"


def test_type_declared_differently_in_two_files(tmp_path: Path) -> None:
    declare = "deck: D\ntypes:\n  t:\n    fields: [a]\n    templates:\n      x: {{front: '{{{{a}}}}', back: '{back}'}}\nnotes: []\n"
    first = load(tmp_path, declare.format(back="one"), "a.yaml")
    second = load(tmp_path, declare.format(back="two"), "b.yaml")
    same = load(tmp_path, declare.format(back="one"), "c.yaml")
    assert cross_file_problems([first, same]) == []
    problems = [str(p) for p in cross_file_problems([first, second])]
    assert problems[0].startswith("a.yaml:3:3: error: note type 't' is declared differently at b.yaml:3")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_gives_problems_or_notes_never_an_exception(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    result = load_file(path, "fuzz.yaml")
    for problem in result.problems:
        assert problem.line >= 1 and problem.column >= 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=40).filter(
                lambda s: s.strip()
            ),
            st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=40),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_front_and_back_round_trip_through_yaml(tmp_path: Path, pairs: list[tuple[str, str]]) -> None:
    import json

    body = "".join(
        f"  - id: n{i}\n    front: {json.dumps(f, ensure_ascii=False)}\n    back: {json.dumps(b, ensure_ascii=False)}\n"
        for i, (f, b) in enumerate(pairs)
    )
    path = tmp_path / "rt.yaml"
    path.write_text("deck: D\nnotes:\n" + body, encoding="utf-8")
    result = load_file(path, "rt.yaml")
    assert result.problems == []
    assert [(n.fields["front"], n.fields["back"]) for n in result.notes] == [
        (f.strip("\n"), b.strip("\n")) for f, b in pairs
    ]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("99999999999999999999", "cloze number 'c999999999999…' is too large: use c1 to c999"),
        ("1000", "cloze number 'c1000' is too large: use c1 to c999"),
        ("9" * 5000, "is too large: use c1 to c999"),
        ("0", "cloze numbers start at 1"),
    ],
)
def test_cloze_numbers_are_bounded_where_read(tmp_path: Path, number: str, message: str) -> None:
    result = load(tmp_path, f'deck: D\nnotes:\n  - type: cloze\n    text: "x {{{{c{number}::b}}}}"\n')
    assert len(result.problems) == 1
    assert str(result.problems[0]).startswith("deck.yaml:4:11: error: ")
    assert message in str(result.problems[0])


def test_highest_cloze_number_loads(tmp_path: Path) -> None:
    result = load(tmp_path, 'deck: D\nnotes:\n  - type: cloze\n    text: "x {{c999::b}}"\n')
    assert result.problems == []
    assert [c.id for c in result.notes[0].cards] == ["cloze:x-b/c999"]


def test_a_device_is_refused_without_reading_it() -> None:
    # /dev/zero is the case that matters (stat() says 0 bytes, reading never ends); test_cli
    # runs it under a memory limit. /dev/null is safe to read here, even without the check.
    result = load_file(Path("/dev/null"), "/dev/null")
    assert [str(p) for p in result.problems] == [
        "/dev/null:1:1: error: not a regular file; a deck file is a YAML file on disk (not a device or pipe)"
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("[word, cards_id]", "4:20: error: 'cards_id' is reserved: the Anki export adds a field 'cards_id'"),
        ("[word, Cards_ID]", "4:20: error: 'Cards_ID' is reserved: the Anki export adds a field 'cards_id'"),
        ("[word, Word]", "4:20: error: field 'Word' differs from 'word' only in case, and Anki would take"),
    ],
)
def test_field_names_that_would_clash_in_anki_are_located_errors(
    tmp_path: Path, fields: str, expected: str
) -> None:
    text = f'deck: D\ntypes:\n  t:\n    fields: {fields}\n    templates:\n      card: {{front: "{{{{word}}}}", back: x}}\nnotes: []\n'
    result = load(tmp_path, text)
    assert expected in str(result.problems[0])


@pytest.mark.parametrize("byte", [b"\x00", b"\x01", b"\x1b"])
def test_a_raw_control_character_is_located_at_its_line(tmp_path: Path, byte: bytes) -> None:
    path = tmp_path / "raw.yaml"
    path.write_bytes(b"deck: D\nnotes:\n  - front: \xc3\xa9\xe6\x97\xa5\n    back: b" + byte + b"c\n")
    result = load_file(path, "raw.yaml")
    code = byte[0]
    assert [str(p) for p in result.problems] == [
        f'raw.yaml:4:12: error: control character U+{code:04X} is not allowed in YAML; in a double-quoted string write "\\x{code:02x}"'
    ]
