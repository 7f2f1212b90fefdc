"""How often ``lsfs ask`` reads a sentence right, and how fast.

    python benchmarks/parser_accuracy.py                  # both case files, offline
    python benchmarks/parser_accuracy.py --json
    LSFS_LLM_BASE_URL=http://127.0.0.1:8000/v1 LSFS_LLM_MODEL=m \\
        python benchmarks/parser_accuracy.py              # offline, then with the LLM

A case counts as right when the api, every argument the case states and the destructive
flag all match (free text compared without regard to case or spacing). Parse time is
measured per sentence in-process (no interpreter start), after one warm-up parse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsfs.errors import LSFSError  # noqa: E402
from lsfs.parser import APIS, parse, parse_offline  # noqa: E402
from lsfs.parser.plan import plan_mismatch  # noqa: E402

DATA = ROOT / "tests" / "data"
DEFAULT_SETS = {"own": DATA / "parser_cases.jsonl", "held-out": DATA / "parser_cases_unseen.jsonl"}


def judge(case: dict, got: dict | None) -> tuple[bool, bool]:
    """(api right, api + stated args + destructive right)."""
    if got is None or got["api"] != case["plan"]["api"]:
        return False, False
    return True, plan_mismatch(case["plan"], got) is None


def run_set(cases: list[dict], parse_one) -> dict:
    per_api: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    times, api_right, right, failures = [], 0, 0, []
    sources: dict[str, int] = defaultdict(int)  # who answered: the LLM or the rules
    for case in cases:
        today = dt.date.fromisoformat(case["today"])
        began = time.perf_counter()
        try:
            plan = parse_one(case["sentence"], today, case.get("names", ()))
            got, error = plan.to_json(), None
            sources[plan.source] += 1
        except LSFSError as exc:
            got, error = None, str(exc)
            sources["error"] += 1
        times.append((time.perf_counter() - began) * 1000)
        a_ok, ok = judge(case, got)
        api_right += a_ok
        right += ok
        tally = per_api[case["plan"]["api"]]
        tally[0] += ok
        tally[1] += 1
        if not ok:
            failures.append({"sentence": case["sentence"], "want": case["plan"],
                             "got": got if got else {"error": error}})
    times.sort()
    return {
        "cases": len(cases),
        "accuracy": right / len(cases) if cases else None,
        "api_accuracy": api_right / len(cases) if cases else None,
        "answered_by": dict(sources),
        "per_api": {api: {"right": r, "cases": n, "accuracy": r / n}
                    for api, (r, n) in sorted(per_api.items(), key=lambda kv: APIS.index(kv[0]))},
        "parse_ms": {"median": statistics.median(times) if times else None,
                     "p95": times[min(len(times) - 1, int(0.95 * len(times)))] if times else None,
                     "max": times[-1] if times else None},
        "failures": failures,
    }


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", type=Path, help="JSONL case files (default: both sets)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--no-llm", action="store_true", help="skip the LLM run even if configured")
    args = ap.parse_args()
    sets = ({p.stem: p for p in args.cases} if args.cases
            else {k: v for k, v in DEFAULT_SETS.items() if v.exists()})

    try:  # the first parse imports and compiles the rules; keep it out of the timings
        parse_offline("find papers about warming up", today=dt.date(2026, 11, 22))
    except LSFSError:
        pass

    def offline(sentence, today, names):
        return parse_offline(sentence, today=today, names=names)

    modes = {"offline": offline}
    if os.environ.get("LSFS_LLM_BASE_URL") and not args.no_llm:
        from lsfs import config
        from lsfs.llm import LLMClient

        client = LLMClient.from_config(config.load(None))

        def with_llm(sentence, today, names):
            return parse(sentence, llm=client, today=today, names=names)

        modes["llm"] = with_llm

    report = {"machine": os.environ.get("BENCH_MACHINE", ""), "date": dt.date.today().isoformat(),
              "results": {mode: {name: run_set(load(path), fn) for name, path in sets.items()}
                          for mode, fn in modes.items()}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for mode, by_set in report["results"].items():
        for name, r in by_set.items():
            t = r["parse_ms"]
            print(f"[{mode}] {name}: {r['accuracy']:.1%} right ({r['cases']} cases; api alone "
                  f"{r['api_accuracy']:.1%}); parse median {t['median']:.2f} ms, "
                  f"p95 {t['p95']:.2f} ms, max {t['max']:.2f} ms; answered by "
                  f"{r['answered_by']}")
            for api, s in r["per_api"].items():
                print(f"    {api:<20} {s['right']:>3}/{s['cases']:<3} {s['accuracy']:.0%}")
            for f in r["failures"]:
                print(f"    FAIL {f['sentence']!r}\n         got  {json.dumps(f['got'])}\n"
                      f"         want {json.dumps(f['want'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
