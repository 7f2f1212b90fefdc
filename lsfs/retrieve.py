"""Keyword, semantic and hybrid retrieval. Every result is one ``Hit`` per file, best first.

Keyword retrieval is exact: the trigram index proposes candidate files, and each is then
checked against its whole extracted text, so the file set equals ``grep -rliF`` (or
``grep -rlF`` when case-sensitive) over the same text. Semantic retrieval ranks files by
their best chunk's cosine similarity. Hybrid fuses the two in two passes:

1. score = FUSE_FIRST x cosine + (1 - FUSE_FIRST) x BM25 / best BM25 of the query;
2. pseudo-relevance feedback: the mean vector of the best chunks of the first pass's top
   FEEDBACK_FILES files (those scoring at least FEEDBACK_MIN_RATIO of the best) is added
   to the query vector with weight FEEDBACK_WEIGHT, the vector search runs again with it,
   and the scores are fused once more with FUSE_FINAL.

Weighted score fusion beat reciprocal-rank fusion (any k) and feedback added the most;
the settings were chosen on half of the Cranfield queries and checked on the other half
(``benchmarks/cranfield_tune.py``; figures in ``benchmarks/RESULTS_retrieval.md``).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass
from itertools import islice
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from lsfs.errors import UserError
from lsfs.paths import in_dir

if TYPE_CHECKING:  # cheap to import: a client of the owner socket decodes Hits
    from lsfs.embed import Embedder
    from lsfs.store.catalog import Catalog
    from lsfs.store.vectors import VectorStore

SNIPPET_CHARS = 240

# Hybrid settings (see the module docstring).
FUSE_FIRST = 0.6
FEEDBACK_FILES = 4
FEEDBACK_WEIGHT = 3.0
FEEDBACK_MIN_RATIO = 0.7   # a feedback file scores at least this share of the best one
FUSE_FINAL = 0.9
FUSE_DEPTH = 100
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to rank by (the usual short English list used by search engines);
# without it "how are LLMs …" ranks any file containing "are".
STOPWORDS = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its of on or "
    "such that the their then there these they this to was were what when where which who "
    "why will with can do does did you your we our me my".split()
)


@dataclass
class Hit:
    path: str
    score: float
    snippet: str

    def to_dict(self) -> dict:
        return asdict(self)


def _squash(text: str) -> str:
    return " ".join(text.split())


def snippet_around(text: str, pos: int, length: int = 0) -> str:
    """The line holding ``text[pos]``, trimmed to about SNIPPET_CHARS around it."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos + length)
    end = len(text) if end < 0 else end
    if end - start > SNIPPET_CHARS:
        start = max(start, pos - SNIPPET_CHARS // 3)
        end = min(end, start + SNIPPET_CHARS)
    return _squash(text[start:end])


class _SimpleFold(dict):
    """str.translate table for Unicode simple case folding, filled one character at a time.

    grep -i and rg -i compare characters by their simple case fold, so "ſ" (long s) matches
    "s" and "σ" matches "ς"; str.lower() keeps "ſ" and "ς" apart from "s" and "σ".
    Full folding (str.casefold) would go further than they do ("ß" -> "ss"), so a
    character whose fold is longer than one keeps its one-character lower case, or
    itself. Every character maps to one, so positions in the folded text stay valid.
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = ch.casefold()
        if len(folded) != 1:
            folded = ch.lower() if len(ch.lower()) == 1 else ch
        self[code] = folded
        return folded


_FOLD = _SimpleFold()


def fold_case(text: str) -> str:
    """``text`` with every character replaced by its simple case fold (see _SimpleFold)."""
    return text.lower() if text.isascii() else text.translate(_FOLD)


def _trigram_query(keyword: str) -> str | None:
    """An FTS5 query matching every file that may contain ``keyword`` (a superset).

    Only ASCII trigrams are used. SQLite's trigram tokenizer folds case like fold_case,
    including the two non-ASCII letters that fold to ASCII ("\u212a" Kelvin sign, "ſ"),
    so the candidates can never miss a real match.
    """
    low = fold_case(keyword)
    grams = {low[i : i + 3] for i in range(len(low) - 2)}
    grams = {g for g in grams if g.isascii()}
    if not grams:
        return None
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in sorted(grams))


class Retriever:
    def __init__(self, catalog: Catalog, vectors: Callable[[], VectorStore], embedder: Callable[[], Embedder]):
        self.catalog = catalog
        self._vectors = vectors
        self._embedder = embedder

    # -- keyword ------------------------------------------------------------------------
    def _candidates(self, keyword: str) -> set[int] | None:
        query = _trigram_query(keyword)
        if query is None:
            return None  # too short to index: every file is a candidate
        return {r[0] for r in self.catalog.query("SELECT rowid FROM docs_tri WHERE docs_tri MATCH ?", (query,))}

    def keyword(
        self,
        keywords: Sequence[str],
        mode: str = "all",
        dir: str | None = None,
        case_sensitive: bool = False,
        k: int | None = None,
    ) -> list[Hit]:
        """Files whose extracted text contains all (or any) of ``keywords`` as substrings."""
        keywords = [kw for kw in keywords if kw]
        if not keywords:
            raise UserError("give at least one non-empty keyword")
        if mode not in ("all", "any"):
            raise UserError(f"mode must be 'all' or 'any', not {mode!r}")
        sets = [self._candidates(kw) for kw in keywords]
        known = [s for s in sets if s is not None]
        if mode == "all":
            cand = set.intersection(*known) if known else None
        else:
            cand = None if len(known) < len(sets) else set().union(*known)
        needles = keywords if case_sensitive else [fold_case(kw) for kw in keywords]
        hits = []
        for fid, path, text in self._indexed_texts(cand):
            if not in_dir(path, dir):
                continue
            hay = text if case_sensitive else fold_case(text)
            counts = [hay.count(n) for n in needles]
            ok = all(counts) if mode == "all" else any(counts)
            if not ok:
                continue
            first = min((hay.find(n), n) for n, c in zip(needles, counts) if c)
            hits.append(Hit(path, float(sum(counts)), snippet_around(text, first[0], len(first[1]))))
        hits.sort(key=lambda h: (-h.score, h.path))
        return hits[:k] if k else hits

    def _indexed_texts(self, ids: set[int] | None) -> Iterator[tuple[int, str, str]]:
        """(file id, path, extracted text) of indexed files, all of them or only ``ids``.

        Only the candidates' rows are read, in one query per batch: at 50,000 files,
        loading every live row first cost more than the whole trigram search."""
        sql = "SELECT f.id, f.path, d.text FROM files f JOIN docs d ON d.file_id = f.id WHERE f.state = 'indexed'"
        if ids is None:
            yield from self.catalog.query(sql)
            return
        ordered = sorted(ids)
        for i in range(0, len(ordered), 5000):
            part = json.dumps(ordered[i : i + 5000])
            yield from self.catalog.query(sql + " AND f.id IN (SELECT value FROM json_each(?))", (part,))

    # -- BM25 ---------------------------------------------------------------------------
    def bm25(self, query: str, n: int = 100, dir: str | None = None) -> list[tuple[int, float, int]]:
        """Files ranked by their best chunk's BM25 score: (file id, score, chunk row id)."""
        words = [w for w in _WORD.findall(query) if w.lower() not in STOPWORDS] or _WORD.findall(query)
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words))
        rows = self.catalog.query(
            "SELECT c.file_id, c.id, -bm25(chunks_bm25) AS s FROM chunks_bm25 "
            "JOIN chunks c ON c.id = chunks_bm25.rowid WHERE chunks_bm25 MATCH ? ORDER BY bm25(chunks_bm25)",
            (match,),
        )
        return self._best_per_file(((fid, s, cid) for fid, cid, s in rows), n, dir)

    def ranked_keyword(self, query: str, k: int = 10, dir: str | None = None) -> list[Hit]:
        """The ``k`` best files by BM25 over the query's words (``search --mode keyword``)."""
        check_query(query)
        check_k(k)
        return [self._hit(fid, s, cid) for fid, s, cid in self.bm25(query, k, dir)]

    def _best_per_file(self, rows: Iterable[tuple[int, float, int]], n: int, dir: str | None) -> list[tuple[int, float, int]]:
        best: dict[int, tuple[int, float, int]] = {}
        # Paths are looked up a block of rows at a time, only for the files those rows
        # name: reading every path per query cost tens of milliseconds at 50,000 files.
        known: dict[int, str | None] = {}
        rows = iter(rows)
        while len(best) < n:
            block = list(islice(rows, max(4 * n, 256)))
            if not block:
                break
            unknown = {fid for fid, _, _ in block if fid not in known}
            if unknown:
                found = self._paths_of(unknown)
                known.update((fid, found.get(fid)) for fid in unknown)
            for fid, score, cid in block:
                path = known[fid]
                if path is None or not in_dir(path, dir) or fid in best:
                    continue
                best[fid] = (fid, score, cid)
                if len(best) >= n:
                    break
        return sorted(best.values(), key=lambda t: -t[1])

    def _paths_of(self, ids: set[int]) -> dict[int, str]:
        """Paths of those of ``ids`` that are indexed files."""
        return dict(self.catalog.query(
            "SELECT id, path FROM files WHERE state='indexed' AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(ids)),),
        ))

    def _paths(self) -> dict[int, str]:
        return dict(self.catalog.query("SELECT id, path FROM files WHERE state='indexed'"))

    # -- semantic -----------------------------------------------------------------------
    def query_vector(self, query: str):
        """The query's embedding, computed while the vector store opens.

        In a fresh process both cost a few hundred milliseconds (model load, Chroma's
        import); overlapping them is what keeps a cold ``lsfs search`` short.
        """
        check_query(query)
        embedder = self._embedder()
        getattr(embedder, "import_runtime", lambda: None)()
        box: dict = {}

        def encode():
            try:
                box["vector"] = embedder.embed([query])[0]
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=encode, name="lsfs-query-encoder")
        worker.start()
        try:
            self._vectors()
        finally:
            worker.join()
        if "error" in box:
            raise box["error"]
        return box["vector"]

    def vector_files(
        self, vector, n: int, dir: str | None = None, among: set[int] | None = None
    ) -> list[tuple[int, float, int | str]]:
        """Files ranked by their best chunk's cosine similarity: (file id, score, chunk id).

        ``among`` limits the ranking to those file ids."""
        store = self._vectors()
        restrict = None
        if dir or among is not None:
            paths = self._paths()
            if among is not None:
                paths = {fid: p for fid, p in paths.items() if fid in among}
            restrict = [fid for fid, p in paths.items() if in_dir(p, dir)]
            if not restrict:
                return []
        fetch = max(n * 4, 50)
        while True:
            raw = store.query(vector, fetch, restrict if restrict is not None and len(restrict) <= 2000 else None)
            rows = [r for r in raw if r[1] in among] if among is not None else raw
            picked = self._best_per_file(((fid, s, cid) for cid, fid, s in rows), n, dir)
            if len(picked) >= n or len(raw) < fetch:
                return picked
            fetch *= 4

    def semantic(self, query: str, k: int = 5, dir: str | None = None) -> list[Hit]:
        """The ``k`` files whose best chunk is most similar to ``query`` (cosine)."""
        check_k(k)
        ranked = self.vector_files(self.query_vector(query), k, dir)
        return [self._hit(fid, score, cid) for fid, score, cid in ranked[:k]]

    def file_scores(self, query: str, n: int, dir: str | None = None) -> list[tuple[str, float]]:
        """(path, cosine) of the ``n`` files most similar to ``query``, best first."""
        check_k(n)
        paths = self._paths()
        return [(paths[fid], float(s)) for fid, s, _ in self.vector_files(self.query_vector(query), n, dir)]

    def hybrid(self, query: str, k: int = 10, dir: str | None = None) -> list[Hit]:
        """BM25 and vectors fused by weighted scores, with one round of pseudo-relevance
        feedback on the query vector (see the module docstring)."""
        check_k(k)
        depth = max(FUSE_DEPTH, k)
        vector = self.query_vector(query)
        dense = self.vector_files(vector, depth, dir)
        sparse = self.bm25(query, depth, dir)
        first = fuse(dense, sparse, FUSE_FIRST)
        best_chunk = {fid: cid for fid, _, cid in dense}
        floor = FEEDBACK_MIN_RATIO * first[0][1] if first else 0.0
        feedback = [best_chunk[fid] for fid, s, _ in first[:FEEDBACK_FILES] if fid in best_chunk and s >= floor]
        if feedback:
            stored = self._vectors().get_embeddings([str(c) for c in feedback])
            if stored:
                import numpy as np

                expanded = vector + FEEDBACK_WEIGHT * np.mean(list(stored.values()), axis=0)
                vector = expanded / (np.linalg.norm(expanded) or 1.0)
                dense = self.vector_files(vector, depth, dir)
        top = fuse(dense, sparse, FUSE_FINAL)[:k]
        return [self._hit(fid, score, cid) for fid, score, cid in top]

    def integrated(
        self, query: str, keywords: Sequence[str], k: int = 10, dir: str | None = None, mode: str = "all"
    ) -> list[Hit]:
        """The files containing the keywords (exactly, as ``keyword``), ranked by cosine to ``query``."""
        check_query(query)
        check_k(k)
        matched = {h.path for h in self.keyword(keywords, mode, dir)}
        if not matched:
            return []
        ids = {fid for fid, p in self._paths().items() if p in matched}
        ranked = self.vector_files(self.query_vector(query), k, dir, among=ids)
        return [self._hit(fid, score, cid) for fid, score, cid in ranked[:k]]

    def _hit(self, fid: int, score: float, chunk: int | str) -> Hit:
        row = self.catalog.file_by_id(fid)
        text = self.catalog.doc_text(fid) or ""
        if isinstance(chunk, str):  # a vector id "<file>:<seq>"
            seq = int(chunk.rsplit(":", 1)[1])
            span = self.catalog.query("SELECT start, end FROM chunks WHERE file_id=? AND seq=?", (fid, seq))
        else:
            span = self.catalog.query("SELECT start, end FROM chunks WHERE id=?", (chunk,))
        start, end = span[0] if span else (0, len(text))
        return Hit(row.path, round(float(score), 6), _squash(text[start:end])[:SNIPPET_CHARS])


