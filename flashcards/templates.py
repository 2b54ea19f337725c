"""Anki's card-template syntax (the subset decks use) and cloze deletions.

Templates: ``{{field}}``, ``{{#field}}…{{/field}}`` (shown when the field is not empty),
``{{^field}}…{{/field}}`` (shown when it is empty), the filters ``{{hint:field}}``,
``{{type:field}}``, ``{{text:field}}`` and ``{{cloze:field}}``, and the special fields
``{{Tags}}``, ``{{Deck}}``, ``{{Subdeck}}`` and ``{{Card}}``. Cloze: ``{{c1::answer}}`` and
``{{c1::answer::hint}}``.

A card's stored text is what the terminal shows: a hint is left out of it (the review session
shows it on ``h``), a typed answer is asked for on the front and is the field's text on the back.
The Anki export keeps the tags as written, so Anki shows them its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CLOZE_OPEN = re.compile(r"\{\{c(\d+)::")
_CLOZE_ANY = re.compile(r"\{\{\s*c[^:{}]*:")
MAX_CLOZE = 999  # a card's ordinal is number - 1, and new cards are ordered by line * 1000 + ordinal


class TemplateSyntaxError(ValueError):
    """A template or a cloze text that cannot be parsed; ``offset`` locates it in the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class _Text:
    text: str


FILTERS = ("hint", "type", "text", "cloze")
SPECIAL_FIELDS = ("Tags", "Deck", "Subdeck", "Card")  # filled by the card, not the note
_HTML_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class _Field:
    name: str
    offset: int
    filter: str = ""


@dataclass(frozen=True)
class _Section:
    name: str
    inverted: bool
    body: tuple[_Text | _Field | _Section, ...]
    offset: int


Node = _Text | _Field | _Section


def parse_template(source: str) -> tuple[Node, ...]:
    """Parse a card template, raising :class:`TemplateSyntaxError` on malformed tags."""
    stack: list[tuple[str, bool, int, list[Node]]] = [("", False, 0, [])]
    position = 0
    for match in _TAG.finditer(source):
        if match.start() > position:
            stack[-1][3].append(_Text(source[position : match.start()]))
        position = match.end()
        inner = match.group(1).strip()
        if inner[:1] in ("#", "^"):
            name = inner[1:].strip()
            _check_field_name(name, match.start())
            stack.append((name, inner[0] == "^", match.start(), []))
        elif inner[:1] == "/":
            name = inner[1:].strip()
            open_name, inverted, offset, body = stack.pop() if len(stack) > 1 else ("", False, 0, [])
            if not open_name:
                raise TemplateSyntaxError(
                    f"'{{{{/{name}}}}}' closes a section that was never opened", match.start()
                )
            if name != open_name:
                raise TemplateSyntaxError(
                    f"'{{{{/{name}}}}}' closes section '{open_name}'; close it with '{{{{/{open_name}}}}}'",
                    match.start(),
                )
            stack[-1][3].append(_Section(open_name, inverted, tuple(body), offset))
        else:
            applied, _, name = inner.rpartition(":")
            applied, name = applied.strip(), name.strip()
            if applied and applied not in FILTERS:
                supported = ", ".join(f"'{f}:'" for f in FILTERS)
                raise TemplateSyntaxError(
                    f"'{{{{{inner}}}}}': filter '{applied}' is not supported (only {supported}, one per field)",
                    match.start(),
                )
            _check_field_name(name, match.start())
            stack[-1][3].append(_Field(name, match.start(), applied))
    rest = source[position:]
    if "{{" in rest or "}}" in rest:
        where = position + (rest.find("{{") if "{{" in rest else rest.find("}}"))
        raise TemplateSyntaxError("unbalanced '{{' or '}}'", where)
    if rest:
        stack[-1][3].append(_Text(rest))
    if len(stack) > 1:
        name, _, offset, _ = stack[-1]
        raise TemplateSyntaxError(f"section '{name}' is never closed; add '{{{{/{name}}}}}'", offset)
    return tuple(stack[0][3])


def _check_field_name(name: str, offset: int) -> None:
    if not _FIELD_NAME.match(name):
        raise TemplateSyntaxError(f"'{name}' is not a field name", offset)


