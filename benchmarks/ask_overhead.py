"""What `lsfs ask` adds on top of the call it runs, and what a summary costs.

    python benchmarks/ask_overhead.py [--runs 30] [--json]

Builds a root from the test corpus (plus, with --speeches, up to 12 long .txt files such as
the demo's State of the Union addresses), then measures in one process, after a warm-up:
  * parse: parse_offline(sentence) for a few everyday sentences;
  * dispatch overhead: execute(fs, plan) minus the same facade call made directly, per api
    (semantic_retrieve runs the hybrid search, so its direct call is fs.search(mode="hybrid"))
    (both measured alternately in the same loop, so drift and other users of the machine
    hit both alike);
  * summary: fs.summarize(name) (extractive, the bundled model) for short notes and for long
    speeches, and retrieve_summary with k=3.
Reports medians (and p90) in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsfs import LSFS  # noqa: E402
from lsfs.apis.execute import execute  # noqa: E402
from lsfs.parser import parse_offline  # noqa: E402
from tests.conftest import CORPUS, write_tree  # noqa: E402


def ms(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"median_ms": round(statistics.median(s) * 1000, 2),
            "p90_ms": round(s[int(0.9 * (len(s) - 1))] * 1000, 2), "n": len(s)}


def build(tmp: Path) -> Path:
    root = tmp / "root"
    write_tree(root, CORPUS)
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--speeches", type=Path, help="a folder of long .txt files to summarize (e.g. demo/sample/speeches)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    root = build(tmp)
    long_files: list[str] = []
    if args.speeches and args.speeches.is_dir():
        for p in sorted(args.speeches.rglob("*.txt"))[:12]:
            rel = f"long/{p.name}"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(p.read_bytes())
            long_files.append(rel)
    today = dt.date(2026, 11, 22)
    out: dict = {}
    with LSFS.init(root) as fs:
        names = [f["path"] for f in fs.status(files=True)["file_states"]]
        sentences = {
            "semantic_retrieve": ("find 2 papers about LLM uncertainty",
                                  lambda: fs.search("LLM uncertainty", k=2, mode="hybrid")),
            "keywords_retrieve": ("which files mention tomato",
                                  lambda: fs.keywords_retrieve(["tomato"], mode="all")),
            "history": ("show the history of cnn", lambda: fs.history(fs.resolve("cnn", include_deleted=True))),
            "changes": ("what changed in the last 2 days", lambda: fs.changes("P2D", None)),
        }
        parse_t = []
        for sentence, _ in sentences.values():
            parse_offline(sentence, today=today, names=names)  # warm-up
        for _ in range(args.runs):
            for sentence, _ in sentences.values():
                t = time.perf_counter()
                parse_offline(sentence, today=today, names=names)
                parse_t.append(time.perf_counter() - t)
        out["parse"] = ms(parse_t)
        out["dispatch"] = {}
        for api, (sentence, direct) in sentences.items():
            plan = parse_offline(sentence, today=today, names=names)
            execute(fs, plan)
            direct()
            via, raw = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                execute(fs, plan)
                via.append(time.perf_counter() - t)
                t = time.perf_counter()
                direct()
                raw.append(time.perf_counter() - t)
            over = [a - b for a, b in zip(via, raw)]
            out["dispatch"][api] = {"execute": ms(via), "direct": ms(raw),
                                    "overhead_median_ms": round(statistics.median(over) * 1000, 2)}
        short = ["notes/cnn.md", "papers/llm-uncertainty.md", "travel/kyoto.md", "recipes/bread.md"]
        fs.summarize(short[0])  # loads the model once
        summ = []
        for _ in range(max(3, args.runs // 5)):
            for n in short:
                t = time.perf_counter()
                fs.summarize(n, offline=True)
                summ.append(time.perf_counter() - t)
        out["summary_short"] = ms(summ)
        if long_files:
            longt, words = [], []
            for n in long_files:
                words.append(len((root / n).read_text(errors="replace").split()))
                t = time.perf_counter()
                fs.summarize(n, offline=True)
                longt.append(time.perf_counter() - t)
            out["summary_long"] = {**ms(longt), "median_words": int(statistics.median(words))}
        rs = []
        for _ in range(max(3, args.runs // 5)):
            t = time.perf_counter()
            fs.retrieve_summary("baking bread", None, 3)
            rs.append(time.perf_counter() - t)
        out["retrieve_summary_k3"] = ms(rs)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for key, value in out.items():
        print(key, json.dumps(value))


if __name__ == "__main__":
    main()
