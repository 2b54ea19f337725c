"""Anki notes that did not come from cards, as YAML deck files: one file per Anki deck.

Anki's Basic, Basic-and-reversed and Cloze note types (recognised by their shape, not their
names, which Anki translates) become the built-in ``basic``, ``reversed`` and ``cloze``; any other
note type is declared in the file, with its fields and templates (the CSS left out). Field text
is HTML in Anki and Markdown here: it is converted with markdownify, and whatever Markdown cannot
say (colours, fonts, underline…) is reported per note, never dropped silently. Images and
sounds the fields name are taken from the Anki file into a ``media`` folder beside the deck
files, and the fields name them there. Each note gets an explicit id derived from its Anki GUID,
so importing again updates the same notes. A note that would not compile here (an empty front,
a nested cloze…) is left out and reported with the reason, with the rest of its deck kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from flashcards.anki_ids import IMPORTED_PREFIX
from flashcards.anki_import import Collection, Note, NoteType, safe_media_name
from flashcards.export import package_name
from flashcards.loader import load_file
from flashcards.model import RESERVED_FIELDS, RESERVED_KEYS

_SIMPLE_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "br",
    "div",
    "p",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "span",
    "blockquote",
}
_SIMPLE_TAGS |= {f"h{level}" for level in range(1, 7)}
_SIMPLE_TAGS |= {"a", "img", "table", "thead", "tbody", "tfoot", "tr", "th", "td"}  # links, images, tables
_KEPT_ATTRIBUTES = {"dir"}
_KEPT_OF = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
_SOUND = re.compile(r"\[sound:([^\[\]]*)\]")
_OTHER_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")  # line breaks besides '\n' (YAML counts them)
_LINE_BREAKS = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # every line break, as YAML's reader counts them
MEDIA_DIR = "media"  # beside the deck files an import writes: the images and sounds their notes name
_WEB = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # a URL (http:, data:…), not a file in the Anki file
_FIELD_REF = re.compile(r"\{\{([#^/]?)([^{}]*?)\}\}")
_ANSWER_RULE = re.compile(r"<hr\s+id=[\"']?answer[\"']?\s*/?>", re.IGNORECASE)
_SPECIAL_FIELDS = {"Tags", "Deck", "Subdeck", "Card", "CardFlag", "Type", "CardID"}
_RESERVED = {*RESERVED_FIELDS, *RESERVED_KEYS}  # field names a deck file cannot use (any case)


@dataclass
class Converted:
    """One Anki deck's notes as a deck file, and what could not be converted."""

    deck: str
    path: Path
    text: str
    cards: dict[int, str] = field(default_factory=dict)  # Anki card id -> our card id
    notes: int = 0
    problems: list[str] = field(default_factory=list)  # "note <id>: what was not converted"
    media: set[str] = field(default_factory=set)  # the Anki media files its notes name
    left_out: list[str] = field(default_factory=list)  # "note <id> (n cards): why it was not imported"
    # the notes of this deck in another deck file (moved there by hand): that file's path -> their ids
    elsewhere: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[int, str] = field(default_factory=dict)  # their cards: Anki card id -> our card id


class _Scan(HTMLParser):
    """The tags and attributes of an HTML fragment that Markdown cannot express."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lost: set[str] = set()
        self.cells = 0  # table cells open

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cells:
            self.cells -= 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self.cells += 1
        elif tag in ("br", "p", "div", "li") and self.cells:  # a Markdown table cell is one line
            self.lost.add("a line break in a table cell (made a space)")
        if tag not in _SIMPLE_TAGS:
            self.lost.add(f"<{tag}>")
        kept = _KEPT_ATTRIBUTES | _KEPT_OF.get(tag, set())
        for name, _ in attrs:
            if name not in kept:
                self.lost.add(f"the {name} of <{tag}>")


@dataclass
class MediaNames:
    """The media files an Anki file holds (by name), and those the converted text names."""

    available: set[str]
    used: set[str] = field(default_factory=set)

    def find(self, written: str) -> str | None:
        """The Anki file's media file a field names (as written, or URL-decoded), if it holds it."""
        from html import unescape
        from urllib.parse import unquote

        for name in (written, unquote(written), unescape(written)):
            if name in self.available:
                self.used.add(name)
                return name
        return None


def _media_path(name: str) -> str:
    """How a deck file an import wrote names an imported media file (a link's URL, encoded)."""
    from urllib.parse import quote

    return f"{MEDIA_DIR}/{quote(name, safe='!$&*+,;=@-._~')}"


