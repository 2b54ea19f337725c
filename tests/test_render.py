"""One renderer for the terminal and Anki: the same blocks and text, media, math, cloze, escaping.

The deck tests/decks/render/ holds every construct; its cards are rendered both ways and
compared line by line, then imported into the real Anki library and compared again.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from flashcards import media, store
from flashcards.compiler import check_paths, compile_decks
from flashcards.export import export_package
from flashcards.render_html import markdown_to_html
from flashcards.render_text import plain

RENDER_DECK = Path(__file__).parent / "decks" / "render"
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}
_BLOCK = {
    "p",
    "pre",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "table",
    "div",
    "ul",
    "ol",
}


class _Lines(HTMLParser):
    """Visible lines of HTML: blocks and <br> end lines, table cells are spaced; tags are checked."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []
        self.stray: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        if tag in _BLOCK or tag == "br":
            self.text.append("\n")
        if tag in ("td", "th"):
            self.text.append(" ")
        if tag == "img":
            found = dict(attrs)
            self.text.append(f"[image: {found.get('alt')}]")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self.skip -= 1
        if tag in _BLOCK:
            self.text.append("\n")
        if tag in _VOID:
            return
        if tag in self.open:
            while self.open.pop() != tag:
                pass
        else:
            self.stray.append(tag)

    def handle_data(self, data: str) -> None:
        if self.skip or ("pre" not in self.open and not data.strip()):  # markup's own layout
            return
        self.text.append(data if "pre" in self.open else data.replace("\n", " "))


def html_lines(markup: str) -> tuple[list[str], list[str]]:
    """The visible, whitespace-collapsed lines of HTML, and its stray closing tags."""
    parser = _Lines()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.text).split("\n")]
    return [line for line in lines if line], parser.stray


def terminal_lines(text: str) -> list[str]:
    """The visible lines of the terminal rendering, without its decoration (bars, bullets, rules)."""
    lines = []
    for line in plain(text, width=200).splitlines():  # wide: no wrapping, lines as written
        line = re.sub(r"^\s*(│ |• |\d+\. )", "", line)
        if not line.strip() or set(line.strip()) <= {"─"}:
            continue
        lines.append(" ".join(line.split()))
    return lines


def _media_placeholders(lines: list[str]) -> list[str]:
    """Images and sounds as each side names them, reduced to their alt text and kind."""
    out = []
    for line in lines:
        line = re.sub(r"\[image: ([^\]]*?)(?: \([^)]*\))?\]", r"[image: \1]", line)
        line = re.sub(r"\[sound: ?[^\]]*\]", "[sound]", line)
        out.append(line)
    return out


@pytest.mark.parametrize(
    "text",
    [
        "```bash\n# comment\nkubectl get pods\n```\n\nAfter the block.",
        "- one\n- two *em*\n  continued\n\n1. first\n2. second",
        "> quoted **bold**\n> second line\n\nafter",
        "| a | b |\n| --- | --- |\n| List<String> | 2 |",
        "first line\nsecond line\n\nnext paragraph",
        "`List<String>` and List<String> and a <b>tag</b>",
        "# Heading\n\ntext\n\n---\n\nmore",
        "Roll back with **{{c2::rollout undo}}** and *{{c3::history}}*.",
        "```\n{{c1::kubectl}} rollout undo\n```",
        "Euler \\(e^{i\\pi} + 1 = 0\\) and \\[ \\sum_i x_i \\]",
    ],
)
def test_terminal_and_anki_show_the_same_lines(text: str) -> None:
    lines, stray = html_lines(markdown_to_html(text))
    assert stray == []
    assert terminal_lines(text) == lines


def test_a_revealed_cloze_answer_in_plain_text_is_styled() -> None:
    assert markdown_to_html("the {{c1::answer}} here") == 'the <span class="cloze">answer</span> here'
    assert markdown_to_html("the {{c1::answer}} here", reveal_cloze=False) == "the {{c1::answer}} here"


def test_single_newlines_break_lines_in_both() -> None:
    assert terminal_lines("one\ntwo") == ["one", "two"]
    assert markdown_to_html("one\ntwo") == "one<br />\ntwo"


def test_code_stays_code_in_both() -> None:
    text = "```\n# not a heading\n**not bold** {{c1::kubectl}}\n```"
    rendered = markdown_to_html(text)
    assert (
        rendered
        == '<pre><code># not a heading\n**not bold** <span class="cloze">kubectl</span>\n</code></pre>'
    )
    assert plain(text).splitlines() == ["    # not a heading", "    **not bold** kubectl"]


def test_math_reaches_anki_untouched_and_the_terminal_shows_tex() -> None:
    text = "Inline \\(a_1 < b^*\\) and display \\[ \\frac{1}{2} \\]"
    assert markdown_to_html(text) == "Inline \\(a_1 &lt; b^*\\) and display \\[ \\frac{1}{2} \\]"
    assert plain(text) == text
    # display math may span lines, never a paragraph break
    assert markdown_to_html("\\[ a +\nb \\]") == "\\[ a +\nb \\]"
    assert markdown_to_html("\\( open\n\nlater \\)") == "<p>( open</p>\n<p>later )</p>"
    # inside code it is code: no MathJax needed, shown as written
    assert markdown_to_html("`\\(x\\)`") == "<code>\\(x\\)</code>"


