"""Files an applicant brings for a material (申请材料): decoding, checks, storage by hash.

A window system sends each file as ``{"material", "filename", "content_type",
"content_base64"}``. ``decode_files`` turns them into ``IncomingFile`` values (filenames
sanitised: no path parts, no control characters, at most 255 characters);
``file_problems`` checks them against the one-thing's materials and the settings (type,
size, a material brought twice) and sniffs the content's magic bytes so a file whose
content is not what its declared type says is refused, naming it. ``MaterialStore`` keeps
the bytes outside the database, content-addressed (``root/ab/abcdef…``), written
atomically, so two writers of the same content never see a half-written file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exchange.core.errors import InvalidInput, PayloadTooLarge
from exchange.core.settings import Settings

FILENAME_MAX_CHARS = 255
TOO_LARGE = "too_large"  # the ``type`` of a size problem: alone, they make a 413
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# Common aliases a window system may send, mapped to the registered media type.
_TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
}


@dataclass(frozen=True)
class IncomingFile:
    """One decoded file for one material, with its SHA-256 (hex)."""

    material: str
    filename: str
    content_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        """Return the size in bytes."""
        return len(self.content)


def problem(field: str, message: str, **extra: Any) -> dict[str, Any]:
    """Return one field error in the shape every 422 carries."""
    return {"field": field, "message": message, **extra}


def sanitize_filename(name: str) -> str:
    """Return ``name`` without directories, control characters or edge dots/spaces, ≤ 255 chars.

    ``"../../etc/passwd"`` → ``"passwd"``, ``"C:\\scan\\户口本.pdf"`` → ``"户口本.pdf"``.
    A long name keeps its extension. An empty result means the name had nothing usable.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    # Control/format characters go; any other space (NBSP, ideographic…) becomes a plain one.
    name = "".join(
        " " if unicodedata.category(c)[0] == "Z" else c
        for c in name
        if unicodedata.category(c)[0] != "C"
    )
    name = name.strip(" .")
    if len(name) > FILENAME_MAX_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = FILENAME_MAX_CHARS - len(ext) - 1
        if dot and 0 < len(ext) <= 16 and stem[:keep].strip(" ."):
            name = stem[:keep].rstrip(" .") + "." + ext
        else:
            name = name[:FILENAME_MAX_CHARS].rstrip(" .")
    return name


def normalise_content_type(value: str) -> str:
    """Return the media type lower-cased, without parameters, aliases resolved."""
    media = value.split(";", 1)[0].strip().lower()
    return _TYPE_ALIASES.get(media, media)


