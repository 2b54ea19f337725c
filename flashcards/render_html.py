"""Markdown to the HTML Anki shows: field text and card templates.

Raw HTML typed in a deck is escaped, never passed through: a ``<script>`` reaches Anki as text.
Anki's own tags (``{{field}}``, ``{{#field}}…{{/field}}``) and cloze markers (``{{c1::…}}``)
survive rendering unchanged.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flashcards import markup, templates
from flashcards.model import NoteType

_SINGLE_PARAGRAPH = re.compile(r"\A<p>((?:(?!</?p>).)*)</p>\n?\Z", re.DOTALL)
_CODE = ("fence", "code_block", "code_inline")
# Text made only of these characters, not starting with a digit (an ordered list) and without
# surrounding spaces, renders as itself: no Markdown, entity, math or escape syntax can start.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,;:.?!()/%$@{}'\"=]*")
_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_MARK_OPEN = "\ue010"  # a template's tags are hidden from Markdown behind these
_MARK_CLOSE = "\ue011"  # (outside the private characters flashcards.markup uses)
_MARK = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")
FRONT_FIELD = "cards_front_{}"  # the fields of an exported note that hold card N's rendered sides
BACK_FIELD = "cards_back_{}"


def markdown_to_html(text: str, media: Mapping[str, str] | None = None, reveal_cloze: bool = True) -> str:
    """Render a card's (or a field's) Markdown to the HTML Anki shows.

    Raw HTML is escaped; single newlines are line breaks; one paragraph is unwrapped. Images
    and sounds named in ``media`` (as written -> name in the package) point at their package
    name. Math stays as ``\\(…\\)`` / ``\\[…\\]`` for MathJax. With ``reveal_cloze``,
    ``{{cN::answer}}`` is a revealed answer (``<span class="cloze">``); without it, cloze
    markers are left for Anki.
    """
    if not text.strip():
        return ""
    if _PLAIN.fullmatch(text) and text[-1] != " " and not (reveal_cloze and "{{c" in text):
        return text.replace('"', "&quot;").replace("'", "&#39;")
    if _UNSHAPED.search(text) is None and not (reveal_cloze and "{{c" in text):
        parts = (_LETTER_WORD if _LIST_DIGITS.search(text) else _WORD).split(
            text
        )  # between, word, …, between
        filled = _shape_html(_SHAPE_MARK.join(parts[::2]))
        if filled is not None:
            return filled % tuple(parts[1::2])
    return _render(text, media, reveal_cloze)


# A text's shape: its words (runs of ASCII letters and digits) replaced by a mark. In a text
# without these characters, a word can only ever be literal text (no entity, link label,
# autolink, math, sound, escape or tab stop is left to involve it), and a mark is, like a word,
# neither space nor punctuation to Markdown, so a text renders as its shape does with its words
# put back in order: texts of one shape (a template's sides, fields written alike) are parsed
# once. Digits before any letter on a line may open an ordered list (``1.``, ``- 2)``) and set
# its start: in a text with such a line, only words starting with a letter are replaced.
_UNSHAPED = re.compile("[\\\\[<&\t\r\x00\ue000-\ue013]")
_WORD = re.compile("([A-Za-z0-9]+)")
_LETTER_WORD = re.compile("([A-Za-z][A-Za-z0-9]*)")
_LIST_DIGITS = re.compile("^[^A-Za-z\n]*[0-9]", re.MULTILINE)
_SHAPE_MARK = "\ue012"
_SHAPE_NUMBERED = re.compile("\ue012(\\d+)\ue013")


@lru_cache(maxsize=4096)
def _shape_html(shaped: str) -> str | None:
    """The HTML of a shape as a ``%`` format, a ``%s`` for each word; None when its words would not come out once each, in order.

    The shape is rendered with numbered marks, to see that each comes out once and in order
    (then texts of this shape take the full path).
    """
    count = shaped.count(_SHAPE_MARK)
    numbered = iter(range(count))
    rendered = _render(
        re.sub(_SHAPE_MARK, lambda _: f"{_SHAPE_MARK}{next(numbered)}\ue013", shaped), None, False
    )
    if [int(number) for number in _SHAPE_NUMBERED.findall(rendered)] != list(range(count)):
        return None
    return "%s".join(piece.replace("%", "%%") for piece in _SHAPE_NUMBERED.split(rendered)[::2])


def _render(text: str, media: Mapping[str, str] | None, reveal_cloze: bool) -> str:
    parsed = markup.parse(text, reveal_cloze)
    if parsed.atoms:
        for token in parsed.tokens:
            _restore_code(token, parsed.atoms)
    rendered: str = _html_markdown().renderer.render(
        parsed.tokens, _html_markdown().options, {"media": media or {}}
    )
    single = _SINGLE_PARAGRAPH.match(rendered)
    rendered = single.group(1) if single else rendered.rstrip("\n")

    def atom(match: re.Match[str]) -> str:
        found = parsed.atoms[int(match.group(1))]
        if found.kind == "math":
            return html.escape(found.source, quote=False)
        name = (media or {}).get(found.value, found.value)
        return html.escape(f"[sound:{name}]", quote=False)

    if parsed.atoms:
        rendered = markup.ATOM.sub(atom, rendered)
    rendered = rendered.replace("'", "&#39;")
    if markup.CLOZE_OPEN in rendered:
        rendered = rendered.replace(markup.CLOZE_OPEN, '<span class="cloze">')
        rendered = rendered.replace(markup.CLOZE_CLOSE, "</span>")
    return rendered


def note_html(note_type: NoteType, fields: Mapping[str, str], media: Mapping[str, str]) -> dict[str, str]:
    """Return a note's fields as the HTML Anki stores (a cloze text keeps its markers for Anki)."""
    cloze = note_type.cloze_field() if note_type.kind == "cloze" else None
    return {
        name: markdown_to_html(fields.get(name, ""), media, reveal_cloze=name != cloze)
        for name in note_type.fields
    }


