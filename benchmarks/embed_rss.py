"""Peak memory of the bundled model while it embeds many texts, with onnxruntime's CPU memory
arena on (LSFS's setting) or off: does the model's share of RSS keep growing over a long index?

Reads up to --limit text files under FOLDER (seeded shuffle, first 1,400 characters of each,
about one chunk), embeds them 64 at a time as the indexer does, and prints the peak RSS after
every 640 texts and the throughput. Run each setting in its own process:

    PYTHONPATH=. .venv/bin/python benchmarks/embed_rss.py FOLDER --arena on
    PYTHONPATH=. .venv/bin/python benchmarks/embed_rss.py FOLDER --arena off

FOLDER used for RESULTS_scale.md: the 50k corpus that `scale.py run --size 50k` writes.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--arena", choices=("on", "off"), default="on")
    ap.add_argument("--limit", type=int, default=2400)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.folder):
        print(f"embed_rss.py: no folder {args.folder}", file=sys.stderr)
        return 2

    import onnxruntime as ort

    if args.arena == "off":  # LocalEmbedder builds its own SessionOptions; switch the arena off in it
        base = ort.SessionOptions

        class NoArena(base):
            def __init__(self):
                super().__init__()
                self.enable_cpu_mem_arena = False

        ort.SessionOptions = NoArena

    from lsfs.embed import LocalEmbedder

    paths = [os.path.join(d, f) for d, dirs, files in os.walk(args.folder) for f in files]
    paths = [p for p in paths if f"{os.sep}.lsfs{os.sep}" not in p]
    random.Random(1).shuffle(paths)
    texts = []
    for p in paths[: args.limit]:
        with open(p, errors="replace") as f:
            texts.append(f.read(1400))
    model = LocalEmbedder()
    model.warm()
    print(f"model loaded: peak {peak_mib():.0f} MiB")
    start = time.perf_counter()
    for i in range(0, len(texts), 64):
        model.embed(texts[i : i + 64])
        if i % 640 == 0:
            print(f"{i + 64:>6} texts: peak {peak_mib():.0f} MiB", flush=True)
    rate = len(texts) / (time.perf_counter() - start)
    print(f"arena {args.arena}: {len(texts)} texts, {rate:.1f} texts/s, peak {peak_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
