"""The values that flow from deck files to the collection: note types, notes and cards."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from flashcards import templates

if TYPE_CHECKING:
    from flashcards.media import MediaFile

BUILTIN_TYPES = ("basic", "reversed", "cloze", "rehearsal")
RESERVED_KEYS = ("id", "type", "tags", "lint")
# Field names a declared type may not use, compared ignoring case: a note's own keys, Anki's
# special template fields, and the field the Anki export adds.
RESERVED_FIELDS = ("id", "type", "tags", "deck", "subdeck", "card", "cardflag", "frontside", "cards_id")
EXPORT_ID_FIELD = "cards_id"  # the last field of every exported Anki note type: the note's id

_SLUG = re.compile(r"[\W_]+")
_CLOZE_MARKUP = re.compile(r"\{\{c\d+::(.*?)(?:::[^{}]*)?\}\}", re.DOTALL)
SLUG_LENGTH = 60


@dataclass(frozen=True)
class Template:
    """One card template of a note type: a front and a back in Anki's template syntax."""

    name: str
    front: str
    back: str
    renamed_from: str = ""  # the template's former name: its cards keep their ids' history


@dataclass(frozen=True)
class NoteType:
    """A note type: named fields and the card templates that turn one note into cards."""

    name: str
    fields: tuple[str, ...]
    key: str
    templates: tuple[Template, ...]
    kind: Literal["standard", "cloze"] = "standard"
    builtin: bool = False
    renamed_fields: tuple[tuple[str, str], ...] = ()  # (old name, name now): notes may still use the old

    def cloze_field(self) -> str:
        """The field a cloze type's template deletes from (``{{cloze:field}}``); empty for others."""
        if self.kind != "cloze":
            return ""
        used = templates.template_filters(_parsed(self.templates[0].front))
        return next((name for applied, name in used if applied == "cloze"), "")

    def template_renames(self) -> dict[str, str]:
        """Return the former name of each renamed template: name now -> old name."""
        return {t.name: t.renamed_from for t in self.templates if t.renamed_from}

    def definition(self) -> dict[str, Any]:
        """Return the type as plain data, as stored in the collection."""
        data: dict[str, Any] = {
            "name": self.name,
            "fields": list(self.fields),
            "key": self.key,
            "kind": self.kind,
            "builtin": self.builtin,
            "templates": [
                {
                    "name": t.name,
                    "front": t.front,
                    "back": t.back,
                    **({"renamed_from": t.renamed_from} if t.renamed_from else {}),
                }
                for t in self.templates
            ],
        }
        if self.renamed_fields:  # only when set, so that the fingerprints of other types stay as they were
            data["renamed_fields"] = [list(pair) for pair in self.renamed_fields]
        return data

    @classmethod
    def from_definition(cls, data: dict[str, Any]) -> NoteType:
        """Rebuild a type from :meth:`definition`."""
        return cls(
            name=data["name"],
            fields=tuple(data["fields"]),
            key=data["key"],
            templates=tuple(Template(**t) for t in data["templates"]),
            kind=data["kind"],
            builtin=data["builtin"],
            renamed_fields=tuple((old, new) for old, new in data.get("renamed_fields", ())),
        )

    def fingerprint(self) -> str:
        """Return a hash of the type's definition (computed once: every note's content hash has it)."""
        found: str | None = self.__dict__.get("_fingerprint")
        if found is None:
            found = digest(self.definition())
            object.__setattr__(self, "_fingerprint", found)  # frozen: the definition cannot change
        return found


BASIC = NoteType(
    "basic", ("front", "back"), "front", (Template("card", "{{front}}", "{{back}}"),), builtin=True
)
REVERSED = NoteType(
    "reversed",
    ("front", "back"),
    "front",
    (Template("card", "{{front}}", "{{back}}"), Template("reverse", "{{back}}", "{{front}}")),
    builtin=True,
)
CLOZE = NoteType(
    "cloze",
    ("text", "extra"),
    "text",
    (Template("cloze", "{{cloze:text}}", "{{cloze:text}}\n\n{{extra}}"),),
    kind="cloze",
    builtin=True,
)
# A spoken answer to rehearse: the prompt (with its target time), and the key points as a
# numbered checklist. The loader turns the YAML lists of 'points' and 'covers' into this text
# (see flashcards.rehearsal), which is also what the Anki export shows.
REHEARSAL = NoteType(
    "rehearsal",
    ("prompt", "points", "time", "covers"),
    "prompt",
    (
        Template(
            "rehearse",
            "{{prompt}}{{#time}}\n\n*Answer aloud, in about {{time}}.*{{/time}}",
            "Tick the points you made:\n\n{{points}}",
        ),
    ),
    builtin=True,
)
BUILTINS = {t.name: t for t in (BASIC, REVERSED, CLOZE, REHEARSAL)}


