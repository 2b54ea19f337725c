"""Load deck files: YAML → validated notes, each with the file, line and column it came from.

The YAML is read as a node graph (see :mod:`flashcards.yamlnodes`); this module gives it meaning:
the deck, its note types and templates, its notes and their ids. Every problem in a file is
collected before stopping, like a compiler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from flashcards import rehearsal, templates
from flashcards.errors import Problem, utf8_problem
from flashcards.gather import ORDER_LIMIT
from flashcards.lint import RULES as LINT_RULES
from flashcards.markup import media_references
from flashcards.media import MediaFile, MediaProblem
from flashcards.media import load as load_media
from flashcards.model import (
    BUILTIN_TYPES,
    BUILTINS,
    EXPORT_ID_FIELD,
    RESERVED_FIELDS,
    RESERVED_KEYS,
    Note,
    NoteType,
    Template,
    build_cards,
    derived_id,
)
from flashcards.paths import MAX_FILE_BYTES, deck_too_large, read_deck_file
from flashcards.templates import SPECIAL_FIELDS
from flashcards.yamlnodes import NULL, NodeReader, compose, is_empty, kind, line_offset, suggest

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ID = re.compile(r"^[^\W_][\w.:-]*$")  # letters (any script), digits, '_.:-'; as derived ids are
_TAG_TEXT = re.compile(r"^[^\s]+$")
_LINT_RULE = re.compile(r"^\S+$")
_COMMENT_AFTER = re.compile(r"[ \t]+#")
_FILE_KEYS = ("deck", "order", "tags", "types", "notes")
_ORDER = re.compile(r"^[+-]?\d{1,7}$")
TYPES_FILES = ("types.yaml", "types.yml")  # a file of note types shared by every deck file
_TYPE_KEYS = ("fields", "key", "templates")
_TEMPLATE_KEYS = ("front", "back")
_TEMPLATE_ALLOWED = (*_TEMPLATE_KEYS, "renamed_from")
_FIELD_ITEM_KEYS = ("name", "renamed_from")


@dataclass(frozen=True)
class IdSlot:
    """A note written without ``id:``: where its mapping starts, and the id derived for it."""

    line: int
    column: int
    flow: bool
    note_id: str


_REHEARSAL_LISTS = ("points", "time", "covers")  # read by _Reader.rehearsal_fields


@dataclass
class DeckFile:
    """What one deck file holds once loaded: its notes, its note types, and its problems."""

    path: str
    deck: str = ""
    notes: list[Note] = field(default_factory=list)
    types: dict[str, tuple[NoteType, int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    missing_ids: list[IdSlot] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # advice: never changes an exit code
    broken_types: set[str] = field(default_factory=set)  # declared with an error (reported there)
    deck_line: int = 1
    deck_column: int = 1
    order: int | None = None  # its new cards come before those of files with a higher one (or none)


class _Reader(NodeReader):
    """Reads one deck file's node graph into notes and note types, collecting problems."""

    def __init__(self, path: str, base: Path | None = None, lines: list[str] | None = None) -> None:
        super().__init__(path)
        self.base = base
        self.result = DeckFile(path, problems=self.problems)
        self.lines = lines or []
        self.entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        self.broken: set[str] = set()  # types declared with an error, in any file loaded with this one
        self.deferred: list[yaml.Node] = []  # notes of a type no file read so far declares
        self.file_tags: tuple[str, ...] = ()

    def warn(self, line: int, column: int, message: str) -> None:
        self.result.warnings.append(Problem(self.path, line, column, message, "warning"))

    def comment_after(self, value_node: yaml.Node, field_name: str) -> None:
        """Warn when a plain value is followed by `` #``: YAML drops it as a comment, the author likely meant it."""
        if not isinstance(value_node, yaml.ScalarNode) or value_node.style or not value_node.value:
            return
        mark = value_node.end_mark
        if mark.line >= len(self.lines) or not _COMMENT_AFTER.match(self.lines[mark.line], mark.column):
            return
        line = self.lines[mark.line]
        column = line.find("#", mark.column) + 1
        self.warn(
            mark.line + 1,
            column,
            f"'{_short(line[column - 1 :].rstrip())}' after field '{field_name}' is a YAML comment, left out "
            "of the card; if it is part of the text, quote the value (\"...\") or use a block scalar ('|')",
        )

    def read_head(self, root: yaml.Node) -> None:
        """Read the deck, the file's tags and its note types (the notes wait for every file's types)."""
        entries = self.mapping(root, "a deck file", _FILE_KEYS)
        if entries is None:
            return
        self.entries = entries
        types_only = Path(self.path).name.lower() in TYPES_FILES
        if types_only:
            for key in ("deck", "tags", "notes"):
                if key in entries:
                    self.problem(
                        entries[key][0],
                        f"'{key}' in {Path(self.path).name}: this file holds only 'types:', shared by every "
                        "deck file; put notes in another file",
                    )
            if "types" not in entries:
                self.problem(root, f"missing key 'types'; {Path(self.path).name} holds the shared note types")
        for key in () if types_only else ("deck", "notes"):
            if key not in entries:
                self.problem(root, f"missing key '{key}'; a deck file needs 'deck:' and 'notes:'")
        if "deck" in entries and not types_only:
            deck_node = entries["deck"][1]
            self.result.deck_line = deck_node.start_mark.line + 1
            self.result.deck_column = deck_node.start_mark.column + 1
            self.result.deck = self.deck_name(deck_node)
        if "order" in entries and not types_only:
            self.result.order = self.order(entries["order"][1])
        if "types" in entries:
            declared = self.mapping(entries["types"][1], "'types'", None) or {}
            for name, (key_node, value_node) in declared.items():
                note_type = self.note_type(name, key_node, value_node)
                if note_type is None:
                    self.result.broken_types.add(name)
                else:
                    self.result.types[name] = (
                        note_type,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                    )

    def order(self, node: yaml.Node) -> int | None:
        """A file's ``order:``: a whole number; lower comes first."""
        text = self.text(node, "'order'", required=True)
        if text is None:
            return None
        if not _ORDER.match(text.strip()) or abs(int(text)) > ORDER_LIMIT:
            self.problem(
                node,
                f"'order' must be a whole number from -{ORDER_LIMIT:,} to {ORDER_LIMIT:,} "
                f"(lower is learnt first), not '{text}'",
            )
            return None
        return int(text)

    def read_notes(self, shared: dict[str, NoteType], defer: bool = False) -> None:
        """Read the notes, with the built-in types, the file's own and those shared by other files.

        With ``defer``, a note of a type not known yet is kept for :meth:`read_deferred` (a file
        read later may declare it); the rest of the file's nodes can then be freed.
        """
        entries = self.entries
        if "notes" not in entries or Path(self.path).name.lower() in TYPES_FILES:
            return
        if "tags" in entries:
            self.file_tags = tuple(
                t for t, _ in self.names(entries["tags"][1], "tag", _TAG_TEXT, "tags cannot contain spaces")
            )
        types = {**BUILTINS, **shared, **{name: t for name, (t, _, _) in self.result.types.items()}}
        notes_node = entries["notes"][1]
        if not isinstance(notes_node, yaml.SequenceNode):
            self.problem(
                notes_node,
                f"'notes' must be a list of notes (lines starting with '- '), not {kind(notes_node)}",
            )
            return
        for item in notes_node.value:
            if defer and _type_written(item) not in types:
                self.deferred.append(item)
                continue
            self.add_note(item, types)

    def read_deferred(self, types: dict[str, NoteType]) -> None:
        """Read the notes kept by :meth:`read_notes`, now that every file's types are known."""
        every = {**BUILTINS, **types, **{name: t for name, (t, _, _) in self.result.types.items()}}
        for item in self.deferred:
            self.add_note(item, every)
        self.deferred = []
        self.result.notes.sort(key=lambda n: (n.line, n.column))

    def add_note(self, item: yaml.Node, types: dict[str, NoteType]) -> None:
        note = self.note(item, types, self.result.deck, self.file_tags)
        if note is not None:
            note.file_order = self.result.order
            self.result.notes.append(note)

    def deck_name(self, node: yaml.Node) -> str:
        """The deck's name, if Anki would keep it as written: no empty, padded or control-character part."""
        deck = self.text(node, "'deck'", required=True) or ""
        parts = deck.split("::")
        control = next((c for c in deck if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0), None)
        if control is not None:
            self.problem(
                node,
                f"deck name {deck!r} has a control character (U+{ord(control):04X}); Anki would change it "
                "(it separates deck names with U+001F): remove it",
            )
        elif deck and any(not part.strip() for part in parts):
            self.problem(node, f"deck name '{deck}' has an empty part between '::'")
        elif any(part != part.strip() for part in parts):
            tidy = "::".join(part.strip() for part in parts)
            self.problem(
                node, f"deck name '{deck}' has spaces around a part, which Anki drops; write '{tidy}'"
            )
        else:
            return deck
        return ""

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
        renamed: dict[str, str] = {}  # old field name -> its name now
        ok = True
        for field_name, item in self.field_names(fields_node, what, renamed):
            # Anki compares field names ignoring case (it renames a clash to 'Name+'), so do we.
            same = [f for f in fields if f.lower() == field_name.lower()]
            if field_name in RESERVED_KEYS:
                self.problem(item, f"'{field_name}' is reserved for every note; name the field differently")
                ok = False
            elif field_name.lower() in RESERVED_FIELDS and field_name.lower() != EXPORT_ID_FIELD:
                self.problem(
                    item,
                    f"'{field_name}' is reserved: Anki fills '{{{{{_special(field_name)}}}}}' in templates "
                    f"itself (reserved, ignoring case: {', '.join(RESERVED_FIELDS)}); name the field differently",
                )
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
        former: dict[str, str] = {}
        for template in built:
            if not template.renamed_from:
                continue
            node_of = template_entries[template.name][1]
            if template.renamed_from in template_entries:
                self.problem(
                    node_of,
                    f"template '{template.name}' of {what} is renamed from '{template.renamed_from}', "
                    "which is still a template; remove 'renamed_from' or the old template",
                )
                ok = False
            elif template.renamed_from in former:
                self.problem(
                    node_of,
                    f"templates '{former[template.renamed_from]}' and '{template.name}' of {what} are both "
                    f"renamed from '{template.renamed_from}'; keep one",
                )
                ok = False
            former[template.renamed_from] = template.name
        for old_name, new_name in renamed.items():
            if old_name in fields:
                self.problem(
                    fields_node,
                    f"field '{new_name}' of {what} is renamed from '{old_name}', which is still a field; "
                    "remove one of them",
                )
                ok = False
        cloze = self.cloze_kind(what, built, entries["templates"][1]) if ok else None
        if not ok or cloze is None:
            return None
        return NoteType(
            name, tuple(fields), key, tuple(built), kind=cloze, renamed_fields=tuple(renamed.items())
        )

    def cloze_kind(
        self, what: str, built: list[Template], node: yaml.Node
    ) -> Literal["standard", "cloze"] | None:
        """A type is a cloze type when its template's front deletes from a field with ``{{cloze:field}}``."""
        uses = [
            (t, side, applied == "cloze")
            for t in built
            for side, source in (("front", t.front), ("back", t.back))
            for applied, _ in templates.template_filters(templates.parse_template(source))
        ]
        if not any(is_cloze for _, _, is_cloze in uses):
            return "standard"
        if len(built) != 1:
            self.problem(
                node, f"{what} uses '{{{{cloze:…}}}}', so it is a cloze type: give it exactly one template"
            )
            return None
        if not any(is_cloze and side == "front" for _, side, is_cloze in uses):
            self.problem(node, f"{what}: '{{{{cloze:…}}}}' must be on the front of its template too")
            return None
        fronts = {
            name
            for applied, name in templates.template_filters(templates.parse_template(built[0].front))
            if applied == "cloze"
        }
        if len(fronts) > 1:
            self.problem(node, f"{what}: the front deletes from one field only ('{{{{cloze:field}}}}')")
            return None
        return "cloze"

    def field_names(
        self, node: yaml.SequenceNode, what: str, renamed: dict[str, str]
    ) -> list[tuple[str, yaml.Node]]:
        """The field names of a type: plain names, or ``{name: new, renamed_from: old}``."""
        found: list[tuple[str, yaml.Node]] = []
        rule = "use letters, digits and '_', starting with a letter"
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                found.extend(self.names(item, "field name", _FIELD, rule))
                continue
            entries = self.mapping(item, f"a field of {what}", _FIELD_ITEM_KEYS)
            if entries is None:
                continue
            if "name" not in entries:
                self.problem(item, f"a field of {what} written as a mapping needs 'name:'")
                continue
            named = self.names(entries["name"][1], "field name", _FIELD, rule)
            if not named:
                continue
            found.extend(named)
            if "renamed_from" in entries:
                for old, old_node in self.names(entries["renamed_from"][1], "'renamed_from'", _FIELD, rule):
                    if old in renamed:
                        self.problem(old_node, f"two fields of {what} are renamed from '{old}'; keep one")
                    else:
                        renamed[old] = named[0][0]
        return found

    def template(
        self, what: str, fields: list[str], name: str, key_node: yaml.Node, node: yaml.Node
    ) -> Template | None:
        if not _NAME.match(name):
            self.problem(
                key_node, f"template name '{name}' is not valid: use lower-case letters, digits, '-' and '_'"
            )
            return None
        where = f"template '{name}' of {what}"
        entries = self.mapping(node, where, _TEMPLATE_ALLOWED)
        if entries is None:
            return None
        renamed_from = ""
        if "renamed_from" in entries:
            old = self.text(entries["renamed_from"][1], f"'renamed_from' of {where}", required=True) or ""
            if old and not _NAME.match(old):
                self.problem(
                    entries["renamed_from"][1], f"'renamed_from' of {where}: '{old}' is not a template name"
                )
                return None
            renamed_from = old
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
                elif field_name in SPECIAL_FIELDS:
                    continue
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
        return Template(name, sides["front"], sides["back"], renamed_from)

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
                if type_name not in types and type_name in self.broken:
                    return None  # its declaration has an error, reported there once
                if type_name not in types:
                    self.problem(
                        value_node,
                        f"unknown note type '{type_name}'{suggest(type_name, list(types))}; declare it under 'types:' "
                        "(in this file, another deck file or types.yaml)",
                    )
                    return None
                break
        note_type = types[type_name]
        renamed = dict(note_type.renamed_fields)
        allowed = [*RESERVED_KEYS, *note_type.fields, *renamed]
        before = len(self.result.problems)
        entries = self.mapping(node, f"a '{type_name}' note", allowed)
        if entries is None:
            return None
        for old, new in renamed.items():
            if old not in entries:
                continue
            if new in entries:
                self.problem(
                    entries[old][0],
                    f"'{old}' is the former name of field '{new}', which this note also has; keep '{new}'",
                )
                return None
            entries[new] = entries.pop(old)
        fields: dict[str, str] = {}
        is_rehearsal = note_type is BUILTINS["rehearsal"]
        for field_name in note_type.fields:
            if is_rehearsal and field_name in _REHEARSAL_LISTS:
                fields[field_name] = ""
            elif field_name in entries:
                self.comment_after(entries[field_name][1], field_name)
                value = self.text(entries[field_name][1], f"field '{field_name}'")
                fields[field_name] = value.strip("\n") if value is not None else ""
            else:
                fields[field_name] = ""
        tags = list(file_tags)
        if "tags" in entries:
            for tag, _ in self.names(entries["tags"][1], "tag", _TAG_TEXT, "tags cannot contain spaces"):
                if tag not in tags:
                    tags.append(tag)
        lint_ignore: list[str] = []
        if "lint" in entries:
            for rule, item in self.names(entries["lint"][1], "lint rule", _LINT_RULE, "use a rule's name"):
                if rule not in LINT_RULES:
                    self.problem(
                        item,
                        f"unknown lint rule '{rule}'{suggest(rule, list(LINT_RULES))} "
                        f"(rules: {', '.join(LINT_RULES)})",
                    )
                elif rule not in lint_ignore:
                    lint_ignore.append(rule)
        note_id = ""
        slot: IdSlot | None = None
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
            else:
                slot = IdSlot(
                    node.start_mark.line + 1, node.start_mark.column + 1, bool(node.flow_style), note_id
                )
        if note_type.kind == "cloze" and not self.cloze_text(entries, node, note_type.cloze_field()):
            return None
        if is_rehearsal:
            self.rehearsal_fields(entries, node, fields)
        required = {"basic": ("front",), "reversed": ("front", "back"), "rehearsal": ("prompt",)}.get(
            type_name, ()
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
            lint_ignore=tuple(lint_ignore),
        )
        note.cards = build_cards(note)
        if not note.cards:  # a template whose front is empty makes no card (Anki's rule), but one is needed
            fronts = ", ".join(f"'{t.name}'" for t in note_type.templates)
            self.problem(
                node,
                f"this note gets no card: the front of every template ({fronts}) is empty for it; "
                "fill the fields a front names",
            )
        note.media = self.media(note, node, entries)
        if len(self.result.problems) > before:
            return None
        if slot is not None:
            self.result.missing_ids.append(slot)
        return note

    def rehearsal_fields(
        self, entries: dict[str, tuple[yaml.Node, yaml.Node]], node: yaml.Node, fields: dict[str, str]
    ) -> None:
        """Read a rehearsal note's points, time and covers into ``fields`` (see flashcards.rehearsal)."""
        if "time" in entries:
            time_node = entries["time"][1]
            time = self.text(time_node, "'time'")
            if time is not None and time.strip():
                try:
                    rehearsal.parse_time(time)
                except ValueError as error:
                    self.problem(time_node, f"time: {error}")
                else:
                    fields["time"] = time.strip()
        if "points" not in entries:
            self.problem(node, "a rehearsal note needs 'points': a list of the key points, one per line '- '")
            return
        points_node = entries["points"][1]
        if not isinstance(points_node, yaml.SequenceNode) or not points_node.value:
            self.problem(
                points_node, "'points' must be a non-empty list of key points (lines starting with '- ')"
            )
            return
        points: list[str] = []
        for number, item in enumerate(points_node.value, start=1):
            if number > rehearsal.MAX_POINTS:
                self.problem(
                    item, f"a rehearsal has at most {rehearsal.MAX_POINTS} points (one digit key each)"
                )
                return
            if isinstance(item, yaml.MappingNode):
                self.problem(item, f"point {number} reads as a mapping: quote it, since it holds ': '")
                continue
            point = self.text(item, f"point {number}", required=True)
            if point is None:
                continue
            if "\n" in point.strip():
                self.problem(item, f"point {number} is more than one line; make it short, or split it in two")
                continue
            points.append(point.strip())
        if len(points) != len(points_node.value):
            return
        fields["points"] = rehearsal.points_text(points)
        if "covers" in entries:
            covers = self.covers(entries["covers"][1], len(points))
            if covers is not None:
                fields["covers"] = rehearsal.covers_text(covers)

    def covers(self, node: yaml.Node, points: int) -> list[list[str]] | None:
        """One entry per point: a note id, a list of them, or [] (or ~) for none."""
        if not isinstance(node, yaml.SequenceNode):
            self.problem(
                node, "'covers' must be a list with one entry per point: a note id, a list of ids, or []"
            )
            return None
        if len(node.value) != points:
            self.problem(
                node,
                f"'covers' has {len(node.value)} entries for {points} points; give one per point ([] for none)",
            )
            return None
        found: list[list[str]] = []
        for item in node.value:
            if isinstance(item, yaml.ScalarNode) and (item.tag == NULL or not item.value.strip()):
                found.append([])
                continue
            ids = self.names(item, "note id", _ID, "use letters, digits and '-_.:', as in 'id:'")
            found.append([value for value, _ in ids])
        return found

    def media(
        self, note: Note, node: yaml.Node, entries: dict[str, tuple[yaml.Node, yaml.Node]]
    ) -> tuple[MediaFile, ...]:
        """Check and read the images and sounds the note's fields name (relative to the deck file)."""
        found: dict[str, MediaFile] = {}
        failed: set[str] = set()
        if self.base is None:
            return ()
        texts = [
            (entries[name][1] if name in entries else node, value) for name, value in note.fields.items()
        ]
        texts += [(node, text) for card in note.cards for text in (card.front, card.back)]  # templates' own
        for where, text in texts:
            if "![" not in text and "[sound:" not in text:  # neither can name a file without these
                continue
            for reference in media_references(text):
                if reference.key in found or reference.key in failed or self.base is None:
                    continue
                try:
                    found[reference.key] = load_media(reference, self.base)
                except MediaProblem as error:
                    failed.add(reference.key)
                    self.problem(where, str(error))
        return tuple(found.values())

    def cloze_text(
        self, entries: dict[str, tuple[yaml.Node, yaml.Node]], node: yaml.Node, name: str = "text"
    ) -> bool:
        if name not in entries:
            self.problem(node, f"a cloze note needs '{name}' with deletions like '{{{{c1::answer}}}}'")
            return False
        value_node = entries[name][1]
        text = self.text(value_node, f"field '{name}'", required=True)
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


