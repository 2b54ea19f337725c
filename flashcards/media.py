"""Images and sounds that deck files name: found, checked, and named for Anki's media folder.

A deck names a file relative to itself (``![diagram](img/arch.png)``, ``[sound:say.mp3]``), in
its own folder or below it. Compiling checks that each exists and is at most
:data:`MAX_MEDIA_BYTES`, and names it for the package: its stem, '-', 16 hex digits of its
SHA-256, its suffix (``arch-1f0c…e2.png``). Anki's media folder is flat, so two files of the
same name in different folders get different names, the same content once one name, and an
edited file a new name (and so a note that Anki updates on import).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flashcards import markup

MAX_MEDIA_BYTES = 10 * 1024 * 1024  # each file; Anki's own sync refuses larger ones too
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class MediaFile:
    """One media file a note names: as written (``key``), its path beside the deck, its package name."""

    key: str
    path: str
    name: str
    sha256: str
    size: int
    mtime_ns: int
    data: bytes


class MediaProblem(ValueError):
    """A media file that cannot be used; the message says what to do."""


def package_name(path: str, data: bytes) -> str:
    """Return the collision-free name of a media file in the package."""
    pure = PurePosixPath(path)
    stem = _UNSAFE.sub("_", pure.stem).strip("._") or "media"
    suffix = _UNSAFE.sub("", pure.suffix.lower())
    return f"{stem[:80]}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"


def load(reference: markup.Reference, base: Path) -> MediaFile:
    """Read the file ``reference`` names, relative to the folder ``base`` of its deck file."""
    written = reference.path
    pure = PurePosixPath(written.replace("\\", "/"))
    if not written or pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", written):
        raise MediaProblem(
            f"{reference.kind} '{written}': write a path relative to the deck file, in its folder or below"
        )
    path = base.joinpath(*pure.parts)
    try:
        info = path.stat()
        if not path.is_file():
            raise MediaProblem(f"{reference.kind} '{written}' is not a file")
        if info.st_size > MAX_MEDIA_BYTES:
            raise MediaProblem(
                f"{reference.kind} '{written}' has {info.st_size:,} bytes; media files are at most "
                f"{MAX_MEDIA_BYTES // (1024 * 1024)} MiB: make it smaller"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise MediaProblem(
            f"{reference.kind} '{written}' not found (looked for {path}); paths are relative to the deck file"
        ) from None
    except OSError as error:
        raise MediaProblem(f"cannot read {reference.kind} '{written}': {error.strerror or error}") from None
    return MediaFile(
        key=reference.key,
        path=pure.as_posix(),
        name=package_name(pure.as_posix(), data),
        sha256=hashlib.sha256(data).hexdigest(),
        size=info.st_size,
        mtime_ns=info.st_mtime_ns,
        data=data,
    )