def html_to_markdown(
    html: str, template: bool = False, media: MediaNames | None = None
) -> tuple[str, list[str]]:
    """Convert an Anki field (or, with ``template``, a template) to Markdown; return it and what it lost.

    A template's ``{{…}}`` tags are kept as they are (Markdown escapes would break field names).
    Images and sounds are named in the :data:`MEDIA_DIR` folder when ``media`` holds them (and
    recorded there as used); one it does not hold is left out and reported.
    """
    from markdownify import MarkdownConverter

    kept: list[str] = []

    def keep(text: str) -> str:
        kept.append(text)
        return f"\ue000{len(kept) - 1}\ue001"

    if template:
        html = _FIELD_REF.sub(lambda match: keep(match.group(0)), html)
    scan = _Scan()
    scan.feed(html)
    scan.close()
    lost = sorted(scan.lost)

    def sound(match: re.Match[str]) -> str:
        written = match.group(1).strip()
        name = media.find(written) if media is not None else None
        if name is None:
            lost.append(f"the sound '{written}' (not in the Anki file)" if media is not None else "a sound")
            return ""
        return keep(f"[sound:{MEDIA_DIR}/{name}]")

    html = _SOUND.sub(sound, html)

    class Converter(MarkdownConverter):
        def convert_td(self, el: Any, text: str, parent_tags: Any) -> str:
            return str(super().convert_td(el, _cell(text), parent_tags))  # type: ignore[misc]

        def convert_th(self, el: Any, text: str, parent_tags: Any) -> str:
            return str(super().convert_th(el, _cell(text), parent_tags))  # type: ignore[misc]

        def convert_img(self, el: Any, text: str, parent_tags: Any) -> str:
            written = el.attrs.get("src") or ""
            if _WEB.match(written) and not written.startswith("data:"):
                # a web image: shown from the web
                return str(super().convert_img(el, text, parent_tags))  # type: ignore[misc]
            name = media.find(written) if media is not None and written else None
            if name is None:
                lost.append(f"the image '{written[:60]}' (not in the Anki file)" if written else "an image")
                return ""
            alt = (el.attrs.get("alt") or "").replace("[", "(").replace("]", ")")
            return keep(f"![{alt}]({_media_path(name)})")

    def _cell(text: str) -> str:
        """A table cell's text, a '|' in it escaped (else it ends the cell)."""
        return text.replace("|", "\\|")

    text = Converter(heading_style="ATX", bullets="-").convert(html)
    text = _OTHER_BREAKS.sub("\n", text)  # a line break YAML counts as one: the one it writes
    lines = [line.rstrip() for line in text.replace("\xa0", " ").split("\n")]
    text = "\n".join(lines).strip("\n")
    text = re.sub(r"\n{3,}", "\n\n", text)
    if kept:
        text = re.sub("\ue000(\\d+)\ue001", lambda match: kept[int(match.group(1))], text)
    return text, lost


def _slug(name: str, pattern: str, fallback: str) -> str:
    if pattern == "field":
        text = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
        if not text or not text[0].isalpha():
            text = f"f_{text}" if text else fallback
        return text
    text = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    return text or fallback


def note_id(guid: str) -> str:
    """The id of an imported note, derived from its Anki GUID (reversibly: ``anki_ids.note_guid``)."""
    return f"{IMPORTED_PREFIX}{guid.encode('utf-8').hex()}"


@dataclass(frozen=True)
class _Type:
    """How an Anki note type is written here: a built-in type, or a declared one."""

    name: str
    fields: tuple[str, ...]  # our field name for each Anki field, in order
    templates: tuple[str, ...]  # our template name for each Anki template ordinal ('' for cloze)
    declaration: dict[str, Any] | None
    cloze: bool = False
    problems: tuple[str, ...] = ()


def _shape(note_type: NoteType) -> _Type:
    fields = note_type.fields
    fronts = [front.strip() for _, front, _ in note_type.templates]
    if note_type.cloze:
        extra = () if len(fields) <= 2 else (f"the fields after the second of cloze type {note_type.name!r}",)
        return _Type("cloze", ("text", "extra"), ("",), None, cloze=True, problems=extra)
    if len(fields) == 2 and fronts == [f"{{{{{fields[0]}}}}}"]:
        return _Type("basic", ("front", "back"), ("card",), None)
    if len(fields) == 2 and fronts == [f"{{{{{fields[0]}}}}}", f"{{{{{fields[1]}}}}}"]:
        return _Type("reversed", ("front", "back"), ("card", "reverse"), None)
    ours: list[str] = []
    for index, name in enumerate(fields):
        slug = _slug(name, "field", f"field{index}")
        while slug.lower() in {f.lower() for f in ours} or slug.lower() in _RESERVED:
            slug = (
                f"{slug}_{index}"  # a note's own key, or Anki's special field: 'Tags' -> 'Tags_1' (its place)
            )
        ours.append(slug)
    renamed = dict(zip(fields, ours, strict=True))
    templates: dict[str, dict[str, str]] = {}
    names = []
    problems: list[str] = []
    for index, (name, front, back) in enumerate(note_type.templates):
        slug = _slug(name, "name", f"card{index + 1}")
        while slug in templates:
            slug = f"{slug}-{index + 1}"
        names.append(slug)
        back = back.replace("{{FrontSide}}", "")
        back = _ANSWER_RULE.sub("", back)
        sides = {}
        for side, source in (("front", front), ("back", back)):
            converted, lost = html_to_markdown(
                _template_fields(source, renamed, problems, side), template=True
            )
            sides[side] = converted or "…"
            problems.extend(f"template {name!r}: {what}" for what in lost)
        templates[slug] = sides
    type_name = _slug(note_type.name, "name", f"type-{note_type.id}")
    if type_name in ("basic", "reversed", "cloze"):
        type_name = f"anki-{type_name}"
    declaration = {"fields": ours, "templates": templates}
    return _Type(type_name, tuple(ours), tuple(names), declaration, problems=tuple(problems))


