"""Markdown to the HTML Anki shows: field text and card templates.

Raw HTML typed in a deck is escaped, never passed through: a ``<script>`` reaches Anki as text.
Anki's own tags (``{{field}}``, ``{{#field}}…{{/field}}``) and cloze markers (``{{c1::…}}``)
survive rendering unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flashcards.model import NoteType

_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_MARK_OPEN = "\ue000"
_MARK_CLOSE = "\ue001"
_MARK = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")
# Text made only of these characters, not starting with a digit (an ordered list) and without
# surrounding spaces, renders as itself: no Markdown, entity or escape syntax can start.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,;:.?!()/%$@{}'\"=]*")
_SINGLE_PARAGRAPH = re.compile(r"\A<p>((?:(?!</?p>).)*)</p>\n?\Z", re.DOTALL)


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "breaks": True})


def markdown_to_html(text: str) -> str:
    """Render Markdown to HTML: raw HTML escaped, newlines as line breaks, one paragraph unwrapped."""
    if not text.strip():
        return ""
    if _PLAIN.fullmatch(text) and text[-1] != " ":
        return text.replace('"', "&quot;").replace("'", "&#39;")
    return _render(text)


def _render(text: str) -> str:
    html: str = _markdown().render(text)
    html = html.replace("'", "&#39;")
    single = _SINGLE_PARAGRAPH.match(html)
    if single:
        return single.group(1)
    return html.rstrip("\n")


def template_to_html(template: str) -> str:
    """Render a card template's Markdown to HTML, keeping its ``{{…}}`` tags intact."""
    tags: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"{_MARK_OPEN}{len(tags) - 1}{_MARK_CLOSE}"

    html = markdown_to_html(_TAG.sub(hide, template))
    return _MARK.sub(lambda match: tags[int(match.group(1))], html)


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

    Backs show the front above the answer (``{{FrontSide}}<hr id=answer>``), as in Anki; cloze
    types use Anki's cloze convention.
    """
    import genanki

    fields = [{"name": field} for field in (*note_type.fields, id_field)]
    if note_type.kind == "cloze" and not note_type.builtin:  # a declared cloze type: its own template
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
        text, extra = note_type.fields[0], note_type.fields[1]
        cloze = f"{{{{cloze:{text}}}}}"
        templates = [
            {"name": note_type.templates[0].name, "qfmt": cloze, "afmt": f"{cloze}<br>{{{{{extra}}}}}"}
        ]
        kind = genanki.Model.CLOZE
    else:
        templates = [
            {
                "name": template.name,
                "qfmt": template_to_html(template.front),
                "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n" + template_to_html(template.back),
            }
            for template in note_type.templates
        ]
        kind = genanki.Model.FRONT_BACK
    return genanki.Model(model_id, name, fields=fields, templates=templates, css=CSS, model_type=kind)
