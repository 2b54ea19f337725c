"""Write the derived id of every note written without ``id:`` into its deck file, byte for byte.

A note's derived id comes from its key field, so editing that field would give the note a new
id and leave its cards' history behind. On its first compile, each such note gets an explicit
``id:`` line equal to the id it already has; from then on any edit keeps it. Everything else in
the file (comments, quoting, indentation, line endings, a missing final newline, a byte-order
mark) stays exactly as written. The file is replaced atomically, and only if it still holds the
bytes that were compiled.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flashcards.loader import IdSlot

_BOM = "\ufeff"


def with_ids(data: bytes, slots: Sequence[IdSlot]) -> bytes | None:
    """Return ``data`` with an ``id:`` line for each slot, or None when a slot is not where expected."""
    text = data.decode("utf-8")
    bom = text.startswith(_BOM)
    if bom:
        text = text[1:]
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    newline = "\r\n" if "\r\n" in text else "\n"
    inserts: list[tuple[int, str]] = []
    for slot in slots:
        if slot.line > len(lines):
            return None
        offset = starts[slot.line - 1] + slot.column - 1
        if slot.flow:
            if text[offset : offset + 1] != "{":
                return None
            inserts.append((offset + 1, f"id: '{slot.note_id}', "))
            continue
        first = text[offset : offset + 1]
        if not first or first in " \t\r\n?-#{[" or offset >= starts[slot.line]:
            return None
        line = lines[slot.line - 1]
        ending = "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else newline
        inserts.append((offset, f"id: {slot.note_id}{ending}{' ' * (slot.column - 1)}"))
    pieces = [_BOM] if bom else []
    position = 0
    for offset, insert in sorted(inserts):
        pieces += (text[position:offset], insert)
        position = offset
    pieces.append(text[position:])
    return "".join(pieces).encode("utf-8")


def replace_file(path: Path, compiled: bytes, data: bytes) -> bool:
    """Replace ``path`` with ``data`` atomically if it still holds ``compiled``; True if it did.

    False when the file changed since it was read (an editor saved it, another ``cards`` process
    wrote the ids): the next compile reads it again. A symbolic link is followed (the file it
    names is replaced), and the file keeps its mode. Raises :class:`OSError` when it cannot write.
    """
    target = path.resolve()
    if target.read_bytes() != compiled:
        return False
    mode = target.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
