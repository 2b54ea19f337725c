"""Load deck files: YAML → validated notes, each with the file, line and column it came from.

The YAML is read as a node graph (see :mod:`flashcards.yamlnodes`); this module gives it meaning:
the deck, its note types and templates, its notes and their ids. Every problem in a file is
collected before stopping, like a compiler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flashcards import templates
from flashcards.errors import Problem, utf8_problem
from flashcards.markup import media_references
from flashcards.media import MediaFile, MediaProblem
from flashcards.media import load as load_media
from flashcards.model import (
    BUILTIN_TYPES,
    BUILTINS,
    EXPORT_ID_FIELD,
    RESERVED_KEYS,
    Note,
    NoteType,
    Template,
    build_cards,
    derived_id,
)
from flashcards.paths import MAX_FILE_BYTES, deck_too_large, read_deck_file
from flashcards.yamlnodes import NodeReader, compose, is_empty, kind, line_offset, suggest

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_TAG_TEXT = re.compile(r"^[^\s]+$")
_FILE_KEYS = ("deck", "tags", "types", "notes")
_TYPE_KEYS = ("fields", "key", "templates")
_TEMPLATE_KEYS = ("front", "back")


@dataclass
class DeckFile:
    """What one deck file holds once loaded: its notes, its note types, and its problems."""

    path: str
    deck: str = ""
    notes: list[Note] = field(default_factory=list)
    types: dict[str, tuple[NoteType, int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Reader(NodeReader):
    """Reads one deck file's node graph into notes and note types, collecting problems."""

    def __init__(self, path: str, base: Path | None = None) -> None:
        super().__init__(path)
        self.base = base
        self.result = DeckFile(path, problems=self.problems)

    def read(self, root: yaml.Node) -> None:
        entries = self.mapping(root, "a deck file", _FILE_KEYS)
        if entries is None:
            return
        for key in ("deck", "notes"):
            if key not in entries:
                self.problem(root, f"missing key '{key}'; a deck file needs 'deck:' and 'notes:'")
        deck = ""
        if "deck" in entries:
            deck = self.text(entries["deck"][1], "'deck'", required=True) or ""
            if deck and any(not part.strip() for part in deck.split("::")):
                self.problem(entries["deck"][1], f"deck name '{deck}' has an empty part between '::'")
                deck = ""
        self.result.deck = deck
        file_tags: tuple[str, ...] = ()
        if "tags" in entries:
            file_tags = tuple(
                t for t, _ in self.names(entries["tags"][1], "tag", _TAG_TEXT, "tags cannot contain spaces")
            )
        types = dict(BUILTINS)
        if "types" in entries:
            declared = self.mapping(entries["types"][1], "'types'", None) or {}
            for name, (key_node, value_node) in declared.items():
                note_type = self.note_type(name, key_node, value_node)
                if note_type is not None:
                    types[name] = note_type
                    self.result.types[name] = (
                        note_type,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )
        if "notes" in entries:
            notes_node = entries["notes"][1]
            if not isinstance(notes_node, yaml.SequenceNode):
                self.problem(
                    notes_node,
                    f"'notes' must be a list of notes (lines starting with '- '), not {kind(notes_node)}",
                )
                return
            for item in notes_node.value:
                note = self.note(item, types, deck, file_tags)
                if note is not None:
                    self.result.notes.append(note)

    def note_type(self, name: str, key_node: yaml.Node, node: yaml.Node) -> NoteType | None:
        if name in BUILTIN_TYPES:
            self.problem(key_node, f"'{name}' is a built-in note type; choose another name")
            return None
        if not _NAME.match(name):
            self.problem(
                key_node, f"note type name '{name}' is not valid: use lower-case letters, digits, '-' and '_'"
            )
            return None
        what = f"note type '{name}'"
        entries = self.mapping(node, what, _TYPE_KEYS)
        if entries is None:
            return None
        for key in ("fields", "templates"):
            if key not in entries:
                self.problem(node, f"{what} is missing '{key}'")
        if "fields" not in entries or "templates" not in entries:
            return None
        fields_node = entries["fields"][1]
        if not isinstance(fields_node, yaml.SequenceNode) or not fields_node.value:
            self.problem(fields_node, f"'fields' of {what} must be a non-empty list of field names")
            return None
        fields: list[str] = []
        ok = True
        for field_name, item in self.names(
            fields_node, "field name", _FIELD, "use letters, digits and '_', starting with a letter"
        ):
            # Anki compares field names ignoring case (it renames a clash to 'Name+'), so do we.
            same = [f for f in fields if f.lower() == field_name.lower()]
            if field_name in RESERVED_KEYS:
                self.problem(item, f"'{field_name}' is reserved for every note; name the field differently")
                ok = False
            elif field_name.lower() == EXPORT_ID_FIELD:
                self.problem(
                    item,
                    f"'{field_name}' is reserved: the Anki export adds a field '{EXPORT_ID_FIELD}' "
                    "holding the note's id; name the field differently",
                )
                ok = False
            elif field_name in fields:
                self.problem(item, f"field '{field_name}' is listed twice in {what}")
                ok = False
            elif same:
                self.problem(
                    item,
                    f"field '{field_name}' differs from '{same[0]}' only in case, and Anki would take them "
                    "for one field; rename one",
                )
                ok = False
            else:
                fields.append(field_name)
        if len(fields) != len(fields_node.value):
            ok = False
        key = fields[0] if fields else ""
        if "key" in entries:
            key_value = self.text(entries["key"][1], f"'key' of {what}", required=True)
            if key_value is not None and key_value not in fields:
                self.problem(
                    entries["key"][1],
                    f"key field '{key_value}' is not a field of {what}{suggest(key_value, fields)}",
                )
                ok = False
            elif key_value is not None:
                key = key_value
        template_entries = self.mapping(entries["templates"][1], f"'templates' of {what}", None)
        if not template_entries:
            if template_entries is not None:
                self.problem(entries["templates"][1], f"{what} needs at least one template")
            return None
        built: list[Template] = []
        for template_name, (t_key, t_node) in template_entries.items():
            template = self.template(what, fields, template_name, t_key, t_node)
            if template is None:
                ok = False
            else:
                built.append(template)
        if not ok:
            return None
        return NoteType(name, tuple(fields), key, tuple(built))

    def template(
        self, what: str, fields: list[str], name: str, key_node: yaml.Node, node: yaml.Node
    ) -> Template | None:
        if not _NAME.match(name):
            self.problem(
                key_node, f"template name '{name}' is not valid: use lower-case letters, digits, '-' and '_'"
            )
            return None
        where = f"template '{name}' of {what}"
        entries = self.mapping(node, where, _TEMPLATE_KEYS)
        if entries is None:
            return None
        sides: dict[str, str] = {}
        for side in _TEMPLATE_KEYS:
            if side not in entries:
                self.problem(node, f"{where} is missing '{side}'")
                continue
            value_node = entries[side][1]
            source = self.text(value_node, f"'{side}' of {where}", required=True)
            if source is None:
                continue
            try:
                parsed = templates.parse_template(source)
            except templates.TemplateSyntaxError as error:
                self.problem(value_node, f"{where}, {side}: {error}")
                continue
            named = templates.template_fields(parsed)
            bad = False
            for field_name, _ in named:
                if field_name == "FrontSide":
                    self.problem(
                        value_node,
                        f"{where}: the back is always shown under the front; remove '{{{{FrontSide}}}}'",
                    )
                    bad = True
                elif field_name not in fields:
                    self.problem(
                        value_node,
                        f"{where}, {side}: names field '{field_name}', which {what} does not have{suggest(field_name, fields)}",
                    )
                    bad = True
            if side == "front" and not named and not bad:
                self.problem(
                    value_node,
                    f"{where}: the front names no field, so every card would ask the same; add one like '{{{{{fields[0] if fields else 'field'}}}}}'",
                )
                bad = True
            if not bad:
                sides[side] = source
        if len(sides) != 2:
            return None
        return Template(name, sides["front"], sides["back"])

    def note(
        self, node: yaml.Node, types: dict[str, NoteType], deck: str, file_tags: tuple[str, ...]
    ) -> Note | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(
                node, f"a note must be a mapping of fields (like 'front:' and 'back:'), not {kind(node)}"
            )
            return None
        type_name = "basic"
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "type":
                type_name = self.text(value_node, "'type'", required=True) or ""
                if not type_name:
                    return None
                if type_name not in types:
                    self.problem(
                        value_node,
                        f"unknown note type '{type_name}'{suggest(type_name, list(types))}; declare it under 'types:'",
                    )
                    return None
                break
        note_type = types[type_name]
        allowed = [*RESERVED_KEYS, *note_type.fields]
        before = len(self.result.problems)
        entries = self.mapping(node, f"a '{type_name}' note", allowed)
        if entries is None:
            return None
        fields: dict[str, str] = {}
        for field_name in note_type.fields:
            if field_name in entries:
                value = self.text(entries[field_name][1], f"field '{field_name}'")
                fields[field_name] = value.strip("\n") if value is not None else ""
            else:
                fields[field_name] = ""
        tags = list(file_tags)
        if "tags" in entries:
            for tag, _ in self.names(entries["tags"][1], "tag", _TAG_TEXT, "tags cannot contain spaces"):
                if tag not in tags:
                    tags.append(tag)
        note_id = ""
        if "id" in entries:
            id_node = entries["id"][1]
            note_id = self.text(id_node, "'id'", required=True) or ""
            if note_id and (not _ID.match(note_id) or len(note_id) > 128):
                self.problem(
                    id_node,
                    f"id '{note_id}' is not valid: use letters, digits and '-_.:' (at most 128), starting with a letter or digit",
                )
                note_id = ""
        elif fields.get(note_type.key, "").strip():
            note_id = derived_id(type_name, fields[note_type.key])
            if note_id.endswith(":"):
                self.problem(
                    node, f"cannot derive an id from key field '{note_type.key}'; give the note an 'id:'"
                )
                note_id = ""
        if note_type.kind == "cloze" and not self.cloze_text(entries, node):
            return None
        required = (
            ("front",) if type_name == "basic" else ("front", "back") if type_name == "reversed" else ()
        )
        for field_name in required:
            if not fields[field_name].strip() and len(self.result.problems) == before:
                self.problem(
                    entries[field_name][1] if field_name in entries else node,
                    f"field '{field_name}' of a '{type_name}' note is empty",
                )
        if len(self.result.problems) > before:
            return None
        if not note_id:
            self.problem(
                node,
                f"cannot derive an id: key field '{note_type.key}' is empty; give the note an 'id:' or fill '{note_type.key}'",
            )
            return None
        note = Note(
            id=note_id,
            type=note_type,
            deck=deck,
            fields=fields,
            tags=tuple(tags),
            path=self.result.path,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
        )
        note.cards = build_cards(note)
        note.media = self.media(note, node, entries)
        rendered = {card.template for card in note.cards}
        if note_type.kind == "standard":
            for template in note_type.templates:
                if template.name not in rendered:
                    self.problem(
                        node,
                        f"template '{template.name}' gives this note an empty front; fill the fields its front names",
                    )
        if len(self.result.problems) > before:
            return None
        return note

    def media(
        self, note: Note, node: yaml.Node, entries: dict[str, tuple[yaml.Node, yaml.Node]]
    ) -> tuple[MediaFile, ...]:
        """Check and read the images and sounds the note's fields name (relative to the deck file)."""
        found: dict[str, MediaFile] = {}
        failed: set[str] = set()
        texts = [
            (entries[name][1] if name in entries else node, value) for name, value in note.fields.items()
        ]
        texts += [(node, text) for card in note.cards for text in (card.front, card.back)]  # templates' own
        for where, text in texts:
            for reference in media_references(text) if text and self.base is not None else ():
                if reference.key in found or reference.key in failed or self.base is None:
                    continue
                try:
                    found[reference.key] = load_media(reference, self.base)
                except MediaProblem as error:
                    failed.add(reference.key)
                    self.problem(where, str(error))
        return tuple(found.values())

    def cloze_text(self, entries: dict[str, tuple[yaml.Node, yaml.Node]], node: yaml.Node) -> bool:
        if "text" not in entries:
            self.problem(node, "a cloze note needs 'text' with deletions like '{{c1::answer}}'")
            return False
        value_node = entries["text"][1]
        text = self.text(value_node, "field 'text'", required=True)
        if text is None:
            return False
        try:
            deletions = templates.parse_cloze(text)
        except templates.TemplateSyntaxError as error:
            self.problem(value_node, f"{error}", offset_line=line_offset(value_node, text, error.offset))
            return False
        if not deletions:
            self.problem(value_node, "cloze text has no deletion; mark one like '{{c1::answer}}'")
            return False
        return True