def _is_ofd(content: bytes) -> bool:
    # OFD (GB/T 33190) is a zip package whose entry point is OFD.xml at the root.
    if not content.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return any(n.lower() == "ofd.xml" for n in z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def sniff_content_type(content: bytes) -> str | None:
    """Return the media type the magic bytes say (PDF, PNG, JPEG, OFD), or None if unknown."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    # PDF readers accept the header anywhere in the first 1024 bytes.
    if b"%PDF-" in content[:1024]:
        return "application/pdf"
    if _is_ofd(content):
        return "application/ofd"
    if content.startswith(b"PK\x03\x04"):
        return "application/zip"
    return None


# Types we can recognise by their bytes; a configured type outside these is trusted as declared.
SNIFFABLE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "application/ofd"})


def decode_files(
    raw: Sequence[Mapping[str, Any]], *, field: str = "files"
) -> tuple[list[IncomingFile], list[dict[str, Any]]]:
    """Decode raw file items (base64 content); return the files and the problems found."""
    files: list[IncomingFile] = []
    problems: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            problems.append(problem(where, "must be an object"))
            continue
        bad = False
        values: dict[str, str] = {}
        for name in ("material", "filename", "content_type", "content_base64"):
            value = item.get(name)
            if not isinstance(value, str) or not value.strip():
                problems.append(problem(f"{where}.{name}", "is required (a non-empty string)"))
                bad = True
            else:
                values[name] = value
        if bad:
            continue
        filename = sanitize_filename(values["filename"])
        if not filename:
            problems.append(
                problem(f"{where}.filename", f"file name {values['filename']!r} has no usable name")
            )
            continue
        try:
            content = base64.b64decode("".join(values["content_base64"].split()), validate=True)
        except (binascii.Error, ValueError):
            problems.append(
                problem(f"{where}.content_base64", f"content of {filename} is not valid base64")
            )
            continue
        files.append(
            IncomingFile(
                material=values["material"].strip(),
                filename=filename,
                content_type=normalise_content_type(values["content_type"]),
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
            )
        )
    return files, problems


def file_problems(
    files: Sequence[IncomingFile],
    *,
    known_materials: Collection[str],
    settings: Settings,
    already: Mapping[str, Collection[str]] | None = None,
    field: str = "files",
) -> list[dict[str, Any]]:
    """Return what is wrong with the files: material, type, content, size, brought twice."""
    already = already or {}
    allowed = [normalise_content_type(t) for t in settings.application_file_types]
    limit = settings.application_file_max_bytes
    seen: set[str] = set()
    problems: list[dict[str, Any]] = []
    for i, f in enumerate(files):
        where = f"{field}[{i}]"
        if f.material not in known_materials:
            known = ", ".join(sorted(known_materials)) or "none"
            problems.append(
                problem(f"{where}.material", f"unknown material {f.material} (known: {known})")
            )
        elif f.material in seen:
            problems.append(
                problem(
                    f"{where}.material", f"material {f.material} uploaded twice in this request"
                )
            )
        elif already.get(f.material):
            same = f.sha256 in already[f.material]
            note = "this same file" if same else "a file"
            problems.append(
                problem(
                    f"{where}.material",
                    f"material {f.material} uploaded twice: it already has {note}",
                )
            )
        seen.add(f.material)
        if f.content_type not in allowed:
            problems.append(
                problem(
                    f"{where}.content_type",
                    f"file {f.filename}: type {f.content_type} is not accepted "
                    f"(accepted: {', '.join(allowed)})",
                )
            )
        if f.size == 0:
            problems.append(problem(f"{where}.content_base64", f"file {f.filename} is empty"))
        elif f.size > limit:
            problems.append(
                problem(
                    f"{where}.content_base64",
                    f"file {f.filename} is {f.size} bytes, over the limit of {limit} bytes",
                    type=TOO_LARGE,
                )
            )
        elif f.content_type in allowed and f.content_type in SNIFFABLE_TYPES:
            sniffed = sniff_content_type(f.content)
            if sniffed != f.content_type:
                what = f"looks like {sniffed}" if sniffed else "is not recognisable"
                problems.append(
                    problem(
                        f"{where}.content_type",
                        f"file {f.filename} is declared {f.content_type} but its content {what}",
                    )
                )
    return problems


def status_for(problems: Sequence[Mapping[str, Any]]) -> int:
    """Return the HTTP status for file problems: 413 when all are sizes over the limit, else 422."""
    if problems and all(p.get("type") == TOO_LARGE for p in problems):
        return 413
    return 422


def raise_for(problems: Sequence[Mapping[str, Any]], *, detail: str | None = None) -> None:
    """Raise PayloadTooLarge (413) or InvalidInput (422) carrying ``problems``; no-op if none."""
    if not problems:
        return
    errors = [dict(p) for p in problems]
    text = detail or "; ".join(str(p["message"]) for p in problems)
    if status_for(problems) == 413:
        raise PayloadTooLarge(text, errors=errors)
    raise InvalidInput(text, errors=errors)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable (POSIX); where directories cannot be opened, skip.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class MaterialStore:
    """Files kept by SHA-256 under ``root`` (``root/ab/abcdef…``); writes are atomic."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """Return where the file with this hash lives; ValueError if it is not a hex SHA-256."""
        if not _SHA256_RE.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        """Store ``content`` (once: the same bytes are written once) and return its SHA-256."""
        sha = hashlib.sha256(content).hexdigest()
        target = self.path_for(sha)
        if target.is_file() and _sha256_of(target) == sha:
            return sha  # already stored whole; a damaged copy is rewritten below
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{sha[:8]}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            # Two writers of the same content each rename a complete copy: either wins.
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return sha

    def read(self, sha256: str) -> bytes:
        """Return the stored bytes; FileNotFoundError if absent, ValueError if corrupted."""
        content = self.path_for(sha256).read_bytes()
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ValueError(f"stored file {sha256} does not match its hash")
        return content

    def exists(self, sha256: str) -> bool:
        """Return whether a file with this hash is stored."""
        try:
            return self.path_for(sha256).is_file()
        except ValueError:
            return False