def _special(name: str) -> str:
    """Anki's spelling of a special field name."""
    spelled = {s.lower(): s for s in (*templates.SPECIAL_FIELDS, "CardFlag", "FrontSide")}
    return spelled.get(name.lower(), name)


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:39]}…"


def load_file(
    path: Path,
    display: str | None = None,
    data: bytes | None = None,
    shared: dict[str, NoteType] | None = None,
) -> DeckFile:
    """Load and validate one deck file (with note types declared elsewhere: ``shared``); problems are collected."""
    return load_files([(path, display, data)], shared)[0]


def load_files(
    sources: list[tuple[Path, str | None, bytes | None]], shared: dict[str, NoteType] | None = None
) -> list[DeckFile]:
    """Load and validate deck files; a note may use a type declared in any of them (or in
    ``shared``, the types of files not loaded now). Each file's nodes are freed once it is read,
    but for notes of a type no file read before it declares, read when all are."""
    types = dict(shared or {})
    readers = []
    for path, display, data in sources:
        reader = _head(path, display, data)
        for name, (note_type, _, _) in reader.result.types.items():
            types.setdefault(name, note_type)
        if reader.entries:
            reader.read_notes(types, defer=True)
        reader.entries = {}
        readers.append(reader)
    broken = {name for reader in readers for name in reader.result.broken_types}
    for reader in readers:
        if reader.deferred:
            reader.broken = broken
            reader.read_deferred(types)
    return [reader.result for reader in readers]


