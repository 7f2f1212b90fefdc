"""How the hybrid settings in lsfs/retrieve.py were chosen: a grid search on the tuning half
of the Cranfield queries (odd ordinals), reported with the held-out half (even) and all 225.

    PYTHONPATH=. python benchmarks/cranfield_tune.py      # needs the root cranfield.py caches

It reads the cached, indexed root of ``cranfield.py`` (run that first), takes every chunk
vector out of Chroma and every query's BM25 ranking out of the catalog, and replays the
hybrid pipeline in numpy (exact cosine instead of Chroma's approximate search) with
``lsfs.retrieve.fuse``, for reciprocal-rank fusion and for the weighted fusion with and
without pseudo-relevance feedback. Settings are ranked by the tuning half only.
"""

from __future__ import annotations

import itertools
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cranfield as C  # noqa: E402

from lsfs import retrieve  # noqa: E402
from lsfs.retrieve import fuse  # noqa: E402


def evaluate(rankings: dict[int, list[int]], qrels, split) -> dict[str, float]:
    out = {}
    for name, qs in split.items():
        qs = [q for q in qs if q in qrels]
        out[name] = statistics.fmean(C.ndcg_at(rankings[q], qrels[q]) for q in qs)
    qs = [q for q in split["all"] if q in qrels]
    out["recall@100"] = statistics.fmean(C.recall_at(rankings[q], qrels[q]) for q in qs)
    return out


class Replay:
    """Everything the pipeline needs, in memory: chunk vectors, query vectors, BM25 lists."""

    def __init__(self, fs, queries: list[str]):
        r = fs._root
        cat = r.catalog
        self.path_of = {fid: path for fid, path in cat.query("SELECT id, path FROM files WHERE state='indexed'")}
        rows = cat.query("SELECT file_id, seq FROM chunks ORDER BY file_id, seq")
        ids = [f"{fid}:{seq}" for fid, seq in rows]
        stored = r.vectors().get_embeddings(ids)
        keep = [i for i, cid in enumerate(ids) if cid in stored]
        self.chunk_ids = [ids[i] for i in keep]
        self.chunk_file = np.array([rows[i][0] for i in keep])
        self.matrix = np.stack([stored[ids[i]] for i in keep])
        self.files, self.inverse = np.unique(self.chunk_file, return_inverse=True)
        self.qvecs = r.embedder().embed(queries)
        self.sparse = {q: r.retriever.bm25(text, retrieve.FUSE_DEPTH) for q, text in enumerate(queries, 1)}

    def dense(self, vector, depth: int = retrieve.FUSE_DEPTH):
        """(file id, best cosine, best chunk id), best first, as Retriever.vector_files."""
        sims = self.matrix @ vector
        best = np.full(len(self.files), -np.inf)
        arg = np.zeros(len(self.files), dtype=int)
        order = np.argsort(sims)  # ascending, so each file keeps its highest
        best[self.inverse[order]] = sims[order]
        arg[self.inverse[order]] = order
        top = np.argsort(-best)[:depth]
        return [(int(self.files[j]), float(best[j]), self.chunk_ids[arg[j]]) for j in top]

    def doc_ids(self, ranked) -> list[int]:
        return [C.doc_id(self.path_of[fid]) for fid, *_ in ranked[:100]]


def rrf(dense, sparse, k: int, w: float):
    scores: dict[int, float] = {}
    for weight, ranking in ((w, dense), (1 - w, sparse)):
        for rank, (fid, *_) in enumerate(ranking):
            scores[fid] = scores.get(fid, 0.0) + weight / (k + rank + 1)
    return sorted(((f, s, None) for f, s in scores.items()), key=lambda t: -t[1])


