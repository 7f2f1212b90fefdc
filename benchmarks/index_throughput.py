"""Indexing throughput on the 1,400 Cranfield abstracts, and cold-process command times.

Prints, from one run:
- raw model throughput on exactly the chunks LSFS makes (chunks/s), the model called as
  the indexer calls it;
- LSFS end-to-end throughput (`lsfs index`: walk, read, version objects, extract, chunk,
  embed, Chroma, SQLite) and its ratio to the raw model (target >= 0.9). The two take
  turns on slices of the corpus so both see the same machine load;
- the no-change re-index time, in-process and as a cold `lsfs index` (target <= 2 s);
- cold-process wall time of `lsfs grep` (target <= 0.5 s) and `lsfs search` (<= 1.5 s),
  medians of alternating runs.

    .venv/bin/python benchmarks/index_throughput.py [--limit N] [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import cranfield_data  # noqa: E402


def cold(args: list[str], runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "lsfs", *args], capture_output=True, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"lsfs {' '.join(args)} failed: {proc.stderr.decode()}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="index only the first N abstracts")
    ap.add_argument("--runs", type=int, default=7, help="cold-process runs per command")
    ap.add_argument("--slices", type=int, default=7, help="turns the raw model and LSFS take")
    ap.add_argument("--json", action="store_true")
    opts = ap.parse_args()

    from lsfs import LSFS
    from lsfs.index import BATCH_CHUNKS

    from lsfs.chunk import Chunker
    from lsfs.config import Config
    from lsfs.embed import LocalEmbedder

    work = Path(tempfile.mkdtemp(prefix="lsfs-throughput-"))
    try:
        source = work / "source"
        n_files = cranfield_data.write_corpus(source, opts.limit)
        files = sorted(source.glob("*.txt"))
        chunker = Chunker(Config().chunk_tokens)
        model = LocalEmbedder()
        model.embed(["warm up"])
        root = work / "cranfield"
        root.mkdir()
        # The machine is shared, so the raw model and LSFS take turns on slices of the
        # corpus: both see the same load, and the ratio stays meaningful.
        raw_s = lsfs_s = 0.0
        raw_chunks = 0
        with LSFS.init(root) as fs:
            for i in range(opts.slices):
                part = files[i::opts.slices]
                texts = []
                for f in part:
                    text = f.read_text(encoding="utf-8")
                    texts += [text[c.start : c.end] for c in chunker.chunk(text)]

                def run_raw():
                    start = time.perf_counter()
                    for j in range(0, len(texts), BATCH_CHUNKS):
                        model.embed(texts[j : j + BATCH_CHUNKS])
                    return time.perf_counter() - start

                def run_lsfs():
                    for f in part:
                        shutil.copy(f, root / f.name)
                    start = time.perf_counter()
                    fs.index()
                    return time.perf_counter() - start

                if i % 2:
                    lsfs_s += run_lsfs()
                    raw_s += run_raw()
                else:
                    raw_s += run_raw()
                    lsfs_s += run_lsfs()
                raw_chunks += len(texts)
            chunks = fs.status()["chunks"]
            start = time.perf_counter()
            stats = fs.index()
            reindex_in_process = time.perf_counter() - start
            assert stats.embedded_chunks == 0 and stats.unchanged == n_files

        raw = raw_chunks / raw_s
        e2e = chunks / lsfs_s
        reindex_cold = cold(["index", "--root", str(root)], 3)
        grep_t, search_t = [], []
        for _ in range(opts.runs):  # alternate, so both see the same machine load
            grep_t += cold(["grep", "boundary layer", "--root", str(root)], 1)
            search_t += cold(["search", "heat transfer in hypersonic flow", "-k", "10", "--root", str(root)], 1)

        result = {
            "files": n_files,
            "chunks": chunks,
            "raw_chunks_per_s": round(raw, 1),
            "lsfs_chunks_per_s": round(e2e, 1),
            "lsfs_files_per_s": round(n_files / lsfs_s, 1),
            "ratio": round(e2e / raw, 3),
            "lsfs_seconds": round(lsfs_s, 1),
            "raw_seconds": round(raw_s, 1),
            "reindex_unchanged_in_process_s": round(reindex_in_process, 3),
            "reindex_unchanged_cold_process_s": round(statistics.median(reindex_cold), 3),
            "grep_cold_median_s": round(statistics.median(grep_t), 3),
            "search_cold_median_s": round(statistics.median(search_t), 3),
            "runs": opts.runs,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if opts.json:
        print(json.dumps(result))
        return
    print(f"files {result['files']}, chunks {result['chunks']}")
    print(f"raw model:       {result['raw_chunks_per_s']} chunks/s ({result['raw_seconds']} s)")
    print(f"LSFS end to end: {result['lsfs_chunks_per_s']} chunks/s ({result['lsfs_files_per_s']} files/s, {result['lsfs_seconds']} s)")
    print(f"ratio LSFS/raw:  {result['ratio']}   (target >= 0.9)")
    print(f"re-index, nothing changed: {result['reindex_unchanged_in_process_s']} s in process, "
          f"{result['reindex_unchanged_cold_process_s']} s as a cold 'lsfs index'   (target <= 2 s)")
    print(f"cold 'lsfs grep':   median {result['grep_cold_median_s']} s of {opts.runs}   (target <= 0.5 s)")
    print(f"cold 'lsfs search': median {result['search_cold_median_s']} s of {opts.runs}   (target <= 1.5 s)")


if __name__ == "__main__":
    main()
