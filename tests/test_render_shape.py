"""Texts of one shape are parsed once: the shortcut renders exactly what the full render does.

``markdown_to_html`` renders a text without entity, link, autolink, math, sound, escape or tab
syntax from its shape (its words replaced by marks), cached. These tests compare it with the
full render (``_render``) over the render test deck, the bundled decks, the benchmark's decks
and many generated Markdown texts, for both cloze readings.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.gendecks import generate
from flashcards import render_html
from flashcards.compiler import check_paths
from flashcards.render_html import _render, markdown_to_html
from tests.conftest import BUNDLED_DECKS

RENDER_DECK = Path(__file__).parent / "decks" / "render"


def _texts(paths: list[Path]) -> set[str]:
    files, problems = check_paths(paths)
    assert problems == []
    texts: set[str] = set()
    for deck_file in files:
        for note in deck_file.notes:
            texts.update(note.fields.values())
            for card in note.cards:
                texts.update((card.front, card.back))
    return texts


def _same(text: str) -> None:
    for reveal in (True, False):
        assert markdown_to_html(text, {}, reveal) == _render(text, {}, reveal), (text, reveal)


def test_the_numbers_of_a_list_stay_in_its_shape() -> None:
    render_html._shape_html.cache_clear()
    for start in (3, 7):
        text = f"Steps {start}:\n\n{start}. first\n- {start + 1}) second"
        _same(text)
        assert f'<ol start="{start}">' in markdown_to_html(text)
    assert render_html._shape_html.cache_info().misses == 2  # each start its own shape


def test_texts_written_alike_are_parsed_once() -> None:
    render_html._shape_html.cache_clear()
    for number in range(50):
        _same(f"Answer {number}, with *emphasis* and `code`.")
    assert render_html._shape_html.cache_info().misses == 1


@pytest.mark.parametrize("deck", [RENDER_DECK, BUNDLED_DECKS], ids=["render", "bundled"])
def test_the_shortcut_renders_the_decks_as_the_full_render(deck: Path) -> None:
    texts = _texts([deck])
    assert len(texts) > 20
    for text in texts:
        _same(text)


def test_the_shortcut_renders_the_benchmark_decks_as_the_full_render(tmp_path: Path) -> None:
    generate(tmp_path, 200)
    for text in _texts([tmp_path]):
        _same(text)


_PIECES = [
    "word", "Word", "w0rd", "1", "12", "3.", "4)", "a1", "1a", " ", "  ", "   ", "    ", "\n", "\n\n",
    "*", "**", "_", "__", "~~", "`", "``", "```", "~~~", "#", "# ", "## ", "> ", "- ", "+ ", "* ",
    "1. ", "2) ", "---", "===", "|", " | ", "|---|", ":", "!", "(", ")", "]", '"', "'", ".", ",",
    "?", "{{", "}}", "{{c1::", "::", "=", "%", "$", "@", "/", "é", "ß", "中", "-", "+", "[", "]",
    "](", "]: ", "![", "&", "&#", "amp;", "#1;", "<", ">", "<a:b>", "\\", "\\(", "\\)", "\t", "[sound:",
]  # fmt: skip


def test_the_shortcut_renders_generated_markdown_as_the_full_render() -> None:
    chance = random.Random(12)
    for _ in range(8000):
        _same("".join(chance.choice(_PIECES) for _ in range(chance.randint(1, 14))))