def _template_fields(source: str, renamed: dict[str, str], problems: list[str], side: str = "back") -> str:
    """A template with our field names; filters (``text:``, ``hint:``…) and special fields left
    out. Typing the answer (``{{type:Back}}``) is not done here: the box on the front is left
    out (it would show the answer), and the back shows the field."""

    def rename(match: re.Match[str]) -> str:
        sigil, inner = match.group(1), match.group(2).strip()
        name = inner.rsplit(":", 1)[-1]
        if not sigil and inner.split(":", 1)[0].strip() == "type":
            if side == "front":
                problems.append(
                    f"typing the answer ('{{{{{inner}}}}}' left out of the front; the back shows the field)"
                )
                return ""
        elif ":" in inner and not sigil:
            problems.append(f"the filter in '{{{{{inner}}}}}' (kept as a plain field)")
        if name in renamed and renamed[name] != name:  # a field of the note type, renamed here
            return f"{{{{{sigil}{renamed[name]}}}}}"
        if name in _SPECIAL_FIELDS or name == "FrontSide":
            problems.append(f"the special field '{{{{{inner}}}}}'")
            return ""
        if name not in renamed:
            return match.group(0)
        return f"{{{{{sigil}{renamed[name]}}}}}"

    return _FIELD_REF.sub(rename, source)


