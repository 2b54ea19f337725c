"""One reading of a card's Markdown, shared by the terminal and the Anki export.

A card's text is read once, after its template was filled in, into markdown-it tokens; the
terminal (:mod:`flashcards.render_text`) and Anki (:mod:`flashcards.render_html`) each render
those same tokens, so both show the same blocks and the same text.

Before Markdown sees the text, what Markdown must not touch is set aside as private-use marks:
math ``\\(…\\)`` and ``\\[…\\]`` (Markdown would eat its backslashes), Anki's ``[sound:…]``, and,
on a cloze card's back, the revealed answer ``{{cN::answer}}`` (so it can sit inside a code
block or inside emphasis). Each output puts them back in its own form.

Single newlines break lines in both outputs. Raw HTML is text, never markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

ATOM_OPEN = "\ue000"
ATOM_CLOSE = "\ue001"
CLOZE_OPEN = "\ue002"
CLOZE_CLOSE = "\ue003"
_PRIVATE = re.compile("[\ue000-\ue003]")
# math never spans a blank line (a paragraph break): an unclosed '\(' stays text
_MATH = re.compile(r"\\\(((?:(?!\n[ \t]*\n).)+?)\\\)|\\\[((?:(?!\n[ \t]*\n).)+?)\\\]", re.DOTALL)
_SOUND = re.compile(r"\[sound:([^\[\]\n]+)\]")
REVEALED = re.compile(
    r"\{\{c\d+::(.*?)\}\}", re.DOTALL
)  # a revealed answer, as templates.render_cloze writes it
ATOM = re.compile(f"{ATOM_OPEN}(\\d+){ATOM_CLOSE}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Atom:
    """Text set aside from Markdown: ``math`` (its source, delimiters included) or a ``sound`` (its path)."""

    kind: str
    source: str
    value: str


@dataclass(frozen=True)
class Parsed:
    """A card text read into markdown-it tokens, with the atoms its marks stand for."""

    tokens: list[Any]
    atoms: tuple[Atom, ...]


@lru_cache(maxsize=1)
def markdown() -> Any:
    """The Markdown reader both outputs use: CommonMark, tables, strikethrough, raw HTML as text."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])


def parse(text: str, reveal_cloze: bool = True) -> Parsed:
    """Read ``text``; with ``reveal_cloze``, ``{{cN::answer}}`` is a revealed cloze answer.

    Without it (a cloze note's field as Anki stores it), the cloze markers stay as they are,
    for Anki to hide or reveal.
    """
    atoms: list[Atom] = []

    def keep(kind: str, source: str, value: str) -> str:
        atoms.append(Atom(kind, source, value))
        return f"{ATOM_OPEN}{len(atoms) - 1}{ATOM_CLOSE}"

    # each step only where its syntax can occur: most texts have none of it
    if _PRIVATE.search(text):
        text = _PRIVATE.sub("\ufffd", text)
    if reveal_cloze and "{{c" in text:
        text = REVEALED.sub(lambda m: f"{CLOZE_OPEN}{m.group(1)}{CLOZE_CLOSE}", text)
    if "\\" in text:
        text = _MATH.sub(lambda m: keep("math", m.group(0), m.group(1) or m.group(2) or ""), text)
    if "[sound:" in text:
        text = _SOUND.sub(lambda m: keep("sound", m.group(0), m.group(1).strip()), text)
    return Parsed(markdown().parse(text), tuple(atoms))


@dataclass(frozen=True)
class Reference:
    """A media file a text names: ``kind`` image or sound, ``key`` as the renderer sees it, ``path`` as written."""

    kind: str
    key: str
    path: str


def media_references(text: str) -> list[Reference]:
    """Return the local images and sounds ``text`` names, in order (web images are not media)."""
    if "![" not in text and "[sound:" not in text:  # neither can be written without these
        return []
    parsed = parse(text, reveal_cloze=False)
    found: list[Reference] = []
    for token in _walk(parsed.tokens):
        if token.type == "image":
            src = str(token.attrGet("src") or "")
            if src and not _SCHEME.match(src) and not src.startswith("//"):
                found.append(Reference("image", src, unquote(src)))
        elif token.type in ("text", "code_inline", "fence", "code_block"):
            for match in ATOM.finditer(token.content):
                atom = parsed.atoms[int(match.group(1))]
                if atom.kind == "sound" and token.type == "text":
                    found.append(Reference("sound", atom.value, atom.value))
    return found


def _walk(tokens: list[Any]) -> list[Any]:
    out: list[Any] = []
    for token in tokens:
        out.append(token)
        if token.children:
            out.extend(_walk(token.children))
    return out


def restore(text: str, atoms: tuple[Atom, ...]) -> str:
    """Put atoms back as their source and drop cloze marks: the text as it was written."""
    text = ATOM.sub(lambda m: atoms[int(m.group(1))].source, text)
    return text.replace(CLOZE_OPEN, "").replace(CLOZE_CLOSE, "")
