"""Text from decks and the collection made safe to print: control characters shown, never obeyed.

A deck can hold any character (YAML's ``"\\x1b"`` escapes), and a terminal obeys control
characters: ESC starts sequences that set the window title, clear the screen or write the
clipboard (OSC 52); C1 controls such as U+009B (CSI) do the same on some terminals. Every
C0 control except newline and tab, DEL, every C1 control and lone surrogates (which cannot
be encoded to print) are shown as Python-style escapes: ESC as ``\\x1b``, U+009B as
``\\x9b``, a lone surrogate as ``\\udc80``.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Return ``text`` with control characters (all but newline and tab) as visible escapes."""
    return _CONTROL.sub(_escape, text)


def json_text(data: Any, indent: int | None = 2) -> str:
    """Return ``data`` as JSON for a terminal: readable Unicode, but no control character raw."""
    import json

    # json.dumps escapes C0 controls but, with ensure_ascii=False, leaves DEL and C1 controls as
    # they are; outside strings JSON has none of them, so escaping them here keeps it valid JSON.
    return _JSON_RAW.sub(
        lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, indent=indent, ensure_ascii=False)
    )
