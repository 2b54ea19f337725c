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

BUILTIN_TYPES = ("basic", "reversed", "cloze")
RESERVED_KEYS = ("id", "type", "tags")
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


@dataclass(frozen=True)
class NoteType:
    """A note type: named fields and the card templates that turn one note into cards."""

    name: str
    fields: tuple[str, ...]
    key: str
    templates: tuple[Template, ...]
    kind: Literal["standard", "cloze"] = "standard"
    builtin: bool = False

    def definition(self) -> dict[str, Any]:
        """Return the type as plain data, as stored in the collection."""
        return {
            "name": self.name,
            "fields": list(self.fields),
            "key": self.key,
            "kind": self.kind,
            "builtin": self.builtin,
            "templates": [{"name": t.name, "front": t.front, "back": t.back} for t in self.templates],
        }

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
        )

    def fingerprint(self) -> str:
        """Return a hash of the type's definition."""
        return digest(self.definition())


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
BUILTINS = {t.name: t for t in (BASIC, REVERSED, CLOZE)}


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
    media: tuple[MediaFile, ...] = ()

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


def digest(data: Any) -> str:
    """Return a stable SHA-256 hex digest of JSON-serialisable data."""
    encoded = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


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
    if note.type.kind == "cloze":
        text = note.fields.get("text", "")
        deletions = templates.parse_cloze(text)
        extra = note.fields.get("extra", "").strip()
        for number in sorted({d.number for d in deletions}):
            back = templates.render_cloze(text, deletions, number, reveal=True)
            if extra:
                back = f"{back}\n\n{extra}"
            cards.append(
                Card(
                    id=f"{note.id}/c{number}",
                    note_id=note.id,
                    template=f"c{number}",
                    ordinal=number - 1,
                    deck=note.deck,
                    front=templates.render_cloze(text, deletions, number, reveal=False).strip(),
                    back=back.strip(),
                )
            )
        return cards
    for ordinal, template in enumerate(note.type.templates):
        front = templates.render(_parsed(template.front), note.fields).strip()
        if not front:
            continue
        back = templates.render(_parsed(template.back), note.fields).strip()
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


@lru_cache(maxsize=512)
def _parsed(source: str) -> tuple[templates.Node, ...]:
    return templates.parse_template(source)
