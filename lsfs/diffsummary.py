"""What changed between two texts, in a form a person can read at a glance.

Pure functions over strings, with no I/O: the indexer uses them for the change log's
``summary`` column (``lsfs changes``), and the APIs for ``change_summary``, ``diff`` and the
rollback preview. The summary is structured and offline:

- lines added and removed (the same line diff ``lsfs diff`` shows);
- for Markdown, the sections touched (the heading above each changed line), and headings
  that appeared or disappeared;
- the most significant sentences added and removed. "Significant" means carrying words the
  other side does not have: a sentence that brings three new terms says more about the
  change than one that re-wraps an existing line, and a heading or a one-word bullet says
  least. Sentences found verbatim on the other side (moved or re-wrapped) are not changes.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

# Above this many lines on either side, a line-multiset comparison replaces the ordered
# diff: SequenceMatcher can go quadratic on large, repetitive files, and the indexer calls
# this on every change it records.
MAX_DIFF_LINES = 20_000
# Sentences are looked for in at most this much changed text per side.
MAX_SENTENCE_CHARS = 200_000
SENTENCES_KEPT = 3

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd", ".mdx", ".rmd", ".qmd"}

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+>]|\d+[.)]|#{1,6})\s+")
# Short function words: a sentence is not significant for containing them.
_STOP = frozenset(
    "about above after again against all also and any are because been before being below "
    "between both but can could did does doing down during each few for from further had has "
    "have having her here hers him his how into its itself just more most much must not now "
    "off once only other our ours out over own same she should some such than that the their "
    "them then there these they this those through too under until very was were what when "
    "where which while who whom why will with would you your yours".split()
)


@dataclass
class DiffSummary:
    """The structured summary of one change (see the module docstring)."""

    lines_added: int = 0
    lines_removed: int = 0
    sections: list[str] = field(default_factory=list)
    headings_added: list[str] = field(default_factory=list)
    headings_removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    new_file: bool = False
    binary: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return bool(self.lines_added or self.lines_removed or self.binary)

    def headline(self, limit: int = 300) -> str:
        """One line for the change log: counts, sections, the top sentence each way."""
        if self.binary:
            return "binary content changed"
        if self.new_file:
            parts = [f"new: {_lines(self.lines_added)}"]
            if self.headings_added:
                parts.append(f"sections {_list(self.headings_added)}")
            return _fit("; ".join(parts), limit)
        if not self.changed:
            return "no change to the text"
        parts = [f"+{self.lines_added} -{self.lines_removed} lines"]
        if self.sections:
            parts[0] += f" in {_list(self.sections)}"
        if self.headings_added:
            parts.append(f"new section {_list(self.headings_added)}")
        if self.headings_removed:
            parts.append(f"dropped section {_list(self.headings_removed)}")
        if self.added:
            parts.append(f'added "{_clip(self.added[0])}"')
        if self.removed:
            parts.append(f'removed "{_clip(self.removed[0])}"')
        return _fit("; ".join(parts), limit)

    def describe(self) -> str:
        """Several lines for a person: the headline's facts with every sentence kept."""
        if self.binary or self.new_file or not self.changed:
            return self.headline()
        out = [f"{self.lines_added} line(s) added, {self.lines_removed} removed"]
        if self.sections:
            out.append(f"sections touched: {', '.join(self.sections)}")
        if self.headings_added:
            out.append(f"new sections: {', '.join(self.headings_added)}")
        if self.headings_removed:
            out.append(f"removed sections: {', '.join(self.headings_removed)}")
        out += [f"+ {s}" for s in self.added]
        out += [f"- {s}" for s in self.removed]
        return "\n".join(out)


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def _list(items: list[str], most: int = 3) -> str:
    shown = ", ".join(f'"{_clip(i, 40)}"' for i in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _clip(text: str, most: int = 100) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _fit(text: str, limit: int) -> str:
    return _clip(text, limit)


def is_markdown(path: str | None) -> bool:
    return bool(path) and PurePosixPath(path).suffix.lower() in MARKDOWN_SUFFIXES


def headings(lines: list[str]) -> list[tuple[int, str]]:
    """(line index, heading text) of each ATX heading, skipping fenced code blocks."""
    found, fenced = [], False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced and (m := _ATX.match(line)):
            found.append((i, m.group(2).strip()))
    return found


def line_changes(old_lines: list[str], new_lines: list[str]) -> tuple[list[int], list[int]]:
    """Indices of removed old lines and added new lines, as a line diff sees them."""
    if max(len(old_lines), len(new_lines)) > MAX_DIFF_LINES:
        return _multiset_changes(old_lines, new_lines)
    removed, added = [], []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed.extend(range(i1, i2))
        if tag in ("replace", "insert"):
            added.extend(range(j1, j2))
    return removed, added


def _multiset_changes(old_lines: list[str], new_lines: list[str]) -> tuple[list[int], list[int]]:
    """Order-blind fallback: a line counts as added when the new text has it more often."""
    spare_old = Counter(old_lines)
    spare_new = Counter(new_lines)
    common = spare_old & spare_new
    keep_old, keep_new = Counter(common), Counter(common)
    removed = []
    for i, line in enumerate(old_lines):
        if keep_old[line]:
            keep_old[line] -= 1
        else:
            removed.append(i)
    added = []
    for j, line in enumerate(new_lines):
        if keep_new[line]:
            keep_new[line] -= 1
        else:
            added.append(j)
    return removed, added


def split_lines(text: str | None) -> list[str]:
    """Lines with their endings, so a missing final newline counts as a change (as in
    ``diff -u`` and git)."""
    return (text or "").splitlines(keepends=True)


def diff_stat(old: str | None, new: str | None) -> tuple[int, int]:
    """(lines added, lines removed) going from ``old`` to ``new`` (None = no file)."""
    removed, added = line_changes(split_lines(old), split_lines(new))
    return len(added), len(removed)


def summarize_texts(old: str | None, new: str | None, path: str | None = None) -> DiffSummary:
    """The structured summary of going from ``old`` to ``new`` (None: no file before).

    ``path`` only decides whether Markdown headings are read as sections.
    """
    md = is_markdown(path)
    new_raw = split_lines(new)
    new_lines = [ln.rstrip("\r\n") for ln in new_raw]
    if old is None:
        heads = [h for _, h in headings(new_lines)] if md else []
        return DiffSummary(lines_added=len(new_lines), headings_added=heads, new_file=True)
    old_raw = split_lines(old)
    old_lines = [ln.rstrip("\r\n") for ln in old_raw]
    removed_ix, added_ix = line_changes(old_raw, new_raw)
    out = DiffSummary(lines_added=len(added_ix), lines_removed=len(removed_ix))
    if not (removed_ix or added_ix):
        return out
    if md:
        old_heads, new_heads = headings(old_lines), headings(new_lines)
        # Blank lines carry no content; one added before a new heading would otherwise
        # count as a change to the section above it.
        out.sections = _sections_touched(
            old_heads, [i for i in removed_ix if old_lines[i].strip()],
            new_heads, [j for j in added_ix if new_lines[j].strip()],
        )
        old_names = Counter(h for _, h in old_heads)
        new_names = Counter(h for _, h in new_heads)
        out.headings_added = list((new_names - old_names).keys())
        out.headings_removed = list((old_names - new_names).keys())
    removed_text = _block_text(old_lines, removed_ix)
    added_text = _block_text(new_lines, added_ix)
    out.added = significant_sentences(added_text, old)
    out.removed = significant_sentences(removed_text, new or "")
    return out


def _section_of(heads: list[tuple[int, str]], line: int) -> str | None:
    name = None
    for at, text in heads:
        if at > line:
            break
        name = text
    return name


def _sections_touched(old_heads, removed_ix, new_heads, added_ix) -> list[str]:
    """Headings above changed lines, in the new document's order, then removed ones."""
    seen: dict[str, None] = {}
    for ix in added_ix:
        if (name := _section_of(new_heads, ix)) is not None:
            seen.setdefault(name)
    for ix in removed_ix:
        if (name := _section_of(old_heads, ix)) is not None:
            seen.setdefault(name)
    return list(seen)


def _block_text(lines: list[str], picked: list[int]) -> str:
    """The picked lines, runs kept together and separate runs as separate paragraphs."""
    out, last, size = [], None, 0
    for ix in picked:
        if last is not None and ix != last + 1:
            out.append("")
        out.append(lines[ix])
        last = ix
        size += len(lines[ix]) + 1
        if size > MAX_SENTENCE_CHARS:
            break
    return "\n".join(out)


def _content_words(text: str) -> set[str]:
    return {w for w in set(_WORD.findall(text.lower())) if len(w) > 2 and w not in _STOP}


def sentences(text: str) -> list[str]:
    """Sentences of ``text``: paragraphs split on blank lines, soft-wrapped lines joined,
    list markers and heading marks dropped, then split after . ! ? …"""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln for ln in para.splitlines() if ln.strip()]
        if not lines:
            continue
        # A list item or heading on its own line is its own sentence; prose lines join.
        pieces, current = [], []
        for ln in lines:
            if _LIST_MARK.match(ln) or _ATX.match(ln):
                if current:
                    pieces.append(" ".join(current))
                current = [_LIST_MARK.sub("", ln, count=1).strip()]
            else:
                current.append(ln.strip())
        if current:
            pieces.append(" ".join(current))
        for piece in pieces:
            out.extend(s.strip() for s in _SENTENCE_END.split(piece) if s.strip())
    return out


def significant_sentences(changed: str, other: str, keep: int = SENTENCES_KEPT) -> list[str]:
    """The ``keep`` sentences of ``changed`` that say most that ``other`` does not.

    Score: three points per distinct content word absent from ``other``, one per distinct
    content word, and up to one for length; sentences of fewer than four words, and
    sentences that also occur verbatim in ``other``, are left out.
    """
    if not changed.strip():
        return []
    other_words = _content_words(other)
    other_flat = " ".join(other.split())
    scored = []
    for order, sent in enumerate(dict.fromkeys(sentences(changed))):
        if len(sent.split()) < 4 or " ".join(sent.split()) in other_flat:
            continue
        words = _content_words(sent)
        novel = words - other_words
        score = 3 * len(novel) + len(words) + min(len(sent) / 120, 1.0)
        scored.append((score, -order, sent))
    scored.sort(reverse=True)
    return [s for _, _, s in scored[:keep]]