def load_file(path: Path, display: str | None = None, data: bytes | None = None) -> DeckFile:
    """Load and validate one deck file; problems are collected, never raised."""
    shown = display if display is not None else str(path)
    reader = _Reader(shown, path.parent)
    if data is None:
        data = read_deck(path, reader)
        if data is None:
            return reader.result
    elif len(data) > MAX_FILE_BYTES:
        reader.problem(None, deck_too_large(len(data)))
        return reader.result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reader.result.problems.append(utf8_problem(shown, data, error))
        return reader.result
    root, problems = compose(text, shown)
    if problems:
        reader.problems.extend(problems)
        return reader.result
    if root is None or is_empty(root):
        reader.problem(None, "file is empty; a deck file needs 'deck:' and 'notes:'")
        return reader.result
    if reader.check_graph(root):
        reader.read(root)
    return reader.result


def read_deck(path: Path, reader: NodeReader) -> bytes | None:
    """Read a deck file within the size limit; None, with the problem reported, when it cannot be."""
    data, problem = read_deck_file(path, reader.path)
    if problem is not None:
        reader.problems.append(problem)
    return data


def cross_file_problems(files: list[DeckFile], known_ids: dict[str, str] | None = None) -> list[Problem]:
    """Report ids used twice (at every location) and note types declared differently."""
    problems: list[Problem] = []
    by_id: dict[str, list[Note]] = {}
    for deck_file in files:
        for note in deck_file.notes:
            by_id.setdefault(note.id, []).append(note)
    for note_id, notes in by_id.items():
        elsewhere = [n.source for n in notes]
        if known_ids and note_id in known_ids and len(notes) == 1:
            elsewhere.append(known_ids[note_id])
        if len(elsewhere) < 2:
            continue
        for note in notes:
            others = ", ".join(s for s in elsewhere if s != note.source)
            problems.append(
                Problem(
                    note.path,
                    note.line,
                    note.column,
                    f"duplicate note id '{note_id}' (also at {others}); give one of them another 'id:'",
                )
            )
    declared: dict[str, list[tuple[NoteType, str, int, int]]] = {}
    for deck_file in files:
        for name, (note_type, line, column) in deck_file.types.items():
            declared.setdefault(name, []).append((note_type, deck_file.path, line, column))
    for name, places in declared.items():
        if len({p[0].fingerprint() for p in places}) > 1:
            for _, path, line, column in places:
                others = ", ".join(f"{p}:{ln}" for _, p, ln, _ in places if (p, ln) != (path, line))
                problems.append(
                    Problem(
                        path,
                        line,
                        column,
                        f"note type '{name}' is declared differently at {others}; make them identical or rename one",
                    )
                )
    return problems
