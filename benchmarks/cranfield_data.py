"""The Cranfield collection (../shared/data/cranfield): documents, queries, judgements.

Shared by the benchmarks that need a real corpus. See the collection's README for the
conventions: cranqrel numbers queries by their ORDINAL position (1..225), not their label.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA = Path(os.environ.get("CRANFIELD_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"))


def _require() -> Path:
    if not (DATA / "cran.all.1400").exists():
        sys.exit(f"the Cranfield collection is not at {DATA}; set CRANFIELD_DIR to its folder")
    return DATA


def _records(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\n.I ")[0:]:
        block = block[3:] if block.startswith(".I ") else block
        head, _, rest = block.partition("\n")
        fields: dict[str, str] = {"id": head.strip()}
        key = None
        for line in rest.splitlines():
            if line[:1] == "." and len(line) >= 2 and line[1] in "TABW" and line[2:].strip() == "":
                key = line[1]
                fields[key] = ""
            elif key:
                fields[key] += line + "\n"
        out.append({k: v.strip() for k, v in fields.items()})
    return out


def documents() -> list[tuple[str, str]]:
    """(id, text) for the 1,400 abstracts; the text is the title, a blank line, the abstract."""
    recs = _records((_require() / "cran.all.1400").read_text(encoding="utf-8", errors="replace"))
    return [(r["id"], f"{r.get('T', '')}\n\n{r.get('W', '')}".strip()) for r in recs]


def queries() -> list[str]:
    """The 225 queries in file order (position i+1 is the query number used by cranqrel)."""
    return [r.get("W", "") for r in _records((_require() / "cran.qry").read_text(encoding="utf-8", errors="replace"))]


def judgements() -> dict[int, dict[str, int]]:
    """query ordinal (1..225) -> {doc id: relevance code 1..4} (code -1 left out)."""
    out: dict[int, dict[str, int]] = {}
    for line in (_require() / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        q, doc, code = int(parts[0]), parts[1], int(parts[2])
        if 1 <= code <= 4:
            out.setdefault(q, {})[doc] = code
    return out


def write_corpus(folder: Path, limit: int | None = None) -> int:
    """One file per abstract: ``<folder>/<id>.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = documents()[:limit] if limit else documents()
    for doc_id, text in docs:
        (folder / f"{int(doc_id):04d}.txt").write_text(text + "\n", encoding="utf-8")
    return len(docs)