def fuse(
    dense: Sequence[tuple[int, float, int | str]], sparse: Sequence[tuple[int, float, int | str]], weight: float
) -> list[tuple[int, float, int | str]]:
    """Weighted score fusion: ``weight`` x cosine + (1 - weight) x BM25 / the best BM25.

    Both inputs are (file id, score, chunk id), best first; a file missing from one list
    gets 0 from it. Returns (file id, fused score, chunk id) best first, the chunk taken
    from the vector side when there is one (it is the passage closest in meaning)."""
    top_bm25 = sparse[0][1] if sparse and sparse[0][1] > 0 else 1.0
    scores: dict[int, float] = {}
    chunk_of: dict[int, int | str] = {}
    for fid, s, cid in dense:
        scores[fid] = weight * float(s)
        chunk_of[fid] = cid
    for fid, s, cid in sparse:
        scores[fid] = scores.get(fid, 0.0) + (1.0 - weight) * float(s) / top_bm25
        chunk_of.setdefault(fid, cid)
    return [(fid, s, chunk_of[fid]) for fid, s in sorted(scores.items(), key=lambda t: (-t[1], t[0]))]


def check_query(query: str) -> None:
    """Refuse an empty or blank query (exit 1)."""
    if not isinstance(query, str) or not query.strip():
        raise UserError("the query is empty; say what to look for")


def check_k(k: int) -> None:
    """Refuse a k that is not a positive whole number (exit 1)."""
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise UserError(f"k must be a positive whole number, not {k!r}")