@dataclass
class Card:
    """One card compiled from a note: its id is the note id, '/', and the template name."""

    id: str
    note_id: str
    template: str
    ordinal: int
    deck: str
    front: str
    back: str


@dataclass
class Note:
    """One note of a deck file, with where it was written."""

    id: str
    type: NoteType
    deck: str
    fields: dict[str, str]
    tags: tuple[str, ...]
    path: str
    line: int
    column: int
    cards: list[Card] = field(default_factory=list)
    file_order: int | None = None  # its file's order: (new cards of lower orders come first)
    media: tuple[MediaFile, ...] = ()
    lint_ignore: tuple[str, ...] = ()  # the lint rules silenced for this note (``lint: [...]``)

    @property
    def source(self) -> str:
        """Return ``file:line`` of the note in its deck file."""
        return f"{self.path}:{self.line}"

    def content_hash(self) -> str:
        """Return a hash of everything that, changed, makes the note 'updated'."""
        content: dict[str, Any] = {
            "type": self.type.fingerprint(),
            "deck": self.deck,
            "fields": self.fields,
            "tags": list(self.tags),
        }
        if self.media:  # an edited image or sound changes the note (notes without media keep their hash)
            content["media"] = sorted(m.name for m in self.media)
        return digest(content)


# json.dumps with these options, its encoder made once (json.dumps makes one per call)
_STABLE_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def digest(data: Any) -> str:
    """Return a stable SHA-256 hex digest of JSON-serialisable data."""
    return hashlib.sha256(_STABLE_JSON(data).encode()).hexdigest()


def slug(text: str) -> str:
    """Return a readable, stable id fragment of a text (case, spacing and punctuation ignored)."""
    words = _SLUG.sub("-", _CLOZE_MARKUP.sub(r"\1", text).lower()).strip("-")
    if len(words) <= SLUG_LENGTH:
        return words
    cut = words[:SLUG_LENGTH]
    return cut.rsplit("-", 1)[0] if "-" in cut else cut


def derived_id(note_type: str, key_text: str) -> str:
    """Return the id of a note without an explicit ``id``: its type and its key field."""
    return f"{note_type}:{slug(key_text)}"


def build_cards(note: Note) -> list[Card]:
    """Expand a note into its cards; a card whose front renders empty is left out."""
    cards: list[Card] = []
    if note.type.kind == "cloze" and not note.type.builtin:
        return _custom_cloze_cards(note)
    if note.type.kind == "cloze":
        text = note.fields.get("text", "")
        deletions = templates.parse_cloze(text)
        extra = note.fields.get("extra", "").strip()
        for number in sorted({d.number for d in deletions}):
            back = templates.render_cloze(text, deletions, number, reveal=True)
            if extra:
                back = f"{back}\n\n{extra}"
            front = templates.render_cloze(text, deletions, number, reveal=False)
            cards.append(_cloze_card(note, number, front, back))
        return cards
    values = special_fields(note, "")
    for ordinal, template in enumerate(note.type.templates):
        values["Card"] = template.name
        front = templates.render(_parsed(template.front), values).strip()
        if not front:
            continue
        back = templates.render(_parsed(template.back), values, back=True).strip()
        cards.append(
            Card(
                id=f"{note.id}/{template.name}",
                note_id=note.id,
                template=template.name,
                ordinal=ordinal,
                deck=note.deck,
                front=front,
                back=back,
            )
        )
    return cards


def special_fields(note: Note, card: str) -> dict[str, str]:
    """The note's fields with Anki's special fields of one card: Tags, Deck, Subdeck, Card."""
    return {
        **note.fields,
        "Tags": " ".join(note.tags),
        "Deck": note.deck,
        "Subdeck": note.deck.rsplit("::", 1)[-1],
        "Card": card,
    }


def _custom_cloze_cards(note: Note) -> list[Card]:
    """A declared cloze type's cards: one per cloze number in its cloze field, rendered by its template."""
    template = note.type.templates[0]
    text = note.fields.get(note.type.cloze_field(), "")
    cards = []
    for number in sorted({d.number for d in templates.parse_cloze(text)}):
        values = special_fields(note, f"c{number}")
        front = templates.render(_parsed(template.front), values, cloze=number)
        back = templates.render(_parsed(template.back), values, back=True, cloze=number)
        cards.append(_cloze_card(note, number, front, back))
    return cards


def _cloze_card(note: Note, number: int, front: str, back: str) -> Card:
    """Cloze card ``number`` of a note (built-in or declared cloze type), its sides as rendered."""
    return Card(
        id=f"{note.id}/c{number}",
        note_id=note.id,
        template=f"c{number}",
        ordinal=number - 1,
        deck=note.deck,
        front=front.strip(),
        back=back.strip(),
    )


@lru_cache(maxsize=512)
def parsed_template(source: str) -> tuple[templates.Node, ...]:
    """A template's source, parsed (cached: a deck has few templates)."""
    return templates.parse_template(source)


_parsed = parsed_template
