"""Hints and typed answers: what a card's template asks with ``{{hint:F}}`` and ``{{type:F}}``.

They are read from the note and its type when the card is shown, so the stored card text stays
what every other command prints. A typed answer is compared with the expected one as Anki
compares them: character by character, the typed text with its right parts, wrong parts and
missing characters (``-``), then, below an arrow, the expected text with the parts that were
typed and those that were missed.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flashcards import templates
from flashcards.model import NoteType

if TYPE_CHECKING:
    from flashcards.database import Database

_TAGS = re.compile(r"<[^>]*>")
Segments = tuple[tuple[str, str], ...]  # (text, "good" | "bad" | "missing")


@dataclass(frozen=True)
class Extras:
    """A card's hints (field texts, front order) and the answer to type, if its front asks for one."""

    hints: tuple[str, ...] = ()
    typed: str | None = None


def card_extras(db: Database, card_id: str) -> Extras:
    """The hints and the typed answer of a card, from its note's fields and its template's front."""
    row = db.execute(
        "SELECT c.template, n.fields, t.definition FROM cards c JOIN notes n ON n.id = c.note_id "
        "JOIN note_types t ON t.name = n.type WHERE c.id = ?",
        [card_id],
    ).fetchone()
    if row is None:
        return Extras()
    template_name, fields_json, definition = row
    note_type = NoteType.from_definition(json.loads(definition))
    template = next((t for t in note_type.templates if t.name == template_name), None)
    if template is None:  # a cloze card (c1, c2 …): the type's one template
        template = note_type.templates[0] if note_type.kind == "cloze" else None
    if template is None:
        return Extras()
    fields: dict[str, str] = json.loads(fields_json)
    used = templates.template_filters(templates.parse_template(template.front))
    hints = tuple(fields[name].strip() for f, name in used if f == "hint" and fields.get(name, "").strip())
    typed = next((fields.get(name, "") for f, name in used if f == "type"), None)
    return Extras(hints, None if typed is None else _plain(typed))


def _plain(text: str) -> str:
    return unicodedata.normalize("NFC", _TAGS.sub("", text)).strip()


def compare(typed: str, expected: str) -> tuple[Segments, Segments]:
    """Compare a typed answer with the expected one: the typed line and the expected line, in segments.

    When they are equal, the typed line is the whole answer marked good and the expected line is empty.
    """
    typed, expected = _plain(typed), _plain(expected)
    if typed == expected:
        return ((expected, "good"),), ()
    given: list[tuple[str, str]] = []
    wanted: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, typed, expected, autojunk=False)
    for operation, a0, a1, b0, b1 in matcher.get_opcodes():
        if operation == "equal":
            given.append((typed[a0:a1], "good"))
            wanted.append((expected[b0:b1], "good"))
            continue
        if a1 > a0:
            given.append((typed[a0:a1], "bad"))
        if b1 > b0:
            if operation == "delete" or a1 == a0:
                given.append(("-" * (b1 - b0), "missing"))
            wanted.append((expected[b0:b1], "missing"))
    return tuple(given), tuple(wanted)


def plain_comparison(typed: str, expected: str) -> str:
    """The comparison as plain text (no colours): wrong parts in [brackets], the expected line below."""
    given, wanted = compare(typed, expected)
    marks = {"good": "{}", "bad": "[{}]", "missing": "{}"}
    line = "".join(marks[kind].format(text) for text, kind in given)
    return line if not wanted else f"{line}\n↓\n{''.join(text for text, _ in wanted)}"
