"""How long `lsfs verify` takes on the 1,400-file Cranfield tree, and a repair after damage.

Builds (or reuses) the indexed root of benchmarks/cranfield.py in benchmarks/_work/cranfield,
then times ``verify`` (every object re-hashed, every file re-hashed, keyword index, vector
ids) a few times and reports the median; then damages a copy-free part of the derived
state (drops 50 files' vectors and 50 docs rows' FTS entries, leaves 20 temp files) and
times ``verify --repair`` bringing it back.

    PYTHONPATH=. python benchmarks/verify_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cranfield  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=cranfield.DEFAULT_WORK)
    args = ap.parse_args(argv)
    cranfield.check_data(cranfield.DEFAULT_DATA)
    fs, how = cranfield.prepare_root(args.work, cranfield.load_docs(cranfield.DEFAULT_DATA), False)
    print(f"root {args.work}: {how}")
    try:
        fs.verify()  # opens Chroma once; the figures below are for a warm process
        took = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            report = fs.verify()
            took.append(time.perf_counter() - t0)
            assert report.ok, [p.message for p in report.problems][:5]
        print(f"verify: {report.checked} -> median {statistics.median(took):.2f} s "
              f"(min {min(took):.2f}, max {max(took):.2f}, {args.runs} runs)")

        root = fs._root
        rows = root.catalog.live_files()[:50]
        ids = [f"{r.id}:{s}" for r in rows for s in range(r.n_chunks)]
        root.vectors().delete(ids)
        for r in root.catalog.live_files()[50:100]:
            root.catalog.execute("DELETE FROM chunks WHERE file_id=?", (r.id,))
        for i in range(20):
            (args.work / "docs" / f".lsfs-tmp-bench{i}").write_text("half a write")
        t0 = time.perf_counter()
        damaged = fs.verify()
        t_check = time.perf_counter() - t0
        t0 = time.perf_counter()
        repaired = fs.verify(repair=True)
        t_repair = time.perf_counter() - t0
        print(f"damaged: {len(damaged.problems)} problems found in {t_check:.2f} s; "
              f"repair took {t_repair:.2f} s -> ok={repaired.ok}; {repaired.repaired}")
    finally:
        fs.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
