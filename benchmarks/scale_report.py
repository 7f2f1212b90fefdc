"""Render ``scale_results.json`` (written by ``scale.py run``) as a table and scale.png.

The table goes into RESULTS_scale.md (with the method and the discussion) and into the
"Scale (issue 9)" section of RESULTS.md, between the same two markers in each."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MD = HERE / "RESULTS_scale.md"
SUMMARY = HERE / "RESULTS.md"
PNG = HERE / "scale.png"
ORDER = ("1k", "10k", "10k-stub", "50k", "50k-stub")
LABEL = {"10k-stub": "10k, stand-in embedder¹", "50k-stub": "50k, stand-in embedder¹"}
MACHINE = "2-core x86_64 VM, CPU only, shared with other developers"


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _row(label: str, values: list[str]) -> str:
    return f"| {label} | " + " | ".join(values) + " |"


def table(results: dict) -> list[str]:
    sizes = [s for s in ORDER if s in results]
    get = lambda s, *keys: _dig(results[s], keys)  # noqa: E731
    lines = [_row("", [f"**{LABEL.get(s, s)}**" for s in sizes]), "|---" * (len(sizes) + 1) + "|"]

    def add(label, fn):
        vals = []
        for s in sizes:
            try:
                vals.append(fn(s))
            except (KeyError, TypeError, ZeroDivisionError):
                vals.append("—")
        lines.append(_row(label, vals))

    add("files (indexed)", lambda s: f"{get(s, 'index', 'files'):,} ({get(s, 'index', 'indexed'):,})")
    add("chunks", lambda s: f"{get(s, 'index', 'chunks'):,}")
    add("extracted text", lambda s: _mib(get(s, "index", "text_bytes")))
    add("`lsfs init` wall time", lambda s: f"{get(s, 'index', 'init_s'):,.0f} s")
    add("chunks per second during init", lambda s: f"{get(s, 'index', 'chunks_per_s'):.1f} chunks/s")
    add("peak RSS of `lsfs init` (target ≤ 2 GiB)", lambda s: _mib(get(s, "index", "peak_rss_bytes")))
    add("`.lsfs/` size", lambda s: _mib(get(s, "index", "lsfs_bytes")))
    add("`.lsfs/` ÷ extracted text (target ≤ 3×)", lambda s: f"{get(s, 'index', 'lsfs_bytes') / get(s, 'index', 'text_bytes'):.1f}×")
    for part in ("catalog.db", "chroma", "objects"):
        add(f"&nbsp;&nbsp;{part} ÷ text", lambda s, p=part: f"{get(s, 'index', 'lsfs_parts', p) / get(s, 'index', 'text_bytes'):.2f}×")
    add("`.lsfs/` allocated on disk (`du`) ÷ text", lambda s: f"{get(s, 'index', 'lsfs_du_bytes') / get(s, 'index', 'text_bytes'):.1f}×")
    add("no-change `lsfs index` (cold CLI, median of 3)", lambda s: f"{get(s, 'index', 'reindex_cold_s'):.2f} s")
    add("keyword, LSFS warm p50 / p95", lambda s: f"{get(s, 'query', 'keyword', 'lsfs_p50_ms'):.1f} / {get(s, 'query', 'keyword', 'lsfs_p95_ms'):.1f} ms")
    add("keyword, `rg -l -F -i` p50 / p95", lambda s: f"{get(s, 'query', 'keyword', 'rg_p50_ms'):.1f} / {get(s, 'query', 'keyword', 'rg_p95_ms'):.1f} ms")
    add("keyword speed-up over rg, median per query (target ≥ 10×)", lambda s: f"{get(s, 'query', 'keyword', 'speedup_median'):.0f}×")
    add("`lsfs grep` cold CLI p50", lambda s: f"{get(s, 'query', 'keyword', 'lsfs_grep_cold_p50_ms'):.0f} ms")
    add("F1 of LSFS grep vs rg, min over 50 keywords (target 1.0)", lambda s: f"{get(s, 'query', 'keyword', 'f1_min'):.3f}")
    add("semantic k=10, warm p50 / p95 (target p95 ≤ 100 ms)", lambda s: f"{get(s, 'query', 'semantic', 'p50_ms'):.1f} / {get(s, 'query', 'semantic', 'p95_ms'):.1f} ms")
    add("&nbsp;&nbsp;of which the model encoding the query, p50 / p95", lambda s: f"{get(s, 'query', 'semantic', 'model_encode_p50_ms'):.1f} / {get(s, 'query', 'semantic', 'model_encode_p95_ms'):.1f} ms")
    add("Cranfield nDCG@10, LSFS semantic", lambda s: f"{get(s, 'query', 'ndcg10_semantic'):.3f}")
    add("Cranfield nDCG@10, LSFS hybrid (default)", lambda s: f"{get(s, 'query', 'ndcg10_hybrid'):.3f}")
    add("naive whole-file pipeline: index time", lambda s: f"{get(s, 'naive', 'index_s'):,.0f} s")
    add("naive whole-file pipeline: nDCG@10", lambda s: f"{get(s, 'naive', 'ndcg10'):.3f}")
    return lines


def _has(r: dict, fn) -> bool:
    try:
        fn(r)
        return True
    except (KeyError, TypeError):
        return False


def _dig(d: dict, keys) -> object:
    for k in keys:
        d = d[k]
    return d


def plot(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'); no plot written")
        return False
    real = [s for s in ORDER if "index" in results.get(s, {}) and not s.endswith("-stub")]
    stub = [s for s in ORDER if "index" in results.get(s, {}) and s.endswith("-stub")]
    nfiles = lambda s: results[s]["index"]["files"]  # noqa: E731

    def series(ax, sizes, fn, style, label, **kw):
        sizes = [s for s in sizes if _has(results[s], fn)]
        if sizes:
            ax.plot([nfiles(s) for s in sizes], [fn(results[s]) for s in sizes], style, label=label, **kw)

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    ax = axes[0][0]
    series(ax, real, lambda r: r["index"]["init_s"] / 60, "o-", "LSFS init")
    series(ax, real, lambda r: r["naive"]["index_s"] / 60, "s--", "naive whole-file")
    series(ax, stub, lambda r: r["index"]["init_s"] / 60, "o", "LSFS init, stand-in embedder", mfc="none")
    ax.set(title="index time", xlabel="files", ylabel="minutes")
    ax.legend(fontsize=8)
    ax = axes[0][1]
    for key, label, c in (("peak_rss_bytes", "peak RSS", "C0"), ("lsfs_bytes", ".lsfs/", "C1"), ("text_bytes", "extracted text", "C2")):
        series(ax, real, lambda r, k=key: r["index"][k] / 2**20, "o-", f"{label} (MiB)", color=c)
        series(ax, stub, lambda r, k=key: r["index"][k] / 2**20, "o", None, color=c, mfc="none")
    ax.axhline(2048, color="grey", lw=0.8, ls="--")
    ax.set(title="memory and disk (hollow: stand-in embedder)", xlabel="files", ylabel="MiB", yscale="log")
    ax.legend(fontsize=8)
    ax = axes[1][0]
    every = real + stub
    for key, label, c in (("lsfs_p50_ms", "LSFS grep p50 (warm)", "C0"), ("rg_p50_ms", "rg -l -F -i p50", "C1")):
        series(ax, every, lambda r, k=key: r["query"]["keyword"][k], "o-", label, color=c)
    series(ax, real, lambda r: r["query"]["semantic"]["p95_ms"], "o--", "LSFS semantic p95 (warm)", color="C2")
    series(ax, stub, lambda r: r["query"]["semantic"]["p95_ms"], "o", None, color="C2", mfc="none")
    ax.axhline(100, color="grey", lw=0.8, ls="--")
    ax.set(title="query latency", xlabel="files", ylabel="ms", yscale="log")
    ax.legend(fontsize=8)
    ax = axes[1][1]
    series(ax, real, lambda r: r["query"]["ndcg10_hybrid"], "o-", "LSFS hybrid")
    series(ax, real, lambda r: r["query"]["ndcg10_semantic"], "o-", "LSFS semantic")
    series(ax, real, lambda r: r["naive"]["ndcg10"], "s--", "naive whole-file")
    ax.set(title="Cranfield nDCG@10 among the other files", xlabel="files", ylim=(0, 0.6))
    ax.legend(fontsize=8)
    from matplotlib.ticker import NullFormatter

    for a in axes.flat:
        a.set_xscale("log")
        a.xaxis.set_minor_formatter(NullFormatter())
        a.grid(alpha=0.3)
    fig.suptitle(f"LSFS at growing size ({MACHINE})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


START, END = "<!-- table: generated by `scale.py report` -->", "<!-- end of table -->"


def _splice(path: Path, text: str, section: str) -> None:
    """Put ``text`` between the markers in ``path``; append ``section`` with them if absent."""
    md = path.read_text() if path.exists() else ""
    if START not in md:
        before = f"{md.rstrip()}\n\n" if md.strip() else ""
        md = f"{before}{section}\n\n{START}\n{END}\n"
    head, _, rest = md.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def report(results_path: Path) -> int:
    """Write the generated table into RESULTS_scale.md and RESULTS.md, and scale.png."""
    results = json.loads(results_path.read_text())
    text = "\n".join(table(results))
    print(text)
    _splice(MD, text, "# Scale")
    _splice(SUMMARY, text, "## Scale (issue 9)\n\n"
            "`PYTHONPATH=. python benchmarks/scale.py run --size 1k|10k|50k`, then `report`; "
            "the corpora, the method, the machine's load and the discussion are in "
            "[RESULTS_scale.md](RESULTS_scale.md).")
    plot(results, PNG)
    return 0