def _type_written(node: yaml.Node) -> str:
    """The type a note names (``basic`` when it names none), as written, before it is checked."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "type"
                and isinstance(value, yaml.ScalarNode)
            ):
                return str(value.value)
    return "basic"


def types_of(sources: list[tuple[Path, str | None, bytes | None]]) -> dict[str, NoteType]:
    """The note types declared in these files (their problems left aside): for checking other files."""
    types: dict[str, NoteType] = {}
    for path, display, data in sources:
        for name, (note_type, _, _) in _head(path, display, data).result.types.items():
            types.setdefault(name, note_type)
    return types


def _head(path: Path, display: str | None, data: bytes | None) -> _Reader:
    shown = display if display is not None else str(path)
    reader = _Reader(shown, path.parent)
    if data is None:
        data = read_deck(path, reader)
        if data is None:
            return reader
    elif len(data) > MAX_FILE_BYTES:
        reader.problem(None, deck_too_large(len(data)))
        return reader
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reader.result.problems.append(utf8_problem(shown, data, error))
        return reader
    reader.lines = text.splitlines()
    root, problems = compose(text, shown)
    if problems:
        reader.problems.extend(problems)
        return reader
    if root is None or is_empty(root):
        reader.problem(None, "file is empty; a deck file needs 'deck:' and 'notes:'")
        return reader
    if reader.check_graph(root):
        reader.read_head(root)
    return reader


def read_deck(path: Path, reader: NodeReader) -> bytes | None:
    """Read a deck file within the size limit; None, with the problem reported, when it cannot be."""
    data, problem = read_deck_file(path, reader.path)
    if problem is not None:
        reader.problems.append(problem)
    return data


def cross_file_problems(
    files: list[DeckFile], known_ids: dict[str, str] | None = None, known_decks: dict[str, str] | None = None
) -> list[Problem]:
    """Report ids used twice (at every location), note types declared differently, and deck names
    that differ only in case (Anki takes them for one deck)."""
    problems: list[Problem] = _deck_case_problems(files, known_decks or {})
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


def _deck_case_problems(files: list[DeckFile], known: dict[str, str]) -> list[Problem]:
    """Deck names (or their parents) that differ only in case, at each file that writes one."""
    spellings: dict[str, dict[str, list[str]]] = {}  # lower-case name -> spelling -> files
    for deck, source in known.items():
        for name in _lineage(deck):
            spellings.setdefault(name.lower(), {}).setdefault(name, []).append(source)
    for deck_file in files:
        for name in _lineage(deck_file.deck):
            spellings.setdefault(name.lower(), {}).setdefault(name, []).append(deck_file.path)
    problems = []
    for deck_file in files:
        for name in _lineage(deck_file.deck):
            others = [(s, w) for s, w in spellings[name.lower()].items() if s != name]
            if others:
                spelling, sources = others[0]
                problems.append(
                    Problem(
                        deck_file.path,
                        deck_file.deck_line,
                        deck_file.deck_column,
                        f"deck '{name}' differs only in case from '{spelling}' (in {sources[0]}), and Anki "
                        "would take them for one deck; spell them the same",
                    )
                )
                break
    return problems


def _lineage(deck: str) -> list[str]:
    parts = deck.split("::") if deck else []
    return ["::".join(parts[: n + 1]) for n in range(len(parts))]