def convert(
    anki: Collection,
    notes: list[Note],
    into: Path,
    decks_dir: Path,
    staged: Path | None = None,
    placed: dict[str, str] | None = None,
) -> list[Converted]:
    """Convert ``notes`` to one deck file per Anki deck under ``into``, validated as ``cards check`` would.

    The files are checked as if they were in ``staged`` (default ``into``), where the media they
    name are found (in its :data:`MEDIA_DIR`). A note that would not compile is left out of its
    file and reported in ``left_out``, and a deck with no note left is not written. A note that
    ``placed`` (note id -> deck file, relative to ``decks_dir``) puts in another file than its
    deck's is the user's there: it is left out too (``elsewhere``), its cards still mapped.
    """
    cards_of: dict[int, list[Any]] = {}
    for card in anki.cards.values():
        cards_of.setdefault(card.note_id, []).append(card)
    shapes = {type_id: _shape(note_type) for type_id, note_type in anki.note_types.items()}
    available = (
        {name for name in anki.media.names() if safe_media_name(name)} if anki.media is not None else set()
    )
    by_deck: dict[str, list[Note]] = {}
    for note in notes:
        cards = sorted(cards_of.get(note.id, []), key=lambda c: c.ordinal)
        if not cards:
            continue
        deck_id = cards[0].original_deck_id or cards[0].deck_id
        by_deck.setdefault(anki.decks.get(deck_id, "Default"), []).append(note)
    results = []
    for deck, deck_notes in sorted(by_deck.items()):
        path = into / package_name(deck).removesuffix(".apkg")
        path = path.with_name(f"{path.name}.yaml")
        converted = Converted(deck, path, "")
        written_as = _relative(path, decks_dir)
        types: dict[str, Any] = {}
        entries: list[tuple[dict[str, Any], list[str], set[str], int]] = []  # entry, problems, media, cards
        for note in sorted(deck_notes, key=lambda n: n.id):
            shape = shapes[note.type_id]
            our_id = note_id(note.guid)
            there = (placed or {}).get(our_id)
            if there is not None and there != written_as:
                converted.elsewhere.setdefault(str(decks_dir / there), []).append(our_id)
                converted.kept.update(_card_ids(shape, our_id, cards_of.get(note.id, [])))
                continue
            entry: dict[str, Any] = {"id": our_id}
            if shape.name != "basic":
                entry["type"] = shape.name
            lost: list[str] = list(shape.problems)
            media = MediaNames(available)
            for name, value in zip(shape.fields, note.fields, strict=False):
                text, missing = html_to_markdown(value, media=media)
                lost.extend(f"field {name!r}: {what}" for what in missing)
                if text:
                    entry[name] = text
            if note.tags:
                entry["tags"] = list(note.tags)
            if shape.declaration is not None:
                types[shape.name] = shape.declaration
            converted.cards.update(_card_ids(shape, our_id, cards_of.get(note.id, [])))
            problems = [f"note {our_id}: {what} not converted" for what in sorted(set(lost))]
            entries.append((entry, problems, media.used, len(cards_of.get(note.id, []))))
        head: dict[str, Any] = {"deck": deck}
        if types:
            head["types"] = types
        checked = staged / path.name if staged is not None else path
        if staged is not None and anki.media is not None:
            _stage_media(anki, {name for _, _, used, _ in entries for name in used}, staged / MEDIA_DIR)
        while True:
            converted.text, spans = _dump_notes(head, [entry for entry, _, _, _ in entries])
            loaded = load_file(checked, _relative(path, decks_dir), converted.text.encode("utf-8"))
            errors = [problem for problem in loaded.problems if problem.severity == "error"]
            failing = {
                index: [e for e in errors if first <= e.line <= last]
                for index, (first, last) in spans.items()
            }
            failing = {index: found for index, found in failing.items() if found}
            if not failing:
                break  # compiles; or fails outside any one note (a note type): reported as errors
            for index in sorted(failing, reverse=True):
                entry, _, _, count = entries.pop(index)
                reasons = "; ".join(dict.fromkeys(problem.message for problem in failing[index]))
                converted.left_out.append(
                    f"note {entry['id']} ({count} {'card' if count == 1 else 'cards'}) was not imported: {reasons}"
                )
        converted.left_out.reverse()
        if not entries:
            results.append(converted)  # nothing to write: only what was left out, reported
            converted.cards = dict(converted.kept)
            converted.text = ""
            continue
        converted.notes = len(entries)
        for _, problems, used, _ in entries:
            converted.problems.extend(problems)
            converted.media |= used
        converted.problems.extend(str(problem) for problem in loaded.problems)
        known = {card.id for note in loaded.notes for card in note.cards}
        converted.cards = {key: value for key, value in converted.cards.items() if value in known}
        converted.cards.update(converted.kept)
        results.append(converted)
    return results


def _card_ids(shape: _Type, our_id: str, cards: list[Any]) -> dict[int, str]:
    """The ids here of a note's Anki cards: Anki card id -> our card id."""
    return {
        card.id: f"{our_id}/{f'c{card.ordinal + 1}' if shape.cloze else shape.templates[card.ordinal]}"
        for card in cards
    }


def _line_breaks(text: str) -> int:
    """The line breaks of a YAML text as its reader counts them (its marks' lines)."""
    return len(_LINE_BREAKS.findall(text))


def _stage_media(anki: Collection, names: set[str], folder: Path) -> None:
    """Write the Anki file's media files ``names`` into ``folder`` (those not there yet)."""
    assert anki.media is not None
    wanted = {name for name in names if not (folder / name).exists()}
    if not wanted:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in anki.media.read(wanted).items():
        (folder / name).write_bytes(data)


def _dump_notes(
    head: dict[str, Any], entries: list[dict[str, Any]]
) -> tuple[str, dict[int, tuple[int, int]]]:
    """A deck file's text, and the lines (first, last: 1-based) each note's entry takes in it."""
    if not entries:
        return _dump({**head, "notes": []}), {}
    parts = [_dump(head), "notes:\n"]
    line = _line_breaks(parts[0]) + 2
    spans = {}
    for index, entry in enumerate(entries):
        text = _dump([entry])  # a top-level list item is written as it is under 'notes:'
        lines = _line_breaks(text)
        spans[index] = (line, line + lines - 1)
        line += lines
        parts.append(text)
    return "".join(parts), spans


def _relative(path: Path, decks_dir: Path) -> str:
    """A deck file's path as the collection keeps it (``notes.source_file``): relative to the
    decks directory, with '/', whichever way either was spelled (relative, absolute, '~', links)."""
    for deck_file, decks in ((path, decks_dir), (path.absolute(), decks_dir.absolute())):
        try:  # as compiling walks the decks (a deck file may be a link to elsewhere)
            return deck_file.relative_to(decks).as_posix()
        except ValueError:
            pass
    try:  # spelled otherwise than the decks directory (one relative, '..', a linked folder)
        return path.resolve().relative_to(decks_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def _dump(document: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")):
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    Dumper.add_representer(str, text)
    dumped: str = yaml.dump(document, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
    return dumped