def _restore_code(token: Any, atoms: tuple[markup.Atom, ...]) -> None:
    """Inside code, math and sounds are literal text."""
    if token.type in _CODE:
        token.content = markup.ATOM.sub(lambda m: atoms[int(m.group(1))].source, token.content)
    for child in token.children or ():
        _restore_code(child, atoms)


@lru_cache(maxsize=1)
def _html_markdown() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image)
    return md


def _image(self: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    alt = markup.ATOM.sub("", alt).replace(markup.CLOZE_OPEN, "").replace(markup.CLOZE_CLOSE, "")
    name = env["media"].get(src, src)
    return f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">'


CSS = """.card {
  font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 20px;
  line-height: 1.4;
  text-align: left;
  color: black;
  background-color: white;
}
.nightMode .card, .night_mode .card { color: #eee; background-color: #2f2f31; }
.cloze { font-weight: bold; color: #1565c0; }
.nightMode .cloze, .night_mode .cloze { color: #90caf9; }
pre, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
pre { text-align: left; white-space: pre-wrap; }
"""


def anki_model(note_type: NoteType, model_id: int, name: str, id_field: str) -> Any:
    """Return the genanki note type of ``note_type``, with ``id_field`` as an extra last field.

    A standard type's cards show HTML rendered at compile time from the filled-in template
    (see :func:`card_fields`), so Markdown may span template and fields; its own fields come
    first, for Anki's browser and search. Backs show the front above the answer
    (``{{FrontSide}}<hr id=answer>``), as in Anki; cloze types use Anki's cloze convention.
    """
    import genanki

    if note_type.kind == "cloze" and not note_type.builtin:  # a declared cloze type: its own template
        fields = [{"name": field} for field in (*note_type.fields, id_field)]
        template = note_type.templates[0]
        templates = [
            {
                "name": template.name,
                "qfmt": template_to_html(template.front),
                "afmt": template_to_html(template.back),
            }
        ]
        kind = genanki.Model.CLOZE
    elif note_type.kind == "cloze":
        fields = [{"name": field} for field in (*note_type.fields, id_field)]
        text, extra = note_type.fields[0], note_type.fields[1]
        cloze = f"{{{{cloze:{text}}}}}"
        templates = [
            {"name": note_type.templates[0].name, "qfmt": cloze, "afmt": f"{cloze}<br>{{{{{extra}}}}}"}
        ]
        kind = genanki.Model.CLOZE
    else:
        sides = [
            (FRONT_FIELD.format(number), BACK_FIELD.format(number))
            for number in range(1, len(note_type.templates) + 1)
        ]
        fields = [
            {"name": field}
            for field in (*note_type.fields, *(side for pair in sides for side in pair), id_field)
        ]
        templates = []
        for template, (front, back) in zip(note_type.templates, sides, strict=True):
            hints, typed = _live_tags(template.front)
            templates.append(
                {
                    "name": template.name,
                    "qfmt": f"{{{{{front}}}}}{hints}{typed}",
                    "afmt": f"{{{{FrontSide}}}}\n\n<hr id=answer>\n\n{typed}{{{{{back}}}}}",
                }
            )
        kind = genanki.Model.FRONT_BACK
    return genanki.Model(model_id, name, fields=fields, templates=templates, css=CSS, model_type=kind)


def _live_tags(front: str) -> tuple[str, str]:
    """The ``{{hint:F}}`` and ``{{type:F}}`` tags of a front, kept live in Anki's template.

    They are interactive in Anki (a link to reveal, a box to type in and the comparison on the
    back), so they stay out of the sides rendered at compile time, as they stay out of the
    terminal's card text (the session shows them on request).
    """
    used = templates.template_filters(templates.parse_template(front))
    hints = "".join(f"<br>{{{{hint:{name}}}}}" for kind, name in used if kind == "hint")
    typed = "".join(f"<br>{{{{type:{name}}}}}" for kind, name in used if kind == "type")
    return hints, typed


def template_to_html(template: str) -> str:
    """Render a card template's Markdown to HTML, keeping its ``{{…}}`` tags intact (declared cloze types)."""
    tags: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"{_MARK_OPEN}{len(tags) - 1}{_MARK_CLOSE}"

    rendered = markdown_to_html(_TAG.sub(hide, template), reveal_cloze=False)
    return _MARK.sub(lambda match: tags[int(match.group(1))], rendered)


def card_fields(note_type: NoteType, cards: Mapping[int, tuple[str, str]]) -> list[str]:
    """Return the side fields of a standard note: each card's front and back HTML, by ordinal ('' for no card)."""
    values: list[str] = []
    for ordinal in range(len(note_type.templates)):
        values.extend(cards.get(ordinal, ("", "")))
    return values


def reserved_field(name: str) -> bool:
    """True for a field name the export uses for itself."""
    return re.fullmatch(r"cards_(front|back)_\d+", name) is not None
