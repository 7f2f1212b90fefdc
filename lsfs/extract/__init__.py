"""Text extraction: bytes of a file in, plain text out, or a reason it was not read.

``extract(path, data)`` picks an extractor by suffix (plugins may add more through the
``lsfs.extractors`` entry-point group) and otherwise sniffs the bytes: anything that
decodes as text is text, anything else is recorded as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable


class Skip(Exception):
    """Not a document LSFS reads (binary, too large, empty); recorded with the reason."""


class ExtractFailed(Exception):
    """A document LSFS should read but could not (corrupt PDF, broken DOCX)."""


@dataclass
class Extracted:
    text: str
    kind: str


Extractor = Callable[[bytes], str]

BINARY_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ico", ".heic",
    ".mp3", ".wav", ".flac", ".ogg", ".m4a", ".mp4", ".mkv", ".mov", ".avi", ".webm",
    ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar",
    ".exe", ".dll", ".so", ".dylib", ".o", ".a", ".class", ".pyc", ".whl", ".bin",
    ".sqlite", ".db", ".pkl", ".npy", ".npz", ".pt", ".onnx", ".safetensors", ".parquet",
    ".ttf", ".otf", ".woff", ".woff2", ".iso", ".dmg", ".xlsx", ".pptx", ".odt", ".epub",
}


def _builtin() -> dict[str, tuple[str, Extractor]]:
    from lsfs.extract import docx, html, pdf

    table: dict[str, tuple[str, Extractor]] = {
        ".pdf": ("pdf", pdf.extract),
        ".docx": ("docx", docx.extract),
        ".html": ("html", html.extract),
        ".htm": ("html", html.extract),
        ".xhtml": ("html", html.extract),
    }
    return table


_REGISTRY: dict[str, tuple[str, Extractor]] | None = None


def registry() -> dict[str, tuple[str, Extractor]]:
    """Suffix -> (kind, function). Built-ins first, then plugins (which may override)."""
    global _REGISTRY
    if _REGISTRY is None:
        from lsfs.plugins import load_extractors

        table = _builtin()
        for plugin in load_extractors():
            for suffix in plugin.suffixes:
                table[suffix.lower()] = (plugin.name, plugin.extract)
        _REGISTRY = table
    return _REGISTRY


def decode_text(data: bytes) -> str:
    """Decode bytes that look like text, or raise ``Skip`` for binary content."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise Skip("binary content")
    text = data.decode("utf-8-sig", errors="strict") if _is_utf8(data) else data.decode("cp1252", errors="replace")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f\v\b\x1b")
    if controls > 0.1 * min(len(text), 8192):
        raise Skip("binary content")
    return text


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at a read boundary is still UTF-8.
        return exc.start >= len(data) - 3
    return True


def extract(path: str, data: bytes) -> Extracted:
    """Text of the file at ``path`` (relative, for its suffix) whose bytes are ``data``."""
    suffix = PurePosixPath(path).suffix.lower()
    found = registry().get(suffix)
    if found:
        kind, fn = found
        try:
            text = fn(data)
        except (Skip, ExtractFailed):
            raise
        except MemoryError:
            raise ExtractFailed(f"{kind} needs too much memory to read") from None
        except Exception as exc:  # a third-party parser may raise anything on a bad file
            raise ExtractFailed(f"unreadable {kind}: {type(exc).__name__}: {exc}"[:300]) from None
        return Extracted(_clean(text), kind)
    if suffix in BINARY_SUFFIXES:
        raise Skip(f"binary file type ({suffix})")
    return Extracted(_clean(decode_text(data)), "text")


def _clean(text: str) -> str:
    # NUL characters break FTS and carry no meaning for search.
    return text.replace("\x00", "")
