"""Read a YAML node graph (``yaml.compose``) with every problem located at its file, line and column.

Nothing is ever constructed from a tag: values are read from the nodes as written. Duplicate
keys are reported instead of silently dropped, and anchors, aliases, explicit tags and deep
nesting are refused before anything is read (an alias bomb costs nothing: nodes are never
expanded). Problems are collected, not raised, so one pass reports them all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import yaml

from flashcards.errors import Problem

MAX_DEPTH = 32

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
PLAIN_TAGS = {
    STR,
    NULL,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}
try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


class NodeReader:
    """Validates a node graph piece by piece, collecting located problems in ``problems``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node | None, message: str, offset_line: int = 0) -> None:
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(self.path, line + offset_line, column, message))

    def check_graph(self, root: yaml.Node) -> bool:
        """Refuse aliases, explicit tags and deep nesting; True when the graph is a plain tree."""
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if id(node) in seen:
                self.problem(
                    node,
                    "anchors and aliases (&name, *name) are not supported in deck files; write the value out",
                )
                return False
            seen.add(id(node))
            if node.tag not in PLAIN_TAGS:
                self.problem(node, f"YAML tag '{node.tag}' is not allowed in deck files; remove it")
                return False
            if depth > MAX_DEPTH:
                self.problem(node, f"nesting deeper than {MAX_DEPTH} levels; a deck needs far fewer")
                return False
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack.append((key, depth + 1))
                    stack.append((value, depth + 1))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, depth + 1) for item in node.value)
        return True

    def mapping(
        self, node: yaml.Node, what: str, allowed: Iterable[str] | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """Return a mapping's entries by key; report non-mappings, duplicate and unknown keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys to values, not {kind(node)}")
            return None
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        allowed_list = list(allowed) if allowed is not None else None
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == NULL:
                self.problem(key_node, f"keys of {what} must be text")
                continue
            key = key_node.value
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.problem(key_node, f"duplicate key '{key}' in {what} (first at line {first}); keep one")
                continue
            if allowed_list is not None and key not in allowed_list:
                self.problem(key_node, f"unknown key '{key}' in {what}{suggest(key, allowed_list)}")
                continue
            entries[key] = (key_node, value_node)
        return entries

    def text(self, node: yaml.Node, what: str, required: bool = False) -> str | None:
        """Return a scalar's text exactly as written; report lists and mappings."""
        if not isinstance(node, yaml.ScalarNode):
            hint = (
                "; for a Markdown list use a block scalar ('|')"
                if isinstance(node, yaml.SequenceNode) and what.startswith("field")
                else ""
            )
            self.problem(node, f"{what} must be text, not {kind(node)}{hint}")
            return None
        value = "" if node.tag == NULL else node.value
        if required and not value.strip():
            self.problem(node, f"{what} is empty")
            return None
        return value

    def names(
        self, node: yaml.Node, what: str, pattern: re.Pattern[str], rule: str
    ) -> list[tuple[str, yaml.Node]]:
        """Return a list of names (a sequence of scalars, or one scalar)."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        found: list[tuple[str, yaml.Node]] = []
        for item in items:
            value = self.text(item, what, required=True)
            if value is None:
                continue
            if not pattern.match(value):
                self.problem(item, f"{what} '{value}' is not valid: {rule}")
                continue
            found.append((value, item))
        return found


def compose(text: str, path: str) -> tuple[yaml.Node | None, list[Problem]]:
    """Parse ``text`` into a node graph; a syntax error becomes a located problem."""
    try:
        return yaml.compose(text, Loader=_Loader), []
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        if "mapping values are not allowed" in message:
            message += (
                "; a value holding ': ' must be quoted, e.g. front: \"Access mode: RWO\" "
                "(or use a block scalar '|')"
            )
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(path, line, column, f"YAML syntax: {message}")]
    except yaml.reader.ReaderError as error:
        return None, [_character_problem(text, path, error)]
    except yaml.YAMLError as error:
        return None, [Problem(path, 1, 1, f"YAML: {error}")]
    except RecursionError:
        return None, [Problem(path, 1, 1, f"nesting deeper than {MAX_DEPTH} levels")]


def _character_problem(text: str, path: str, error: yaml.reader.ReaderError) -> Problem:
    """Locate a character YAML refuses (its reader gives a byte offset, so find the character)."""
    character = chr(error.character) if isinstance(error.character, int) else str(error.character)
    offset = max(text.find(character), 0)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    code = ord(character[:1] or "\0")
    escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return Problem(
        path,
        line,
        column,
        f'control character U+{code:04X} is not allowed in YAML; in a double-quoted string write "{escape}"',
    )


def is_empty(root: yaml.Node | None) -> bool:
    """True for a document with nothing in it (or only comments, or a bare null)."""
    return root is None or (isinstance(root, yaml.ScalarNode) and root.tag == NULL)


def line_offset(node: yaml.Node, text: str, offset: int) -> int:
    """Lines between a scalar's start and a position in it (block scalars start a line later)."""
    if getattr(node, "style", None) in ("|", ">"):
        return 1 + text.count("\n", 0, offset)
    return 0


def kind(node: yaml.Node) -> str:
    """Name what a node is, for messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"'{node.value}'" if node.value else "empty"


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
