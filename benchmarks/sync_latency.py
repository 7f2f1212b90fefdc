"""How fast the supervisor (`lsfs watch`) makes changes on disk findable, on the 1,400
Cranfield abstracts (one file per abstract).

Measures, with a real `python -m lsfs watch` process:
1. 200 edits, one at a time, each an ordinary in-place write of a file: time from the
   write returning to the file being found by keyword (grep) and by meaning (semantic
   search). p50 / p95. Targets: keyword p95 <= 1 s, semantic p95 <= 2 s.
2. Cold-process `lsfs search` wall time while the supervisor runs (median of N; target
   <= 0.5 s), which modules the client imported, and the same command without a
   supervisor for comparison.
3. A `git checkout`-like burst: 1,000 files replaced (unlink + create, as git does) as
   fast as Python can; time until catalog, keyword and vector indexes all reflect every
   new file, and how many chunks were embedded against how many changed.
4. A 10,000-file burst of new files: time to consistent and the supervisor's memory.

The 1,400-file index is built once into benchmarks/_work/cranfield (a few minutes of CPU)
and copied for each run.

    PYTHONPATH=. python benchmarks/sync_latency.py [--edits 200] [--cold 12] [--burst 1000] [--big 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

if "CRANFIELD_DIR" not in os.environ:  # the shared data folder sits above the checkout
    for up in REPO.parents:
        if (up / "shared" / "data" / "cranfield" / "cran.all.1400").exists():
            os.environ["CRANFIELD_DIR"] = str(up / "shared" / "data" / "cranfield")
            break

import cranfield_data  # noqa: E402

HEAVY = ("chromadb", "onnxruntime", "torch", "sentence_transformers", "numpy", "tokenizers", "transformers")
ADJ = "amber brisk cobalt dusky feral gilded hollow ivory jagged lunar molten nimble".split()
NOUN = "heron glacier lantern orchard quarry saddle thistle vortex walrus yarrow zephyr anvil".split()


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def build_cache() -> Path:
    """The indexed Cranfield root, built once and reused."""
    from lsfs import LSFS

    cache = WORK / "cranfield" / "root"
    stamp = WORK / "cranfield" / "built"
    if stamp.exists() and (cache / ".lsfs" / "catalog.db").exists():
        return cache
    shutil.rmtree(cache.parent, ignore_errors=True)
    n = cranfield_data.write_corpus(cache / "abstracts")
    print(f"building the index of {n} abstracts once (a few minutes)…", file=sys.stderr)
    started = time.perf_counter()
    LSFS.init(cache).close()
    stamp.write_text(f"{n} files indexed in {time.perf_counter() - started:.0f} s\n")
    return cache


def fresh_copy(cache: Path) -> Path:
    run = WORK / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(cache, run / "root", symlinks=True)
    return run / "root"


def start_supervisor(root: Path) -> subprocess.Popen:
    from lsfs import owner

    log = open(root.parent / "watch.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "lsfs", "watch", "--root", str(root)],
                            stdout=log, stderr=subprocess.STDOUT, env=env())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"lsfs watch exited: {(root.parent / 'watch.log').read_text()}")
        if owner.probe(root)["state"] == "watching":
            return proc
        time.sleep(0.1)
    raise SystemExit("the supervisor did not start within 300 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def edits(root: Path, client, n: int) -> dict:
    files = sorted((root / "abstracts").glob("*.txt"))
    kw, sem = [], []
    for i in range(n):
        path = files[(i * 7) % len(files)]
        rel = path.relative_to(root).as_posix()
        token = f"zq{i:04d}mark"
        text = (f"Revision {i}: the {ADJ[i % 12]} {NOUN[(i // 12) % 12]} of the {NOUN[(i * 5) % 12]} "
                f"measured at station {i} ({token}).")
        started = time.perf_counter()
        path.write_text(text + "\n")
        t_kw = t_sem = None
        while t_kw is None or t_sem is None:
            now = time.perf_counter() - started
            if now > 30:
                raise SystemExit(f"edit {i} ({rel}) not findable after 30 s")
            if t_kw is None and [h.path for h in client.keywords_retrieve([token])] == [rel]:
                t_kw = time.perf_counter() - started
            if t_sem is None:
                hits = client.semantic_retrieve(text, k=1)
                if hits and hits[0].path == rel:
                    t_sem = time.perf_counter() - started
            time.sleep(0.01)
        kw.append(t_kw)
        sem.append(t_sem)
    return {"n": n, "keyword_p50": pct(kw, 50), "keyword_p95": pct(kw, 95), "keyword_max": max(kw),
            "semantic_p50": pct(sem, 50), "semantic_p95": pct(sem, 95), "semantic_max": max(sem)}


def cold_search(root: Path, runs: int) -> dict:
    """Cold `lsfs search` through the supervisor, alternating with two floors measured under
    the same load: `python -c pass` and `lsfs grep` (the CLI reading the catalog itself)."""
    search = [sys.executable, "-m", "lsfs", "search", "boundary layer separation at high speed", "-k", "5",
              "--root", str(root), "--json"]
    grep = [sys.executable, "-m", "lsfs", "grep", "boundary layer", "--root", str(root), "--json"]
    bare = [sys.executable, "-c", "pass"]
    times: dict[str, list[float]] = {"search": [], "grep": [], "python": []}
    for _ in range(runs):
        for name, args in (("search", search), ("grep", grep), ("python", bare)):
            started = time.perf_counter()
            proc = subprocess.run(args, capture_output=True, env=env())
            times[name].append(time.perf_counter() - started)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr.decode())
    trace = subprocess.run([sys.executable, "-X", "importtime", *search[1:]], capture_output=True, env=env(), text=True)
    rows = [line.split("|") for line in trace.stderr.splitlines() if line.startswith("import time:")]
    rows = [r for r in rows if len(r) == 3 and r[1].strip().isdigit()]
    modules = {r[-1].strip(): int(r[1]) for r in rows}
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    tops = {r[-1].strip(): int(r[1]) / 1e6 for r in rows if not r[-1].startswith("  ")}
    return {"runs": runs, "median_s": statistics.median(times["search"]), "min_s": min(times["search"]),
            "max_s": max(times["search"]), "grep_median_s": statistics.median(times["grep"]),
            "python_median_s": statistics.median(times["python"]), "modules": len(modules),
            "heavy_imports": heavy,
            "slowest_imports_s": dict(sorted(tops.items(), key=lambda kv: -kv[1])[:6])}


def expected_state(root: Path, changed: dict[str, bytes]) -> str:
    """The SQL that counts files whose indexed content is the expected new content."""
    return ",".join("'" + hashlib.sha256(data).hexdigest() + "'" for data in changed.values())


def wait_consistent(root: Path, client, changed: dict[str, bytes], started: float, timeout: float) -> float:
    from lsfs.store.catalog import Catalog

    shas = expected_state(root, changed)
    cat = Catalog(root / ".lsfs" / "catalog.db", readonly=True)
    try:
        while time.perf_counter() - started < timeout:
            (done,) = cat.query(f"SELECT count(*) FROM files WHERE state='indexed' AND indexed_sha IN ({shas})")[0]
            if done >= len(changed) and client.hello()["pending"] == 0:
                return time.perf_counter() - started
            time.sleep(0.2)
    finally:
        cat.close()
    raise SystemExit(f"not consistent after {timeout} s")


def chunks_to_embed(root: Path, changed: dict[str, bytes]) -> list[str]:
    """The least embedding work the new contents need: the chunks whose text is new to the file."""
    from lsfs.chunk import Chunker
    from lsfs.config import load
    from lsfs.extract import extract
    from lsfs.store.catalog import Catalog

    chunker = Chunker(load(root).chunk_tokens)
    cat = Catalog(root / ".lsfs" / "catalog.db", readonly=True)
    try:
        texts = []
        for rel, data in changed.items():
            row = cat.file_by_path(rel)
            old = {c.hash for c in cat.chunks_of(row.id)} if row else set()
            text = extract(rel, data).text
            texts += [text[c.start:c.end] for c in chunker.chunk(text) if c.hash not in old]
        return texts
    finally:
        cat.close()


def model_chunks_per_s(texts: list[str]) -> float:
    """The bare model on the same kind of chunks, right after, for scale (same machine load)."""
    from lsfs.embed import LocalEmbedder

    model = LocalEmbedder()
    model.embed(["warm up"])
    started = time.perf_counter()
    model.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def burst(root: Path, client, n: int) -> dict:
    files = sorted((root / "abstracts").glob("*.txt"))[-n:]
    before = client.hello()["stats"]
    changed = {}
    for i, path in enumerate(files):
        old = path.read_text()
        changed[path.relative_to(root).as_posix()] = (old.replace(" the ", " this ", 1) + f"\ncheckout {i}\n").encode()
    needed = chunks_to_embed(root, changed)
    started = time.perf_counter()
    for rel, data in changed.items():  # git checkout: unlink, then create the new file
        (root / rel).unlink()
        (root / rel).write_bytes(data)
    written = time.perf_counter() - started
    took = wait_consistent(root, client, changed, started, 1800)
    after = client.hello()["stats"]
    embedded = after["embedded_chunks"] - before["embedded_chunks"]
    model_rate = model_chunks_per_s(needed[:: max(1, len(needed) // 200)])
    return {"files": n, "write_s": written, "consistent_s": took,
            "embedded_chunks": embedded,
            "chunks_whose_text_changed": len(needed),
            "lsfs_chunks_per_s": embedded / took,
            "model_alone_chunks_per_s": model_rate,
            "reused_chunks": after["reused_chunks"] - before["reused_chunks"],
            "batches": after["batches"] - before["batches"],
            "versions_external": after["changed"] - before["changed"]}


def big_burst(root: Path, client, pid: int, n: int) -> dict:
    rss_before = rss_mib(pid)
    changed = {f"flood/f{i:05d}.txt": f"flood note {i}: {ADJ[i % 12]} {NOUN[i % 11]} number {i}\n".encode()
               for i in range(n)}
    (root / "flood").mkdir()
    started = time.perf_counter()
    for rel, data in changed.items():
        (root / rel).write_bytes(data)
    written = time.perf_counter() - started
    peak = rss_before
    from lsfs.store.catalog import Catalog

    shas = expected_state(root, changed)
    cat = Catalog(root / ".lsfs" / "catalog.db", readonly=True)
    while True:
        peak = max(peak, rss_mib(pid))
        (done,) = cat.query(f"SELECT count(*) FROM files WHERE state='indexed' AND indexed_sha IN ({shas})")[0]
        if done >= n and client.hello()["pending"] == 0:
            break
        if time.perf_counter() - started > 1800:
            raise SystemExit("the 10,000-file burst did not settle in 30 min")
        time.sleep(0.2)
    cat.close()
    return {"files": n, "write_s": written, "consistent_s": time.perf_counter() - started,
            "rss_before_mib": rss_before, "rss_peak_mib": peak}


def cold_search_without_supervisor(root: Path, runs: int) -> float:
    args = [sys.executable, "-m", "lsfs", "search", "boundary layer separation at high speed", "-k", "5",
            "--root", str(root), "--json"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, capture_output=True, env=env(), check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--cold", type=int, default=12, help="cold `lsfs search` runs")
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--big", type=int, default=10000, help="files in the new-file flood (0 to skip)")
    ap.add_argument("--phases", default="edits,cold,burst,big", help="which measurements to run")
    opts = ap.parse_args()
    phases = set(opts.phases.split(","))

    from lsfs import owner

    cache = build_cache()
    root = fresh_copy(cache)
    load = os.getloadavg()
    proc = start_supervisor(root)
    results: dict = {"load_at_start": [round(x, 1) for x in load]}
    try:
        with owner.connect(root) as client:
            if "edits" in phases:
                results["edits"] = edits(root, client, opts.edits)
                print(json.dumps(results["edits"]), file=sys.stderr)
            if "cold" in phases:
                results["cold_search"] = cold_search(root, opts.cold)
                print(json.dumps(results["cold_search"]), file=sys.stderr)
            if "burst" in phases:
                results["burst"] = burst(root, client, opts.burst)
                print(json.dumps(results["burst"]), file=sys.stderr)
            if "big" in phases and opts.big:
                results["big_burst"] = big_burst(root, client, proc.pid, opts.big)
                print(json.dumps(results["big_burst"]), file=sys.stderr)
    finally:
        stop(proc)
    if "cold" in phases:
        results["cold_search_no_supervisor_median_s"] = cold_search_without_supervisor(root, 3)
    results["load_at_end"] = [round(x, 1) for x in os.getloadavg()]
    (WORK / "sync_latency.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
