"""A card's Markdown for the terminal, from the same tokens the Anki export renders.

Blocks map one to one onto the HTML Anki shows: paragraphs, headings, lists, block quotes, code
blocks, tables and rules. Math is shown as its TeX source; an image or a sound as a placeholder
with its alt text and path; a revealed cloze answer in the cloze style, inside code too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from flashcards import markup

CLOZE_STYLE = "bold blue"
CODE_STYLE = "cyan"
MATH_STYLE = "magenta"
MEDIA_STYLE = "dim"
QUOTE_BAR = "│ "


def terminal(text: str) -> RenderableType:
    """Return what the terminal shows for a card's Markdown ``text``."""
    from markdown_it.tree import SyntaxTreeNode

    parsed = markup.parse(text)
    renderer = _Renderer(parsed.atoms)
    return Group(*renderer.blocks(SyntaxTreeNode(parsed.tokens).children, loose=True))


def plain(text: str, width: int = 80) -> str:
    """Return the terminal's rendering of ``text`` as plain text (no colours), lines stripped."""
    console = Console(width=width, color_system=None, force_terminal=False, record=True)
    with console.capture() as captured:
        console.print(terminal(text))
    return "\n".join(line.rstrip() for line in captured.get().splitlines())


class _Renderer:
    def __init__(self, atoms: tuple[markup.Atom, ...]) -> None:
        self.atoms = atoms
        self.in_cloze = False

    def blocks(self, nodes: list[Any], loose: bool) -> list[RenderableType]:
        out: list[RenderableType] = []
        for node in nodes:
            block = self.block(node)
            if block is None:
                continue
            if out and loose:
                out.append(Text(""))
            out.append(block)
        return out

    def block(self, node: Any) -> RenderableType | None:
        kind = node.type
        if kind == "paragraph":
            return self.inline(node.children[0]) if node.children else Text("")
        if kind == "heading":
            style = "bold underline" if node.tag == "h1" else "bold"
            return self.inline(node.children[0], style)
        if kind in ("fence", "code_block"):
            code = Text(no_wrap=False)
            self.append(code, node.content.rstrip("\n"), CODE_STYLE, code=True)
            return Padding(code, (0, 0, 0, 4))
        if kind in ("bullet_list", "ordered_list"):
            return self.listing(node)
        if kind == "blockquote":
            inner = self.blocks(node.children, loose=True)
            if all(isinstance(part, Text) for part in inner):
                quoted = Text()
                lines = Text("\n").join([part for part in inner if isinstance(part, Text)]).split("\n")
                quoted = Text("\n").join([Text(QUOTE_BAR, style="dim") + line for line in lines])
                return quoted
            return Padding(Group(*inner), (0, 0, 0, 2))
        if kind == "table":
            return self.table(node)
        if kind == "hr":
            return Rule(style="dim")
        return Text(markup.restore(node.content or "", self.atoms)) if node.content else None

    def listing(self, node: Any) -> RenderableType:
        grid = Table.grid(padding=(0, 1, 0, 0))
        grid.add_column(no_wrap=True)
        grid.add_column()
        start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 0
        tight = all(
            child.hidden for item in node.children for child in item.children if child.type == "paragraph"
        )
        for number, item in enumerate(node.children, start=start):
            bullet = f"{number}." if node.type == "ordered_list" else "•"
            grid.add_row(Text(bullet), Group(*self.blocks(item.children, loose=not tight)))
        return grid

    def table(self, node: Any) -> RenderableType:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for section in node.children:
            for row in section.children:
                cells = [
                    self.inline(cell.children[0]) if cell.children else Text("") for cell in row.children
                ]
                if section.type == "thead":
                    for cell in cells:
                        table.add_column(cell)
                else:
                    table.add_row(*cells)
        return table

    def inline(self, node: Any, style: str = "") -> Text:
        out = Text()
        for child in node.children or ():
            kind = child.type
            if kind == "text":
                self.append(out, child.content, style)
            elif kind in ("softbreak", "hardbreak"):
                out.append("\n")
            elif kind == "code_inline":
                self.append(out, child.content, f"{style} {CODE_STYLE}".strip(), code=True)
            elif kind == "strong":
                out.append_text(self.inline(child, f"{style} bold".strip()))
            elif kind == "em":
                out.append_text(self.inline(child, f"{style} italic".strip()))
            elif kind == "s":
                out.append_text(self.inline(child, f"{style} strike".strip()))
            elif kind == "link":
                out.append_text(self.inline(child, f"{style} underline".strip()))
            elif kind == "image":
                alt = markup.restore(_text_of(child), self.atoms)
                path = unquote(str(child.attrs.get("src", "")))
                out.append(f"[image: {alt} ({path})]" if alt else f"[image: {path}]", style=MEDIA_STYLE)
            else:
                self.append(out, child.content or "", style)
        return out

    def append(self, out: Text, content: str, style: str, code: bool = False) -> None:
        """Append text, putting atoms back and giving a revealed cloze answer its style."""
        position = 0
        for index, char in enumerate(content):
            if char not in (markup.CLOZE_OPEN, markup.CLOZE_CLOSE, markup.ATOM_OPEN):
                continue
            if index < position:
                continue
            self._plain(out, content[position:index], style)
            if char == markup.ATOM_OPEN:
                match = markup.ATOM.match(content, index)
                if match is None:
                    position = index + 1
                    continue
                atom = self.atoms[int(match.group(1))]
                if code:
                    self._plain(out, atom.source, style)
                elif atom.kind == "math":
                    self._plain(out, atom.source, f"{style} {MATH_STYLE}".strip())
                else:
                    out.append(f"[sound: {atom.value}]", style=MEDIA_STYLE)
                position = match.end()
            else:
                self.in_cloze = char == markup.CLOZE_OPEN
                position = index + 1
        self._plain(out, content[position:], style)

    def _plain(self, out: Text, content: str, style: str) -> None:
        if content:
            out.append(content, style=f"{style} {CLOZE_STYLE}".strip() if self.in_cloze else style or None)


def _text_of(node: Any) -> str:
    return "".join(child.content or _text_of(child) for child in node.children or ())
