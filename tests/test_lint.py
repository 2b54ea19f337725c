"""cards lint: each rule flags a card that breaks it and passes a close one that does not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcards.cli import cli
from flashcards.compiler import check_paths
from flashcards.lint import Finding, Limits, lint_notes


def lint_text(tmp_path: Path, notes: str, types: str = "", limits: Limits | None = None) -> list[Finding]:
    path = tmp_path / "deck.yaml"
    path.write_text(f"deck: D\n{types}notes:\n{notes}")
    files, problems = check_paths([path])
    assert problems == []
    return lint_notes((n for f in files for n in f.notes), limits=lambda deck: limits or Limits())


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


TEAM_TYPE = """types:
  team:
    fields: [team, friction]
    key: team
    templates:
      friction:
        front: "What is the friction with **{{team}}**?"
        back: "{{friction}}"
      who:
        front: "Which team's friction is *{{friction}}*?"
        back: "{{team}}"
"""


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        (
            "  - {front: 'Which team builds security into ML pipelines?', back: Security}\n",
            ["answer-on-front"],
        ),
        ("  - {front: 'Which team wants controls?', back: Security}\n", []),
        (  # a cloze whose answer is in the clear in another deletion's place
            "  - {type: cloze, text: 'Deploy {{c1::weekly}}, not {{c2::monthly}}; weekly wins'}\n",
            ["answer-on-front"],
        ),
        ("  - {type: cloze, text: 'Deploy {{c1::weekly}}, not {{c2::monthly}}; frequent wins'}\n", []),
        (  # the cloze answer is repeated in the clear in the same sentence
            "  - {type: cloze, text: 'The {{c1::canary}} deployment: a canary limits the blast radius'}\n",
            ["answer-on-front"],
        ),
    ],
)
def test_answer_on_front(tmp_path: Path, notes: str, expected: list[str]) -> None:
    assert rules(lint_text(tmp_path, notes)) == expected


def test_answer_on_front_is_located_at_the_note(tmp_path: Path) -> None:
    findings = lint_text(tmp_path, "  - id: a\n    front: Who runs Security reviews?\n    back: Security\n")
    assert [str(f) for f in findings] == [
        f"{tmp_path / 'deck.yaml'}:3:5: warning: the answer (Security) can be read on the front [answer-on-front]"
    ]


def test_same_front_and_duplicate(tmp_path: Path) -> None:
    notes = (
        "  - {id: a, front: What was your goal?, back: One cadence for both teams}\n"
        "  - {id: b, front: What was your goal?, back: Faster reviews}\n"
        "  - {id: c, front: What was your goal?, back: Faster reviews}\n"
    )
    assert rules(lint_text(tmp_path, notes)) == ["same-front", "duplicate"]
    close = (
        "  - {id: a, front: 'Cadence story: what was your goal?', back: One cadence for both teams}\n"
        "  - {id: b, front: 'Security story: what was your goal?', back: Faster reviews}\n"
    )
    assert rules(lint_text(tmp_path, close)) == []


def test_same_front_in_other_decks_is_fine(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("deck: A\nnotes:\n  - {id: a, front: Goal?, back: One}\n")
    (tmp_path / "b.yaml").write_text("deck: B\nnotes:\n  - {id: b, front: Goal?, back: Two}\n")
    files, _ = check_paths([tmp_path])
    assert lint_notes(n for f in files for n in f.notes) == []


def test_ambiguous_reverse(tmp_path: Path) -> None:
    notes = (
        "  - {type: team, team: Platform, friction: 'Want stability, resist change'}\n"
        "  - {type: team, team: SRE, friction: 'Want stability above all, resist change'}\n"
    )
    findings = lint_text(tmp_path, notes, TEAM_TYPE)
    assert [(f.rule, f.card_id) for f in findings] == [("ambiguous", "team:platform/who")]
    close = (
        "  - {type: team, team: Platform, friction: 'Want stability, resist change'}\n"
        "  - {type: team, team: SRE, friction: 'Want stability above all'}\n"
    )
    assert rules(lint_text(tmp_path, close, TEAM_TYPE)) == []


def test_ambiguous_ignores_a_note_with_the_same_answer(tmp_path: Path) -> None:
    notes = (
        "  - {type: team, team: Platform, friction: 'Want stability, resist change'}\n"
        "  - {type: cloze, text: 'Platform: want {{c1::stability}}, resist change'}\n"
    )
    assert rules(lint_text(tmp_path, notes, TEAM_TYPE)) == []


def test_long_answer_and_front(tmp_path: Path) -> None:
    answer = " ".join(["word"] * 21)
    assert rules(lint_text(tmp_path, f"  - {{front: Quote?, back: {answer}}}\n")) == ["long-answer"]
    answer = " ".join(["word"] * 20)
    assert rules(lint_text(tmp_path, f"  - {{front: Quote?, back: {answer}}}\n")) == []
    front = " ".join(["cue"] * 41)
    assert rules(lint_text(tmp_path, f"  - {{front: {front}, back: yes}}\n")) == ["long-front"]
    assert (
        rules(lint_text(tmp_path, f"  - {{front: {front}, back: yes}}\n", limits=Limits(front_words=50)))
        == []
    )


def test_long_cloze_answer_counts_the_deletion_only(tmp_path: Path) -> None:
    long = " ".join(["w"] * 21)
    assert rules(lint_text(tmp_path, f"  - {{type: cloze, text: 'Quote: {{{{c1::{long}}}}}'}}\n")) == [
        "long-answer"
    ]
    short = " ".join(["w"] * 5)
    text = f"Quote: {{{{c1::{short}}}}} " + " ".join(["context"] * 20)
    assert rules(lint_text(tmp_path, f"  - {{type: cloze, text: '{text}'}}\n")) == []


def test_rehearsal_answers_are_exempt(tmp_path: Path) -> None:
    points = "".join(f"      - {' '.join(['point'] * 5)} {n}\n" for n in range(6))
    notes = f"  - type: rehearsal\n    prompt: Tell me about a time you disagreed.\n    points:\n{points}"
    assert rules(lint_text(tmp_path, notes)) == []


def test_enumeration(tmp_path: Path) -> None:
    flagged = "  - {front: Name the four teams MLOps engineers work with., back: 'DS, Platform, Product, Security'}\n"
    assert rules(lint_text(tmp_path, flagged)) == ["enumeration"]
    listed = "  - front: List all the red flags.\n    back: |-\n      - a\n      - b\n      - c\n      - d\n"
    assert rules(lint_text(tmp_path, listed)) == ["enumeration"]
    few = "  - {front: Name the three parts of MLOps., back: 'data science, engineering, operations'}\n"
    assert rules(lint_text(tmp_path, few)) == []


def test_empty_back(tmp_path: Path) -> None:
    assert rules(lint_text(tmp_path, "  - {front: What is FSRS?}\n")) == ["empty-back"]
    assert rules(lint_text(tmp_path, "  - {front: What is FSRS?, back: A scheduler}\n")) == []


def test_a_note_silences_a_rule(tmp_path: Path) -> None:
    notes = "  - {front: Who runs Security reviews?, back: Security, lint: [answer-on-front]}\n"
    assert lint_text(tmp_path, notes) == []
    notes = "  - {front: Who runs Security reviews?, back: Security, lint: long-answer}\n"
    assert rules(lint_text(tmp_path, notes)) == ["answer-on-front"]


def test_an_unknown_rule_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "deck.yaml"
    path.write_text("deck: D\nnotes:\n  - {front: Q, back: A, lint: [long-answr]}\n")
    _, problems = check_paths([path])
    assert [p.message for p in problems] == [
        "unknown lint rule 'long-answr'; did you mean 'long-answer'? (rules: "
        + ", ".join(
            [
                "answer-on-front",
                "same-front",
                "ambiguous",
                "long-answer",
                "long-front",
                "enumeration",
                "duplicate",
                "empty-back",
            ]
        )
        + ")"
    ]
    assert (problems[0].line, problems[0].column) == (3, 32)


@pytest.fixture
def lint_cli(decks: Path) -> Callable[..., tuple[int, str]]:
    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--decks", str(decks), "lint", *args])
        return result.exit_code, result.stdout

    return run


def test_cli_exit_codes_and_json(
    write_deck: Callable[..., Path], lint_cli: Callable[..., tuple[int, str]]
) -> None:
    write_deck("a.yaml", "deck: D\nnotes:\n  - {id: a, front: Who runs Security reviews?, back: Security}\n")
    code, out = lint_cli()
    assert code == 1
    assert out.endswith("warning: the answer (Security) can be read on the front [answer-on-front]\n")
    code, out = lint_cli("--json")
    assert code == 1
    [finding] = json.loads(out)
    assert finding["rule"] == "answer-on-front"
    assert (finding["card"], finding["note"]) == ("a/card", "a")
    assert (finding["line"], finding["column"]) == (3, 5)
    write_deck("a.yaml", "deck: D\nnotes:\n  - {id: a, front: Who runs reviews?, back: Security}\n")
    assert lint_cli() == (0, "")
    assert lint_cli("--json") == (0, "[]\n")


def test_cli_deck_setting_silences_a_rule(
    decks: Path, write_deck: Callable[..., Path], lint_cli: Callable[..., tuple[int, str]]
) -> None:
    write_deck(
        "a.yaml", "deck: D::Sub\nnotes:\n  - {id: a, front: Who runs Security reviews?, back: Security}\n"
    )
    (decks / "cards.toml").write_text('[deck."D"]\nlint_ignore = ["answer-on-front"]\n')
    assert lint_cli() == (0, "")
    (decks / "cards.toml").write_text('[deck."D"]\nlint_ignore = ["answer-on-fronts"]\n')
    code, _ = lint_cli()
    assert code == 1


def test_cli_invalid_deck_is_an_error(
    write_deck: Callable[..., Path], lint_cli: Callable[..., tuple[int, str]]
) -> None:
    write_deck("a.yaml", "deck: D\nnotes:\n  - {id: a, back: Security}\n")
    code, out = lint_cli()
    assert code == 1
    assert out == ""


def test_the_schema_knows_the_lint_key() -> None:
    import jsonschema

    from flashcards.schema import deck_schema

    validator = jsonschema.Draft202012Validator(deck_schema())
    good = {"deck": "D", "notes": [{"front": "Q", "back": "A", "lint": ["long-answer"]}]}
    bad = {"deck": "D", "notes": [{"front": "Q", "back": "A", "lint": ["long-answr"]}]}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors(bad)) != []
