"""Settings from cards.toml: Anki's defaults, per-deck inheritance, located errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flashcards.errors import SourceError
from flashcards.settings import DeckSettings, load_settings, parse_settings, parse_steps


def write_settings(decks: Path, text: str) -> Path:
    path = decks.parent / "cards.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_ankis_without_a_file(decks: Path) -> None:
    settings = load_settings(decks)
    deck = settings.for_deck("Any::Deck")
    assert deck == DeckSettings()
    assert deck.desired_retention == 0.9
    assert deck.learning_steps == (timedelta(minutes=1), timedelta(minutes=10))
    assert deck.relearning_steps == (timedelta(minutes=10),)
    assert (deck.maximum_interval, deck.enable_fuzzing) == (36500, True)
    assert (deck.new_per_day, deck.reviews_per_day, deck.day_start_hour) == (20, 200, 4)
    assert (deck.leech_threshold, deck.parameters) == (8, None)


def test_top_level_and_deck_overrides_inherit_down_the_tree(decks: Path) -> None:
    write_settings(
        decks,
        """
        new_per_day = 10
        learning_steps = "30s 5m 1h"
        day_start_hour = 3

        [deck."MLOps"]
        desired_retention = 0.85

        [deck."MLOps::Red flags"]
        new_per_day = 5
        """,
    )
    settings = load_settings(decks)
    assert settings.day_start_hour == 3
    assert settings.for_deck(None).new_per_day == 10
    child = settings.for_deck("MLOps::Red flags::Deep")
    assert (child.new_per_day, child.desired_retention) == (5, 0.85)
    assert child.learning_steps == (timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=1))
    assert settings.for_deck("MLOps::Teams").new_per_day == 10
    assert settings.for_deck("MLOpsX").desired_retention == 0.9
    assert settings.configured_decks() == ["MLOps", "MLOps::Red flags"]


def test_settings_file_in_the_decks_directory_is_found(decks: Path) -> None:
    (decks / "cards.toml").write_text("reviews_per_day = 50\n", encoding="utf-8")
    assert load_settings(decks).for_deck("x").reviews_per_day == 50


def test_invalid_values_are_reported_at_their_lines(decks: Path) -> None:
    path = write_settings(
        decks,
        'desired_retention = 1.5\nnew_per_day = "ten"\n\n[deck."A"]\n  learning_steps = ["1m", "soon"]\n',
    )
    with pytest.raises(SourceError) as caught:
        load_settings(decks)
    located = [(p.line, p.column) for p in caught.value.problems]
    assert located == [(1, 1), (2, 1), (5, 3)]
    assert all(p.path.endswith("cards.toml") for p in caught.value.problems)
    assert "between 0.5 and 0.99" in caught.value.problems[0].message
    assert "'soon' is not a step" in caught.value.problems[2].message
    assert str(caught.value).startswith(f"{caught.value.problems[0].path}:1:1: error: ")
    assert path.exists()


def test_unknown_key_suggests_the_closest(decks: Path) -> None:
    write_settings(decks, '[deck."A"]\nnew_per_dya = 3\n')
    with pytest.raises(SourceError) as caught:
        load_settings(decks)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 1)
    assert "unknown setting 'new_per_dya'; did you mean 'new_per_day'?" in problem.message


def test_day_start_hour_is_only_a_top_level_setting(decks: Path) -> None:
    write_settings(decks, '[deck."A"]\nday_start_hour = 2\n')
    with pytest.raises(SourceError, match="set it at the top level"):
        load_settings(decks)


def test_toml_syntax_error_is_located(decks: Path) -> None:
    write_settings(decks, "new_per_day = 3\nmaximum_interval = = 4\n")
    with pytest.raises(SourceError) as caught:
        load_settings(decks)
    assert caught.value.problems[0].line == 2


def test_parameters_must_be_21_numbers_within_bounds(decks: Path) -> None:
    write_settings(decks, "parameters = [1.0, 2.0]\n")
    with pytest.raises(SourceError, match="expected 21 numbers"):
        load_settings(decks)
    from fsrs.scheduler import DEFAULT_PARAMETERS

    write_settings(decks, f"parameters = {list(DEFAULT_PARAMETERS)}\n")
    assert load_settings(decks).for_deck("x").parameters == DEFAULT_PARAMETERS


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1m 10m", (60, 600)), (["90s", "1.5h", "2d"], (90, 5400, 172800)), ("", ()), ([], ())],
)
def test_parse_steps(text: str | list[str], expected: tuple[int, ...]) -> None:
    assert tuple(int(s.total_seconds()) for s in parse_steps(text)) == expected


@pytest.mark.parametrize("bad", ["10", "1w", ["1m", 3], "0m", 5])
def test_parse_steps_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_steps(bad)


@pytest.mark.parametrize("step", ["99999999999d", "9999999d", "366d"])
def test_absurdly_long_learning_steps_are_refused(tmp_path: Path, step: str) -> None:
    path = tmp_path / "cards.toml"
    path.write_text(f'learning_steps = ["1m", "{step}"]\n', encoding="utf-8")
    with pytest.raises(SourceError, match=rf"'{step}': a step is at most 365d"):
        parse_settings(path.read_text(encoding="utf-8"), path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("new_per_day = 99999999999999999999", "1:1: error: new_per_day: must be between 0 and 1000000"),
        ("reviews_per_day = 1000001", "1:1: error: reviews_per_day: must be between 0 and 1000000"),
        ("leech_threshold = 100000000000", "1:1: error: leech_threshold: must be between 0 and 1000"),
        ("# x\nnew_per_day = 1" + "0" * 5000, "2:15: error: this number is far too long"),
        ("desired_retention = 1" + "0" * 400, "must be between 0.5 and 0.99, got 10000000000000000000…"),
        ("desired_retention = nan", "desired_retention: must be between 0.5 and 0.99, got nan"),
        (
            'learning_steps = ["0.0000001s"]',
            "1:1: error: learning_steps: '0.0000001s': a step is at least 1s",
        ),
        (
            '[deck."D"]\nrelearning_steps = "0.5s"',
            "2:1: error: relearning_steps: '0.5s': a step is at least 1s",
        ),
    ],
)
def test_every_number_is_bounded_where_read(decks: Path, text: str, expected: str) -> None:
    write_settings(decks, text + "\n")
    with pytest.raises(SourceError) as raised:
        load_settings(decks)
    assert len(raised.value.problems) == 1
    assert expected in str(raised.value.problems[0])


def test_a_settings_file_over_the_limit_is_refused_unread(decks: Path) -> None:
    write_settings(decks, "# padding\n" * 200_000)
    with pytest.raises(SourceError, match="the settings file is 2000000 bytes; it is at most 1024 KiB"):
        load_settings(decks)


def test_a_deck_table_naming_no_deck_is_a_located_warning_with_a_suggestion(decks: Path) -> None:
    write_settings(
        decks, 'new_per_day = 5\n\n[deck."Bsae"]\nnew_per_day = 1\n\n[deck."Base::Sub"]\n[deck."Zzz"]\n'
    )
    settings = load_settings(decks)
    warnings = [str(w).rsplit("/", 1)[-1] for w in settings.unknown_decks(["Base::Sub", "Other"])]
    assert warnings == [
        "cards.toml:3:1: warning: [deck.\"Bsae\"] names no deck; did you mean 'Base'?",
        'cards.toml:7:1: warning: [deck."Zzz"] names no deck; its settings apply to no cards',
    ]
    assert settings.unknown_decks(["Bsae::Child", "Zzz", "Base::Sub::Leaf"]) == []


def test_a_deck_table_naming_no_deck_warns_at_compile_and_status(decks: Path) -> None:
    from click.testing import CliRunner

    from flashcards.cli import cli

    (decks / "d.yaml").write_text("deck: Base\nnotes:\n  - {front: a, back: b}\n", encoding="utf-8")
    write_settings(decks, '[deck."Bsae"]\nnew_per_day = 1\n')
    for command in (["compile"], ["status"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0
        assert "cards.toml:1:1: warning: [deck.\"Bsae\"] names no deck; did you mean 'Base'?" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('new_per_day = 1\n\n[Deck."X"]\nnew_per_day = 1\n', "cards.toml:3:1: error: unknown setting 'Deck'"),
        ("new_per_day = 1\nDeck.X.new_per_day = 1\n", "cards.toml:2:1: error: unknown setting 'Deck'"),
        ('[deck]\n"X".new_per_dya = 1\n', "cards.toml:2:1: error: unknown setting 'new_per_dya'"),
    ],
)
def test_unknown_tables_and_dotted_keys_are_located_at_their_line(
    decks: Path, text: str, expected: str
) -> None:
    write_settings(decks, text)
    with pytest.raises(SourceError) as raised:
        load_settings(decks)
    assert str(raised.value.problems[0]).rsplit("/", 1)[-1].startswith(expected)