def template_fields(nodes: tuple[Node, ...]) -> list[tuple[str, int]]:
    """Return every field a parsed template names, with its offset, in order."""
    found: list[tuple[str, int]] = []
    for node in nodes:
        if isinstance(node, _Field):
            found.append((node.name, node.offset))
        elif isinstance(node, _Section):
            found.append((node.name, node.offset))
            found.extend(template_fields(node.body))
    return found


def template_filters(nodes: tuple[Node, ...]) -> list[tuple[str, str]]:
    """Return every ``(filter, field)`` a parsed template applies, in order."""
    found: list[tuple[str, str]] = []
    for node in nodes:
        if isinstance(node, _Field) and node.filter:
            found.append((node.filter, node.name))
        elif isinstance(node, _Section):
            found.extend(template_filters(node.body))
    return found


def render(
    nodes: tuple[Node, ...], fields: dict[str, str], back: bool = False, cloze: int | None = None
) -> str:
    """Render a parsed template with the note's field values (and the card's special fields).

    ``back``: the answer side (a typed answer shows the field, a cloze its answers); ``cloze``:
    the number of the cloze card being rendered.
    """
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            parts.append(node.text)
        elif isinstance(node, _Field):
            value = fields.get(node.name, "")
            parts.append(_filtered(node, value, back, cloze) if node.filter else value)
        else:
            filled = bool(fields.get(node.name, "").strip())
            if filled != node.inverted:
                parts.append(render(node.body, fields, back, cloze))
    return "".join(parts)


def _filtered(node: _Field, value: str, back: bool, cloze: int | None) -> str:
    if node.filter == "hint":
        return ""  # shown apart, on request
    if node.filter == "type":
        return value if back else ""
    if node.filter == "text":
        return _HTML_TAG.sub("", value)
    if node.filter == "cloze":
        if cloze is None:
            return value
        return render_cloze(value, parse_cloze(value), cloze, reveal=back)
    return value


@dataclass(frozen=True)
class Cloze:
    """One deletion in a cloze text."""

    number: int
    answer: str
    hint: str
    start: int
    end: int


def parse_cloze(text: str) -> list[Cloze]:
    """Return the deletions of a cloze text, raising :class:`TemplateSyntaxError` if malformed."""
    deletions: list[Cloze] = []
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            break
        opened = _CLOZE_OPEN.match(text, start)
        if opened is None:
            if _CLOZE_ANY.match(text, start):
                raise TemplateSyntaxError(
                    "malformed cloze; write '{{c1::answer}}' or '{{c1::answer::hint}}'", start
                )
            position = start + 2
            continue
        written = opened.group(1)
        number = int(written) if len(written) <= 6 else MAX_CLOZE + 1  # int() of 5,000 digits raises
        if number < 1:
            raise TemplateSyntaxError("cloze numbers start at 1 ('{{c1::…}}')", start)
        if number > MAX_CLOZE:
            shown = written if len(written) <= 12 else f"{written[:12]}…"
            raise TemplateSyntaxError(f"cloze number 'c{shown}' is too large: use c1 to c{MAX_CLOZE}", start)
        end = text.find("}}", opened.end())
        nested = text.find("{{", opened.end())
        if end < 0 or (0 <= nested < end):
            raise TemplateSyntaxError(
                f"cloze 'c{number}' is not closed with '}}}}' (nested clozes are not supported)", start
            )
        body = text[opened.end() : end]
        answer, _, hint = body.partition("::")
        if not answer.strip():
            raise TemplateSyntaxError(f"cloze 'c{number}' has an empty answer", start)
        deletions.append(Cloze(number, answer, hint, start, end + 2))
        position = end + 2
    return deletions


def render_cloze(text: str, deletions: list[Cloze], number: int, reveal: bool) -> str:
    """Render cloze card ``number``: its deletions hidden (front) or revealed (back).

    A revealed answer is written ``{{cN::answer}}``: the renderers show it in the cloze style,
    wherever it stands (in a code block, inside emphasis).
    """
    parts: list[str] = []
    position = 0
    for deletion in deletions:
        parts.append(text[position : deletion.start])
        if deletion.number != number:
            parts.append(deletion.answer)
        elif reveal:
            parts.append(f"{{{{c{number}::{deletion.answer.strip()}}}}}")
        else:
            parts.append(f"[{deletion.hint.strip() or '...'}]")
        position = deletion.end
    parts.append(text[position:])
    return "".join(parts)
