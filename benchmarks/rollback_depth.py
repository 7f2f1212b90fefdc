"""Rollback time against depth: is restoring 1,000 versions back as fast as 1 back?

One ~10 KB Markdown file gets 1,000 versions on top of its first, then ``LSFS.rollback``
(the Python API: lookup, write through the one write path, keyword index and vectors
updated) is timed at depths 1, 10, 100 and 1,000.

Fairness:
- Every version differs from every other in exactly one paragraph (a revision note at the
  top), so a rollback at any depth re-embeds the same amount of text; what varies is only
  how far back the target lies. The script checks this and prints the chunks re-embedded.
- Depths are measured round-robin in a shuffled order. After each timed rollback an
  untimed write records a fresh revision, so every rollback starts from a current content
  no version has had before: the target always differs from it in exactly that one
  paragraph. (Undoing with ``versions=1`` instead would fill the history with copies of
  the same content, and an even depth would land on a copy of the current content.)
  A warm-up rollback loads the model and Chroma before timing.

Building: by default the 1,000 versions are recorded the way the indexer records them
(content object + version row, one transaction), then the last one is written through
``write_bytes`` so disk, indexes and history agree. ``--via-api`` instead calls
``LSFS.overwrite`` 1,000 times (every version embedded and indexed; much slower).

    PYTHONPATH=. python benchmarks/rollback_depth.py [--versions 1000] [--repeats 15] [--via-api]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEPTHS = (1, 10, 100, 1000)
DOC = "doc.md"

WORDS = (
    "river stone lantern orchard copper meadow harbor signal timber quartz willow ember "
    "canyon tundra beacon saddle marble thistle falcon prairie glacier compass lagoon cedar"
).split()


def body(seed: int = 7, size: int = 10_000) -> str:
    """About ``size`` bytes of Markdown: headings and paragraphs of plain sentences."""
    rng = random.Random(seed)
    parts, section = [], 0
    while sum(len(p) + 2 for p in parts) < size:
        if len(parts) % 6 == 0:
            section += 1
            parts.append(f"## Section {section}")
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
            for _ in range(rng.randint(3, 5))
        ]
        parts.append(" ".join(sentences))
    return "\n\n".join(parts) + "\n"


BODY = body()


def version_text(i: int) -> str:
    rng = random.Random(i)
    note = " ".join(rng.choice(WORDS) for _ in range(12))
    return f"# Field log\n\nRevision {i}: {note}.\n\n{BODY}"


def build_direct(fs, n_versions: int) -> None:
    from lsfs.syscalls import write_bytes

    root = fs._root
    fid = root.catalog.file_by_path(DOC).id
    t0 = time.time() - n_versions
    with root.catalog.transaction():
        for i in range(2, n_versions + 2):
            data = version_text(i).encode()
            sha = root.objects.put_bytes(data)
            root.catalog.add_version(fid, len(data), sha, "overwrite", when=t0 + i)
    # Disk and indexes catch up with the last recorded version (no new version: same bytes).
    write_bytes(root, DOC, version_text(n_versions + 1).encode(), "overwrite")


def build_via_api(fs, n_versions: int) -> None:
    for i in range(2, n_versions + 2):
        fs.overwrite(DOC, version_text(i))


def chunks_to_embed(fs, target_text: str) -> int:
    """Chunks of the target text whose hash the current file does not have."""
    root = fs._root
    row = root.catalog.file_by_path(DOC)
    have = {c.hash for c in root.catalog.chunks_of(row.id)}
    return sum(1 for c in root.indexer.chunker.chunk(target_text) if c.hash not in have)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", type=int, default=1000, help="versions to add on top of the first")
    ap.add_argument("--repeats", type=int, default=15, help="timed rollbacks per depth")
    ap.add_argument("--via-api", action="store_true", help="build with LSFS.overwrite (slow)")
    args = ap.parse_args()
    depths = [d for d in DEPTHS if d <= args.versions]

    from lsfs import LSFS

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        (root / DOC).write_text(version_text(1))
        with LSFS.init(root) as fs:
            fs.search("warm up the model", k=1)
            started = time.perf_counter()
            (build_via_api if args.via_api else build_direct)(fs, args.versions)
            build_s = time.perf_counter() - started
            n = len(fs.history(DOC).versions)
            assert n == args.versions + 1, n
            size = (root / DOC).stat().st_size

            fs.rollback(DOC, versions=1)  # warm-up: Chroma, the model, SQLite caches
            fresh = iter(range(10**6, 2 * 10**6))
            fs.overwrite(DOC, version_text(next(fresh)))

            plan_ms = {d: [] for d in depths}
            roll_ms = {d: [] for d in depths}
            embedded = {d: set() for d in depths}
            rng = random.Random(1)
            for _ in range(args.repeats):
                order = list(depths)
                rng.shuffle(order)
                for d in order:
                    t = time.perf_counter()
                    plan = fs.rollback_plan(DOC, versions=d)
                    plan_ms[d].append((time.perf_counter() - t) * 1000)
                    target = fs.read(DOC, version=plan.target)[1].decode()
                    embedded[d].add(chunks_to_embed(fs, target))
                    t = time.perf_counter()
                    result = fs.rollback(DOC, versions=d)
                    roll_ms[d].append((time.perf_counter() - t) * 1000)
                    assert result.changed and (root / DOC).read_text() == target, (d, plan, result)
                    fs.overwrite(DOC, version_text(next(fresh)))  # a new current content, not timed
            hits = fs.keywords_retrieve(["Field log"])
            assert [h.path for h in hits] == [DOC]

    med = {d: statistics.median(v) for d, v in roll_ms.items()}
    print(f"# rollback_depth: {args.versions + 1} versions of a {size:,}-byte file, {args.repeats} runs per depth")
    print(f"machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}")
    print(f"build ({'LSFS.overwrite' if args.via_api else 'recorded directly'}): {build_s:.1f} s\n")
    print("| versions back | median rollback (ms) | min | max | median plan/lookup (ms) | chunks re-embedded |")
    print("|---:|---:|---:|---:|---:|---:|")
    for d in depths:
        print(
            f"| {d:,} | {med[d]:.1f} | {min(roll_ms[d]):.1f} | {max(roll_ms[d]):.1f} "
            f"| {statistics.median(plan_ms[d]):.2f} | {', '.join(map(str, sorted(embedded[d])))} |"
        )
    deepest = depths[-1]
    ratio = med[deepest] / med[1]
    print(f"\ndepth {deepest:,} / depth 1 (medians): {ratio:.2f}  (target <= 1.2)")
    print(f"slowest median: {max(med.values()):.1f} ms  (target <= 1000 ms)")
    ok = ratio <= 1.2 and max(med.values()) <= 1000
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
