"""Retrieval quality on the Cranfield collection: keyword (BM25), semantic and hybrid.

    PYTHONPATH=. python benchmarks/cranfield.py            # measure every mode
    PYTHONPATH=. python benchmarks/cranfield_tune.py       # how the hybrid settings were chosen

The 1,400 abstracts become one file each (``docs/NNNN.txt``: the title on the first line,
a blank line, then the abstract; Cranfield's text field repeats the title, which is kept
once). The folder is indexed once into ``benchmarks/_work/cranfield`` and reused by later
runs (``--rebuild`` starts over). Every query then goes through the public API,
``LSFS.search(query, k=100, mode=...)``.

Judgements (see the data's README): the query numbers in ``cranqrel`` are ordinal positions
1..225 in ``cran.qry``; codes 1-4 are relevant with graded gain ``5 - code`` for nDCG; code
-1 is left out. nDCG@10 uses every judged relevant document for the ideal ranking;
recall@100 counts relevant documents (codes 1-4) in the first 100 results.

To guard against tuning on the test, the queries are split by ordinal: odd positions are
the tuning half (the fusion settings in lsfs/retrieve.py were chosen on it), even positions
the held-out half. Every figure is reported for both halves and for all 225.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("LSFS_CRANFIELD", "/work/shared/data/cranfield"))
DEFAULT_WORK = HERE / "_work" / "cranfield"
MODES = ("keyword", "semantic", "hybrid")
# Changing this (or how LSFS indexes) makes the next run re-index from scratch.
LAYOUT = "v2: docs/NNNN.txt = title, blank line, abstract (title once); chunks embedded with the title"


# -- the collection ----------------------------------------------------------------------

@dataclass
class Doc:
    id: int
    title: str
    text: str

    @property
    def rel(self) -> str:
        return f"docs/{self.id:04d}.txt"

    def content(self) -> str:
        return f"{self.title}\n\n{self.text}\n"


def _fields(record: str) -> dict[str, str]:
    out, key, lines = {}, None, []
    for line in record.splitlines():
        m = re.match(r"^\.([A-Z])\b\s*(.*)$", line)
        if m:
            if key:
                out[key] = "\n".join(lines).strip()
            key, lines = m.group(1), ([m.group(2)] if m.group(2) else [])
        else:
            lines.append(line)
    if key:
        out[key] = "\n".join(lines).strip()
    return out


def _squash(text: str) -> str:
    return " ".join(text.split())


def load_docs(data: Path) -> list[Doc]:
    raw = (data / "cran.all.1400").read_text(encoding="utf-8", errors="replace")
    docs = []
    for record in re.split(r"^(?=\.I )", raw, flags=re.M):
        if not record.strip():
            continue
        f = _fields(record)
        title, body = _squash(f.get("T", "")), _squash(f.get("W", ""))
        if title and body.startswith(title):
            body = body[len(title):].strip()
        docs.append(Doc(int(f["I"]), title, body))
    return docs


def load_queries(data: Path) -> list[str]:
    """Query texts in file order: index 0 is ordinal 1 (the number cranqrel uses)."""
    raw = (data / "cran.qry").read_text(encoding="utf-8", errors="replace")
    return [_squash(_fields(r).get("W", "")) for r in re.split(r"^(?=\.I )", raw, flags=re.M) if r.strip()]


def load_qrels(data: Path) -> dict[int, dict[int, int]]:
    """ordinal query -> {doc id: gain}, gain = 5 - code for codes 1..4."""
    qrels: dict[int, dict[int, int]] = {}
    for line in (data / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        q, d, code = int(parts[0]), int(parts[1]), int(parts[2])
        if 1 <= code <= 4:
            qrels.setdefault(q, {})[d] = 5 - code
    return qrels


def check_data(data: Path) -> None:
    missing = [n for n in ("cran.all.1400", "cran.qry", "cranqrel") if not (data / n).is_file()]
    if missing:
        sys.exit(
            f"cranfield.py: the Cranfield collection is not at {data} (missing {', '.join(missing)}); "
            "pass --data DIR or set LSFS_CRANFIELD to the folder holding cran.all.1400, cran.qry and cranqrel"
        )


# -- metrics -------------------------------------------------------------------------------

def ndcg_at(ranked: list[int], gains: dict[int, int], k: int = 10) -> float:
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[int], gains: dict[int, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & gains.keys()) / len(gains) if gains else 0.0


def halves(n: int) -> dict[str, list[int]]:
    """Ordinal query numbers: odd = tuning half, even = held-out half, and all."""
    every = list(range(1, n + 1))
    return {"tune (odd)": every[0::2], "held-out (even)": every[1::2], "all": every}


def doc_id(path: str) -> int:
    return int(Path(path).stem)


# -- the root ------------------------------------------------------------------------------

def prepare_root(work: Path, docs: list[Doc], rebuild: bool):
    """Write the files (only those that differ) and open the cached, indexed root."""
    from lsfs import LSFS

    if rebuild and work.exists():
        import shutil

        shutil.rmtree(work)
    marker = work / ".lsfs" / "cranfield-layout"
    if work.exists() and (not marker.exists() or marker.read_text() != LAYOUT):
        import shutil

        shutil.rmtree(work)
    for d in docs:
        p = work / d.rel
        if not p.exists() or p.read_text(encoding="utf-8") != d.content():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(d.content(), encoding="utf-8")
    t0 = time.perf_counter()
    if (work / ".lsfs").is_dir():
        fs = LSFS.open(work)
        stats = fs.index()
        how = f"cached root, re-index checked {stats.seen} files, {stats.new + stats.changed} (re)indexed"
    else:
        fs = LSFS.init(work)
        marker.write_text(LAYOUT)
        how = "indexed from scratch"
    return fs, f"{how} in {time.perf_counter() - t0:.1f} s"


# -- the run -------------------------------------------------------------------------------

def run_mode(fs, mode: str, queries: list[str], depth: int = 100) -> tuple[dict[int, list[int]], list[float]]:
    rankings, took = {}, []
    for q, text in enumerate(queries, 1):
        t0 = time.perf_counter()
        hits = fs.search(text, k=depth, mode=mode)
        took.append((time.perf_counter() - t0) * 1000)
        rankings[q] = [doc_id(h.path) for h in hits]
    return rankings, took


def score(rankings: dict[int, list[int]], qrels: dict[int, dict[int, int]], qs: list[int]) -> tuple[float, float]:
    qs = [q for q in qs if q in qrels]
    nd = statistics.fmean(ndcg_at(rankings[q], qrels[q]) for q in qs)
    rc = statistics.fmean(recall_at(rankings[q], qrels[q]) for q in qs)
    return nd, rc


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with cran.all.1400, cran.qry, cranqrel")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="where the indexed root is cached")
    ap.add_argument("--rebuild", action="store_true", help="index the collection again from scratch")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated modes to measure")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    check_data(args.data)
    docs, queries, qrels = load_docs(args.data), load_queries(args.data), load_qrels(args.data)
    if len(queries) != 225 or len(docs) != 1400:
        print(f"note: expected 1,400 documents and 225 queries, found {len(docs)} and {len(queries)}")
    fs, how = prepare_root(args.work, docs, args.rebuild)
    print(f"Cranfield: {len(docs)} documents, {len(queries)} queries, {sum(map(len, qrels.values()))} relevant judgements")
    print(f"root {args.work}: {how}")
    split = halves(len(queries))
    results = {}
    try:
        fs.search("warm up the model", k=1, mode="semantic")  # load model and vectors once
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            rankings, took = run_mode(fs, mode, queries)
            results[mode] = {
                name: dict(zip(("ndcg@10", "recall@100"), score(rankings, qrels, qs))) for name, qs in split.items()
            }
            results[mode]["latency_ms"] = {"p50": pct(took, 50), "p95": pct(took, 95)}
    finally:
        fs.close()

    print()
    print(f"{'mode':<10} {'nDCG@10 tune':>13} {'held-out':>9} {'all':>7}   {'R@100 all':>9}   {'p50 ms':>7} {'p95 ms':>7}")
    for mode, r in results.items():
        print(
            f"{mode:<10} {r['tune (odd)']['ndcg@10']:>13.3f} {r['held-out (even)']['ndcg@10']:>9.3f} "
            f"{r['all']['ndcg@10']:>7.3f}   {r['all']['recall@100']:>9.3f}   "
            f"{r['latency_ms']['p50']:>7.1f} {r['latency_ms']['p95']:>7.1f}"
        )
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs; latency = wall time of LSFS.search(k=100) per query")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
