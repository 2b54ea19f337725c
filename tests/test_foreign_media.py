"""Converting Anki fields and reading an Anki package's media, without the Anki library."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import zstandard

from flashcards.anki_import import Media, safe_media_name
from flashcards.errors import CardsError
from flashcards.foreign import MediaNames, _dump_notes, html_to_markdown


def test_line_separators_pasted_from_the_web_become_newlines_so_each_note_keeps_its_lines() -> None:
    text, _ = html_to_markdown("line one<br>pasted\u2028from\u2029a web\x85page\r\nend")
    assert text == "line one\npasted\nfrom\na web\npage\nend"
    document, spans = _dump_notes(
        {"deck": "D"}, [{"id": "a", "front": text, "back": "x"}, {"id": "b", "front": ""}]
    )
    lines = document.split("\n")
    first, last = spans[1]
    assert lines[first - 1] == "- id: b" and last == len(lines) - 1  # (the text ends with a newline)


def test_a_sound_named_with_an_html_entity_is_found() -> None:
    media = MediaNames({"a&b.mp3"})
    text, lost = html_to_markdown("[sound:a&amp;b.mp3]", media=media)
    assert (text, lost, media.used) == ("[sound:media/a&b.mp3]", [], {"a&b.mp3"})


def test_unsafe_or_overlong_media_names_are_not_written() -> None:
    assert safe_media_name("cat.png") and safe_media_name("é ü.mp3")
    for name in ("", ".", "..", "a/b.png", "..\\b.png", "c:d.png", " x.png", "x" * 201 + ".png"):
        assert not safe_media_name(name), name


def _package(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "p.apkg"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_media_file_listed_but_missing_from_the_package_is_as_if_not_there(tmp_path: Path) -> None:
    path = _package(tmp_path, {"0": zstandard.ZstdCompressor().compress(b"png")})
    media = Media(package=path, members={"cat.png": "0", "gone.png": "1"}, compressed=True)
    assert media.read(["cat.png", "gone.png"]) == {"cat.png": b"png"}


def test_a_media_file_that_is_not_zstd_is_a_damaged_package(tmp_path: Path) -> None:
    path = _package(tmp_path, {"0": b"not zstd at all"})
    media = Media(package=path, members={"cat.png": "0"}, compressed=True)
    with pytest.raises(CardsError, match=r"its media file 'cat.png' is damaged"):
        media.read(["cat.png"])


def test_a_table_cell_keeps_its_bar_and_a_line_break_in_it_is_reported() -> None:
    from flashcards.render_html import markdown_to_html

    text, lost = html_to_markdown(
        "<table><tr><th>a|b</th><th>c</th></tr><tr><td>x<br>y</td><td>2</td></tr></table>"
    )
    assert lost == ["a line break in a table cell (made a space)"]
    rendered = markdown_to_html(text)
    assert "<th>a|b</th>" in rendered and "<td>x y</td>" in rendered
