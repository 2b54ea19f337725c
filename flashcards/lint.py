"""Advice on card quality: rules for cards worth learning, checked on the compiled cards.

Each rule looks at the text a card shows (its front and back as the terminal prints them,
Markdown marks left out) and reports at the note's place in its deck file. A note silences
rules with ``lint: [rule, ...]``; a deck with ``lint_ignore = [...]`` in ``cards.toml``.
``cards check`` says whether a deck is valid; ``cards lint`` only advises.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flashcards import markup, templates
from flashcards.model import Card, Note, NoteType, parsed_template

RULES = {
    "answer-on-front": "the answer can be read on the card's own front",
    "same-front": "two cards of a deck have the same front",
    "ambiguous": "a reverse card's clue fits several notes",
    "long-answer": "the answer is longer than the limit (rehearsal cards are exempt)",
    "long-front": "the front is longer than the limit",
    "enumeration": "the question asks to list more than a few items",
    "duplicate": "two cards have the same front and back",
    "empty-back": "the card's back is empty",
}
ANSWER_WORDS = 20
FRONT_WORDS = 40
ENUMERATION_ITEMS = 3

_MARKS = re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|`|<[^>]+>")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "both",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "which",
        "who",
        "why",
        "with",
        "you",
        "your",
    ]
)
_NUMBERS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_ENUMERATE = re.compile(
    r"\b(?:name|list|give|recite|what are|which are)\b[^?.]*?\b(all|every|each|\d+|"
    + "|".join(_NUMBERS)
    + r")\b",
    re.IGNORECASE,
)
_ITEM_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)


@dataclass(frozen=True)
class Limits:
    """The limits of the length and enumeration rules."""

    answer_words: int = ANSWER_WORDS
    front_words: int = FRONT_WORDS
    enumeration_items: int = ENUMERATION_ITEMS


@dataclass(frozen=True, order=True)
class Finding:
    """One piece of advice on one card, at its note's place."""

    path: str
    line: int
    column: int
    rule: str
    message: str
    card_id: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: warning: {self.message} [{self.rule}]"

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain data (``cards lint --json``)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "card": self.card_id,
            "note": self.card_id.rpartition("/")[0],
        }