def test_raw_html_stays_escaped() -> None:
    text = (
        "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![y](javascript:z)"
    )
    rendered = markdown_to_html(text)
    assert "<script" not in rendered and "<img" not in rendered and 'href="javascript' not in rendered
    assert "&lt;script&gt;" in rendered
    assert "<script>alert(1)</script>" in plain(text)


def test_images_and_sounds_point_at_their_package_names() -> None:
    names = {"img/a.png": "a-0123.png", "say.mp3": "say-4567.mp3"}
    rendered = markdown_to_html('![a "diagram"](img/a.png) [sound:say.mp3]', names)
    assert rendered == '<img src="a-0123.png" alt="a &quot;diagram&quot;"> [sound:say-4567.mp3]'
    shown = plain("![a diagram](img/a.png) [sound:say.mp3]")
    assert shown == "[image: a diagram (img/a.png)] [sound: say.mp3]"


def _compiled(tmp_path: Path) -> tuple[sqlite_utils.Database, Path]:
    decks = tmp_path / "render-decks"
    shutil.copytree(RENDER_DECK, decks)
    db = store.open_collection(tmp_path / "c.db")
    compile_decks(db, decks, T0)
    return db, decks


def test_the_render_deck_renders_the_same_both_ways_card_by_card(tmp_path: Path) -> None:
    db, _ = _compiled(tmp_path)
    rows = db.execute("SELECT id, front, back, front_html, back_html FROM cards ORDER BY id").fetchall()
    assert len(rows) == 9
    for card_id, front, back, front_html, back_html in rows:
        if re.search(r"/c\d+$", card_id):  # cloze: Anki renders it (checked against Anki below)
            assert front_html is None
            continue
        for text, rendered in ((front, front_html), (back, back_html)):
            lines, stray = html_lines(rendered)
            assert stray == [], card_id
            assert "```" not in rendered, card_id
            assert _media_placeholders(terminal_lines(text)) == _media_placeholders(lines), card_id


def test_a_template_fence_around_a_field_is_one_code_block(tmp_path: Path) -> None:
    db, _ = _compiled(tmp_path)
    (back_html,) = db.execute("SELECT back_html FROM cards WHERE id = 'fence-multiline/card'").fetchone()
    assert back_html == (
        '<pre><code class="language-bash"># every namespace\nkubectl get pods -A\n</code></pre>\n'
        "<p>After the block.</p>"
    )
    (caution,) = db.execute("SELECT back_html FROM cards WHERE id = 'fence-caution/card'").fetchone()
    assert "<blockquote>\n<p>Evicts <strong>every</strong> pod.</p>\n</blockquote>" in caution


def _anki_cards(tmp_path: Path, package: Path) -> tuple[dict[tuple[str, int], dict[str, Any]], list[str]]:
    from tests.anki_engine import AnkiEngine

    with AnkiEngine(tmp_path, tz="UTC", start=T0 + timedelta(days=1)) as anki:
        anki.import_apkg(package, with_scheduling=False)
        cards, files = anki.run(
            "import os\n"
            "cards = []\n"
            "for i in col.find_cards(''):\n"
            "    c = col.get_card(i)\n"
            "    cards.append((c.note()['cards_id'], c.ord, c.question(), c.answer(),"
            " [t.filename for t in c.answer_av_tags()]))\n"
            "result = [cards, sorted(os.listdir(col.media.dir()))]"
        )
    return {(c[0], c[1]): {"q": c[2], "a": c[3], "sounds": c[4]} for c in cards}, files


def test_anki_shows_what_the_terminal_shows(tmp_path: Path) -> None:
    db, _ = _compiled(tmp_path)
    package = export_package(db, tmp_path / "render.apkg").path
    cards, files = _anki_cards(tmp_path, package)
    ours = db.execute("SELECT note_id, ordinal, front, back FROM cards").fetchall()
    assert len(cards) == len(ours) == 9
    for note_id, ordinal, front, back in ours:
        card = cards[(note_id, ordinal)]
        question = re.sub(r"<style>.*?</style>", "", card["q"], flags=re.DOTALL)
        answer = re.sub(r"<style>.*?</style>", "", card["a"], flags=re.DOTALL).split("<hr id=answer>")[-1]
        if "[anki:play" in answer:
            answer = re.sub(r"\[anki:play:a:\d+\]", "[sound: ]", answer)
        for side, rendered in (("front", question), ("back", answer)):
            lines, stray = html_lines(rendered)
            assert "```" not in rendered, (note_id, side)
            assert stray == [], (note_id, side)
            text = front if side == "front" else back
            assert _media_placeholders(terminal_lines(text)) == _media_placeholders(lines), (note_id, side)
    math = cards[("math", 0)]
    assert "\\(e^{i\\pi} + 1 = 0\\)" in math["q"]
    assert "\\[ \\sum_{i=1}^{n} i = \\frac{n(n+1)}{2} \\]" in math["a"]
    image = re.search(r'<img src="([^"]+)" alt="architecture diagram">', cards[("media", 0)]["q"])
    assert image is not None and image.group(1) in files
    assert cards[("media", 0)]["sounds"] == [name for name in files if name.endswith(".mp3")]
    assert len(files) == 2
    cloze = cards[("cloze-code", 0)]
    assert re.search(r'<pre><code><span class="cloze"[^>]*>\[\.\.\.\]</span> rollout', cloze["q"])
    assert re.search(
        r'<strong><span class="cloze"[^>]*>rollout undo</span></strong>', cards[("cloze-code", 1)]["a"]
    )
    assert "<script" not in cards[("raw-html", 0)]["q"] and "&lt;script&gt;" in cards[("raw-html", 0)]["q"]


