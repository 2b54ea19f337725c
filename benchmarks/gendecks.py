"""Generate deck files with N notes (a mix of basic, reversed, cloze and a declared type)."""

from __future__ import annotations

import argparse
from pathlib import Path

NOTES_PER_FILE = 1000

HEADER = """deck: Generated::Part {part:03d}
tags: [generated]
types:
  term:
    fields: [term, meaning, example]
    key: term
    templates:
      meaning:
        front: "What does **{{{{term}}}}** mean?"
        back: "{{{{meaning}}}}{{{{#example}}}}\\n\\n*Example:* {{{{example}}}}{{{{/example}}}}"
      term:
        front: "Which term means: {{{{meaning}}}}?"
        back: "{{{{term}}}}"
notes:
"""


def note(index: int) -> str:
    """Return the YAML of note ``index``; the kind cycles so every note type is exercised."""
    kind = index % 4
    if kind == 0:
        return f"  - front: Question number {index} about deployment practice?\n    back: Answer {index}, with *emphasis* and `code`.\n"
    if kind == 1:
        return f"  - type: reversed\n    front: Concept {index}\n    back: Definition of concept {index}\n"
    if kind == 2:
        return (
            f'  - type: cloze\n    text: "Fact {index}: canary releases limit the {{{{c1::blast radius {index}}}}}'
            f' of {{{{c2::frequent releases}}}}."\n'
        )
    return f"  - type: term\n    id: term-{index}\n    term: Term {index}\n    meaning: Meaning of term {index}\n    example: Used in sentence {index}.\n"


def generate(directory: Path, notes: int) -> list[Path]:
    """Write ``notes`` notes into ``directory`` in files of 1,000 notes; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for part, start in enumerate(range(0, notes, NOTES_PER_FILE)):
        path = directory / f"part-{part:03d}.yaml"
        body = "".join(note(i) for i in range(start, min(notes, start + NOTES_PER_FILE)))
        path.write_text(HEADER.format(part=part) + body, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--notes", type=int, default=10_000)
    arguments = parser.parse_args()
    print(f"{len(generate(arguments.directory, arguments.notes))} files written")