def shown(text: str) -> str:
    """The text as the terminal shows it, on one line: Markdown marks, HTML tags and the markers
    of a revealed cloze answer (``{{c1::answer}}`` on a cloze card's back) left out."""
    if "{{c" in text:
        text = markup.REVEALED.sub(r"\1", text)
    if "*" in text or "_" in text or "`" in text or "<" in text:
        text = _MARKS.sub("", text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The words of a text, lower case."""
    return _WORD.findall(text.lower())


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A word as compared: "teams" and "team's" as "team"; empty for a short word ("ml", "of")."""
    if len(word) <= 2 and not word.isdigit():
        return ""
    word = word.replace("\u2019", "'").removesuffix("'s")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _content(text: str) -> set[str]:
    """The words that count (no "the", "of"...), reduced to a stem, as a set."""
    return _counted(words(text))


def _counted(found: list[str]) -> set[str]:
    stems = set(map(_stem, set(found) - _STOP))  # map over a cached function: no Python-level loop
    stems.discard("")
    return stems


@dataclass
class _Shown:
    card: Card
    note: Note
    front: str
    back: str
    answer: str  # what the learner must recall: the back, or a cloze card's deletion


def _cloze_answers(note: Note) -> dict[str, str]:
    """A cloze note's answers by card template (``c1``...): the deletions of that number."""
    text = note.fields.get(note.type.cloze_field() if not note.type.builtin else "text", "")
    answers: dict[str, list[str]] = defaultdict(list)
    for deletion in templates.parse_cloze(text):
        answers[f"c{deletion.number}"].append(deletion.answer)
    return {name: " ".join(parts) for name, parts in answers.items()}


def lint_notes(
    notes: Iterable[Note],
    ignored: Callable[[str], Iterable[str]] = lambda deck: (),
    limits: Callable[[str], Limits] = lambda deck: Limits(),
) -> list[Finding]:
    """Every finding on the cards of ``notes``, sorted by place.

    ``ignored(deck)`` names the rules silenced for a deck; ``limits(deck)`` gives its limits.
    """
    notes = list(notes)
    findings: list[Finding] = []
    deck_ignored: dict[str, frozenset[str]] = {}
    deck_limits: dict[str, Limits] = {}
    by_front: dict[tuple[str, str], list[_Shown]] = defaultdict(list)
    by_deck: dict[str, list[Note]] = defaultdict(list)

    def report(item: _Shown, rule: str, message: str) -> None:
        silenced = deck_ignored[item.note.deck]
        if rule in silenced or rule in item.note.lint_ignore:
            return
        note = item.note
        findings.append(Finding(note.path, note.line, note.column, rule, message, item.card.id))

    for note in notes:
        if note.deck not in deck_ignored:
            deck_ignored[note.deck] = frozenset(ignored(note.deck))
            deck_limits[note.deck] = limits(note.deck)
        by_deck[note.deck].append(note)
        rehearsal = note.type.name == "rehearsal" and note.type.builtin
        limit = deck_limits[note.deck]
        cloze = _cloze_answers(note) if note.type.kind == "cloze" else {}
        for card in note.cards:
            back = shown(card.back)
            answer = shown(cloze.get(card.template, "")) if cloze else back
            item = _Shown(card, note, shown(card.front), back, answer)
            by_front[(note.deck, item.front.lower())].append(item)
            if not item.back:
                report(item, "empty-back", "the back is empty: there is nothing to recall")
                continue
            front_words = words(item.front)
            if not rehearsal:
                answer_words = words(item.answer)
                _answer_on_front(item, _counted(answer_words), _counted(front_words), report)
                count = len(answer_words)
                if count > limit.answer_words:
                    report(
                        item,
                        "long-answer",
                        f"the answer is {count} words (limit {limit.answer_words}): "
                        "split it into cards of one fact each, or make it a rehearsal",
                    )
                _enumeration(item, limit.enumeration_items, report)
            count = len(front_words)
            if count > limit.front_words:
                report(
                    item,
                    "long-front",
                    f"the front is {count} words (limit {limit.front_words}): keep only the cue",
                )
    for group in by_front.values():
        if len(group) > 1:
            _same_front(group, report)
    for deck_notes in by_deck.values():
        _ambiguous(deck_notes, report)
    return sorted(findings)


def _answer_on_front(
    item: _Shown, answer: set[str], front: set[str], report: Callable[[_Shown, str, str], None]
) -> None:
    if answer and answer <= front:
        where = "elsewhere in the text this card shows" if item.note.type.kind == "cloze" else "on the front"
        report(item, "answer-on-front", f"the answer ({_clip(item.answer)}) can be read {where}")


def _enumeration(item: _Shown, most: int, report: Callable[[_Shown, str, str], None]) -> None:
    match = _ENUMERATE.search(item.front)
    if match is None:
        return
    said = match.group(1).lower()
    count = _NUMBERS.get(said) or (int(said) if said.isdigit() else 0)
    if not count:
        lines = len(_ITEM_LINE.findall(item.card.back))
        count = lines or len([part for part in re.split(r"[,;]", item.back) if part.strip()])
    if count > most:
        report(
            item,
            "enumeration",
            f"the question asks for {count} items (more than {most}): ask for each in its own card, "
            "or a cloze per item",
        )


def _same_front(group: list[_Shown], report: Callable[[_Shown, str, str], None]) -> None:
    for position, other in enumerate(group[1:], start=1):
        earlier = group[:position]
        same = next((item for item in earlier if item.back.lower() == other.back.lower()), None)
        first = same or earlier[0]
        place = f"{first.note.path}:{first.note.line}"
        if same is not None:
            report(other, "duplicate", f"the same card as '{first.card.id}' ({place}): keep one")
        else:
            report(
                other,
                "same-front",
                f"the same front as '{first.card.id}' ({place}) with another answer: "
                "add the context that tells them apart",
            )


def _reverse_templates(note_type: NoteType) -> dict[str, list[str]]:
    """The type's reverse templates (the back is the key alone, the front does not show it): their front's fields."""
    found: dict[str, list[str]] = {}
    if note_type.kind == "cloze":
        return found
    for template in note_type.templates:
        back = [name for name, _ in templates.template_fields(parsed_template(template.back))]
        front = [name for name, _ in templates.template_fields(parsed_template(template.front))]
        if back == [note_type.key] and note_type.key not in front:
            found[template.name] = [name for name in front if name in note_type.fields]
    return found


def _ambiguous(notes: list[Note], report: Callable[[_Shown, str, str], None]) -> None:
    holders: dict[str, set[int]] = defaultdict(set)  # word -> the notes (by position) whose fields hold it
    contents = [_content(" ".join(note.fields.values())) for note in notes]
    for position, content in enumerate(contents):
        for word in content:
            holders[word].add(position)
    reverse: dict[int, dict[str, list[str]]] = {}
    for position, note in enumerate(notes):
        shows = reverse.get(id(note.type))
        if shows is None:
            shows = reverse[id(note.type)] = _reverse_templates(note.type)
        if not shows:
            continue
        for card in note.cards:
            if card.template not in shows:
                continue
            clue = set().union(*(_content(note.fields.get(name, "")) for name in shows[card.template]))
            if not clue:
                continue
            rarest = sorted(clue, key=lambda word: len(holders[word]))
            others = set(holders[rarest[0]]) - {position}
            for word in rarest[1:]:
                if not others:
                    break
                others &= holders[word]
            answer = _content(card.back)
            others = {other for other in others if not answer <= contents[other]}  # not the same answer
            if others:
                other = notes[min(others)]
                item = _Shown(card, note, shown(card.front), shown(card.back), shown(card.back))
                report(
                    item,
                    "ambiguous",
                    f"the clue also fits note '{other.id}' ({other.path}:{other.line}): "
                    f"'{_clip(item.back)}' is not the only answer",
                )


def _clip(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