def feedback_pass(rp: Replay, q: int, dense, sparse, w1, m, beta, ratio):
    first = fuse(dense, sparse, w1)
    best_chunk = {fid: i for i, (fid, _, _) in enumerate(dense)}
    floor = ratio * first[0][1] if first else 0.0
    picked = [dense[best_chunk[fid]][2] for fid, s, _ in first[:m] if fid in best_chunk and s >= floor]
    if not picked:
        return dense
    index = {cid: i for i, cid in enumerate(rp.chunk_ids)}
    centroid = rp.matrix[[index[c] for c in picked]].mean(axis=0)
    v = rp.qvecs[q - 1] + beta * centroid
    return rp.dense(v / np.linalg.norm(v))


def main() -> int:
    data, work = C.DEFAULT_DATA, C.DEFAULT_WORK
    C.check_data(data)
    docs, queries, qrels = C.load_docs(data), C.load_queries(data), C.load_qrels(data)
    if not (work / ".lsfs").is_dir():
        sys.exit("cranfield_tune.py: run benchmarks/cranfield.py first (it builds the cached root)")
    fs, _ = C.prepare_root(work, docs, rebuild=False)
    try:
        rp = Replay(fs, queries)
    finally:
        fs.close()
    split = C.halves(len(queries))
    dense = {q: rp.dense(rp.qvecs[q - 1]) for q in range(1, len(queries) + 1)}
    results: list[tuple[str, dict]] = []

    def run(name, make):
        results.append((name, evaluate({q: rp.doc_ids(make(q)) for q in dense}, qrels, split)))

    run("dense alone", lambda q: dense[q])
    run("BM25 alone", lambda q: rp.sparse[q])
    for k, w in itertools.product((10, 30, 60, 100), (0.4, 0.5, 0.6)):
        run(f"RRF k={k} w_dense={w}", lambda q, k=k, w=w: rrf(dense[q], rp.sparse[q], k, w))
    for w in (0.5, 0.6, 0.7, 0.8, 0.9):
        run(f"weighted w={w}", lambda q, w=w: fuse(dense[q], rp.sparse[q], w))
    for w1, m, beta, ratio in itertools.product((0.5, 0.6, 0.7), (2, 3, 4, 5), (1.0, 2.0, 3.0, 4.0), (0.0, 0.7)):
        second = {q: feedback_pass(rp, q, dense[q], rp.sparse[q], w1, m, beta, ratio) for q in dense}
        for w2 in (0.8, 0.9, 1.0):
            run(f"feedback w1={w1} m={m} beta={beta} ratio={ratio} w2={w2}",
                lambda q, w2=w2, second=second: fuse(second[q], rp.sparse[q], w2))

    chosen = (f"feedback w1={retrieve.FUSE_FIRST} m={retrieve.FEEDBACK_FILES} beta={retrieve.FEEDBACK_WEIGHT} "
              f"ratio={retrieve.FEEDBACK_MIN_RATIO} w2={retrieve.FUSE_FINAL}")
    by_tune = sorted(results, key=lambda t: -t[1]["tune (odd)"])
    print(f"{len(results)} settings, ranked by nDCG@10 on the tuning half (odd queries)\n")
    print(f"{'setting':<58} {'tune':>6} {'held-out':>9} {'all':>6} {'R@100':>6}")

    def show(name, r):
        mark = "  <- in lsfs/retrieve.py" if name == chosen else ""
        print(f"{name:<58} {r['tune (odd)']:>6.3f} {r['held-out (even)']:>9.3f} {r['all']:>6.3f} {r['recall@100']:>6.3f}{mark}")

    for name, r in by_tune[:15]:
        show(name, r)
    print("\nreference points")
    for name, r in results:
        if name in ("dense alone", "BM25 alone", "RRF k=60 w_dense=0.5", chosen) or name == max(
            (n for n, _ in results if n.startswith("weighted")), key=lambda n: dict(results)[n]["tune (odd)"]
        ):
            show(name, r)
    held = [r["held-out (even)"] for n, r in results if n.startswith("feedback")]
    print(f"\nheld-out nDCG@10 over all {len(held)} feedback settings: median {statistics.median(held):.3f}, "
          f"min {min(held):.3f}, max {max(held):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
