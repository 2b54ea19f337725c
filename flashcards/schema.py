"""The JSON Schema of a deck file, for editors: keys completed and mistakes flagged as you type.

``cards check`` stays the judge (it knows the note types of every file); the schema catches what
can be told from one file: the keys of a file, of a note type and of a template, the fields of the
built-in types, ids, names and the ``order:``.
"""

from __future__ import annotations

from typing import Any

from flashcards.gather import ORDER_LIMIT
from flashcards.lint import RULES as LINT_RULES

_SCALAR = {"type": ["string", "number", "boolean", "null"]}  # YAML scalars: every one is read as text
_TEXT = {"type": ["string", "number", "boolean"]}
_NAME = "^[a-z0-9][a-z0-9_-]*$"
_FIELD = "^[A-Za-z][A-Za-z0-9_]*$"
_TAGS = {
    "description": "Tags (no spaces), one or a list.",
    "anyOf": [
        {"type": "string", "pattern": "^\\S+$"},
        {"type": "array", "items": {"type": "string", "pattern": "^\\S+$"}},
    ],
}
_BUILTIN_FIELDS = {"basic": ["front", "back"], "reversed": ["front", "back"], "cloze": ["text", "extra"]}


def deck_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a deck file or of a types.yaml."""
    note_keys = {
        "id": {
            "description": "The note's id: letters, digits and '-_.:'.",
            "type": "string",
            "pattern": "^[^\\W_][\\w.:-]*$",
            "maxLength": 128,
        },
        "type": {
            "description": "basic (default), reversed, cloze, rehearsal, or a declared type.",
            "type": "string",
        },
        "tags": _TAGS,
        "lint": {
            "description": "The `cards lint` rules silenced for this note, one or a list.",
            "anyOf": [
                {"enum": list(LINT_RULES)},
                {"type": "array", "items": {"enum": list(LINT_RULES)}},
            ],
        },
        "points": {"type": "array", "description": "A rehearsal note's key points."},
        "covers": {"type": "array", "description": "A rehearsal note's notes behind each point."},
    }
    builtin_notes = [
        {
            "if": {
                "properties": {"type": {"const": name}},
                **({"required": ["type"]} if name != "basic" else {}),
            },
            "then": {
                "properties": {
                    field: {**_SCALAR, "description": f"Field '{field}' of a '{name}' note (Markdown)."}
                    for field in fields
                },
                "propertyNames": {"enum": ["id", "type", "tags", "lint", *fields]},
            },
        }
        for name, fields in _BUILTIN_FIELDS.items()
    ]
    builtin_notes.append(
        {
            "if": {"properties": {"type": {"const": "rehearsal"}}, "required": ["type"]},
            "then": {
                "properties": {
                    "prompt": {**_SCALAR, "description": "The interview question or situation (Markdown)."},
                    "time": {
                        "type": "string",
                        "description": "Optional target speaking time: 90s, 2m, 1.5m, 1m30s.",
                    },
                    "points": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "maxItems": 9,
                        "description": "The key points to make, one short line each.",
                    },
                    "covers": {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                {"type": "string"},
                                {"type": "array", "items": {"type": "string"}},
                                {"type": "null"},
                            ]
                        },
                        "description": "Per point, the id(s) of the notes behind it ([] or ~ for none).",
                    },
                },
                "required": ["prompt", "points"],
                "propertyNames": {
                    "enum": ["id", "type", "tags", "lint", "prompt", "time", "points", "covers"]
                },
            },
        }
    )
    template = {
        "type": "object",
        "properties": {
            "front": {**_TEXT, "description": "The question, in Anki's template syntax and Markdown."},
            "back": {**_TEXT, "description": "The answer, shown under the front."},
            "renamed_from": {
                "type": "string",
                "pattern": _NAME,
                "description": "The template's former name: its cards keep their history.",
            },
        },
        "required": ["front", "back"],
        "additionalProperties": False,
    }
    field_item = {
        "anyOf": [
            {"type": "string", "pattern": _FIELD},
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "pattern": _FIELD},
                    "renamed_from": {
                        "type": "string",
                        "pattern": _FIELD,
                        "description": "The field's former name.",
                    },
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        ]
    }
    note_type = {
        "type": "object",
        "properties": {
            "fields": {"type": "array", "items": field_item, "minItems": 1},
            "key": {
                "type": "string",
                "pattern": _FIELD,
                "description": "The field a note's id is derived from (default: the first).",
            },
            "templates": {
                "type": "object",
                "propertyNames": {"pattern": _NAME},
                "additionalProperties": template,
                "minProperties": 1,
            },
        },
        "required": ["fields", "templates"],
        "additionalProperties": False,
    }
    note = {
        "type": "object",
        "properties": note_keys,
        "additionalProperties": _SCALAR,
        "allOf": builtin_notes,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cards deck file",
        "description": "A deck file of cards (deck: and notes:), or a types.yaml holding only types:.",
        "type": "object",
        "properties": {
            "deck": {
                "type": "string",
                "minLength": 1,
                "description": "The deck; '::' nests decks, as in Anki.",
            },
            "order": {
                "type": "integer",
                "minimum": -ORDER_LIMIT,
                "maximum": ORDER_LIMIT,
                "description": "New cards of files with a lower order are learnt first.",
            },
            "tags": _TAGS,
            "types": {
                "type": "object",
                "propertyNames": {"pattern": _NAME, "not": {"enum": list(_BUILTIN_FIELDS)}},
                "additionalProperties": note_type,
                "description": "Note types, shared by every deck file.",
            },
            "notes": {"type": "array", "items": note},
        },
        "additionalProperties": False,
        "anyOf": [
            {"required": ["deck", "notes"]},
            {
                "required": ["types"],
                "not": {"anyOf": [{"required": ["deck"]}, {"required": ["notes"]}, {"required": ["tags"]}]},
            },
        ],
    }