def test_a_missing_image_is_a_located_error(tmp_path: Path) -> None:
    deck = tmp_path / "d" / "x.yaml"
    deck.parent.mkdir()
    deck.write_text("deck: X\nnotes:\n  - front: hi\n    back: '![d](img/none.png)'\n", encoding="utf-8")
    _, problems = check_paths([deck])
    assert [(p.line, p.column) for p in problems] == [(4, 11)]
    assert "image 'img/none.png' not found" in problems[0].message


@pytest.mark.parametrize("path", ["../outside.png", "/etc/passwd.png"])
def test_media_must_live_beside_the_deck(tmp_path: Path, path: str) -> None:
    deck = tmp_path / "d" / "x.yaml"
    deck.parent.mkdir()
    (tmp_path / "outside.png").write_bytes(b"x")
    deck.write_text(f"deck: X\nnotes:\n  - front: hi\n    back: '![d]({path})'\n", encoding="utf-8")
    _, problems = check_paths([deck])
    assert len(problems) == 1 and "relative to the deck file" in problems[0].message


def test_media_over_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "MAX_MEDIA_BYTES", 1024)
    deck = tmp_path / "d" / "x.yaml"
    deck.parent.mkdir()
    (deck.parent / "big.png").write_bytes(b"x" * 1025)
    deck.write_text("deck: X\nnotes:\n  - front: hi\n    back: '![d](big.png)'\n", encoding="utf-8")
    _, problems = check_paths([deck])
    assert len(problems) == 1 and "1,025 bytes; media files are at most" in problems[0].message


def test_same_names_in_two_folders_do_not_collide_and_an_edit_reexports(tmp_path: Path) -> None:
    decks = tmp_path / "decks"
    for folder, content in (("a", b"first"), ("b", b"second")):
        (decks / folder / "img").mkdir(parents=True)
        (decks / folder / "img" / "arch.png").write_bytes(content)
        (decks / folder / "d.yaml").write_text(
            f"deck: {folder}\nnotes:\n  - id: {folder}\n    front: '![arch](img/arch.png)'\n    back: x\n",
            encoding="utf-8",
        )
    db = store.open_collection(tmp_path / "c.db")
    compile_decks(db, decks, T0)
    package = export_package(db, tmp_path / "one.apkg").path

    def packaged(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as archive:
            index = __import__("json").loads(archive.read("media"))
            return {name: archive.read(number) for number, name in index.items()}

    first = packaged(package)
    assert sorted(first.values()) == [b"first", b"second"]
    assert len(first) == 2 and all(name.startswith("arch-") and name.endswith(".png") for name in first)

    image = decks / "b" / "img" / "arch.png"
    image.write_bytes(b"edited")
    os.utime(image, ns=(image.stat().st_mtime_ns + 10**9, image.stat().st_mtime_ns + 10**9))
    result = compile_decks(db, decks, T0 + timedelta(hours=1))
    assert (result.files_compiled, result.files_skipped, result.notes.updated) == (1, 1, 1)
    second = packaged(export_package(db, tmp_path / "two.apkg").path)
    assert sorted(second.values()) == [b"edited", b"first"]
    assert db.execute("SELECT count(*) FROM media").fetchone()[0] == 2  # the old image is forgotten
    (modified,) = db.execute("SELECT modified_at FROM notes WHERE id = 'b'").fetchone()
    assert modified > db.execute("SELECT modified_at FROM notes WHERE id = 'a'").fetchone()[0]
    assert compile_decks(db, decks, T0 + timedelta(hours=2)).files_compiled == 0


def test_html_escaping_of_terminal_text_is_not_applied() -> None:
    assert html.unescape(markdown_to_html("a & b")) == "a & b"
    assert plain("a & b") == "a & b"


def test_notes_compiled_before_html_was_cached_export_the_same(tmp_path: Path) -> None:
    db, _ = _compiled(tmp_path)
    db.execute("UPDATE notes SET retired_at = created_at WHERE id = 'media'")  # needs compiled media names
    cached = export_package(db, tmp_path / "cached.apkg").path.read_bytes()
    db.execute("UPDATE notes SET fields_html = NULL, anki_fields = NULL, anki_guid = NULL")
    db.execute("UPDATE cards SET front_html = NULL, back_html = NULL")
    assert export_package(db, tmp_path / "rendered.apkg").path.read_bytes() == cached
