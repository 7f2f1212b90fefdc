"""The process tests/test_crash.py kills: a zygote that forks one worker per generation.

The zygote imports LSFS, Chroma and onnxruntime once (creating no thread, database or
session), then for each line ``run SEED RESULT`` on stdin forks a worker and prints its
pid. The worker is a fresh process as far as LSFS is concerned: it opens the root (which
runs the automatic recovery), checks ``verify`` and the journal's invariants, writes the
outcome to RESULT, then performs random writes, appends, rollbacks and groups, journaling
each one, until the test SIGKILLs it. Forking saves ~1.5 s of imports per kill.

Journal (JSON lines, fsynced): ``{"set": fid, "sha": s}`` fixes a file's expected content;
``{"begin": op, "fid": f, "old": s, "new": s}`` then ``{"end": 1}`` brackets a content change;
``{"begin": "group"}`` / ``{"end": 1}`` brackets a group and its undo (content unchanged).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_journal(path: str) -> tuple[dict[int, str], dict | None]:
    """(expected content per file id, the change in flight when the last worker died)."""
    expected: dict[int, str] = {}
    open_op: dict | None = None
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return expected, None
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            break  # a line torn by the kill: the op it began never started
        if "set" in rec:
            expected[rec["set"]] = rec["sha"]
        elif "begin" in rec:
            open_op = rec
        elif "settled" in rec:
            open_op = None  # a later worker recorded what the disk held (a "set" record)
        elif "end" in rec:
            if open_op and open_op.get("fid") is not None:
                expected[open_op["fid"]] = open_op["new"]
            open_op = None
    return expected, open_op


def append(journal, rec: dict) -> None:
    journal.write(json.dumps(rec) + "\n")
    journal.flush()
    os.fsync(journal.fileno())


def check_invariants(fs, expected: dict[int, str], open_op: dict | None) -> tuple[list[str], dict[int, str]]:
    """Every tracked file is live, holds its old or new content, the other in history."""
    cat = fs._root.catalog
    errors: list[str] = []
    actual: dict[int, str] = {}
    live = {f.id: f for f in cat.live_files()}
    if set(live) != set(expected):
        errors.append(f"live files {sorted(live)} != tracked {sorted(expected)}")
    for fid, want in expected.items():
        row = live.get(fid)
        if row is None:
            errors.append(f"file #{fid} is not live")
            continue
        try:
            got = sha((fs.root / row.path).read_bytes())
        except OSError as exc:
            errors.append(f"{row.path}: unreadable {exc}")
            continue
        actual[fid] = got
        allowed = {want}
        if open_op and open_op.get("fid") == fid:
            allowed = {open_op["old"], open_op["new"]}
        if got not in allowed:
            errors.append(f"{row.path}: content {got[:8]} is neither old nor new {[a[:8] for a in allowed]}")
        history = [v.sha256 for v in cat.versions_of(fid)]
        if not history or history[-1] != got:
            errors.append(f"{row.path}: current content is not its latest version")
        if open_op and open_op.get("fid") == fid and open_op["old"] not in history:
            errors.append(f"{row.path}: the old content is not in history")
        if want not in history:
            errors.append(f"{row.path}: expected content {want[:8]} is not in history")
    return errors, actual


def one_op(fs, rng: random.Random, journal) -> None:
    cat = fs._root.catalog
    files = cat.live_files()
    row = rng.choice(files)
    path = row.path
    current = (fs.root / path).read_bytes()
    roll = rng.random()
    if roll < 0.4:
        text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.randrange(10**6)}\n".encode() * rng.randint(1, 40)
        append(journal, {"begin": "overwrite", "fid": row.id, "old": sha(current), "new": sha(text)})
        fs.overwrite(path, text)
    elif roll < 0.65:
        extra = f"\n{rng.choice(WORDS)} line {rng.randrange(10**6)}\n".encode()
        append(journal, {"begin": "append", "fid": row.id, "old": sha(current), "new": sha(current + extra)})
        fs.add_(path, extra)
    elif roll < 0.9 and len(cat.versions_of(row.id)) > 1:
        plan = fs.rollback_plan(path, versions=1)
        if plan.unchanged:
            return
        target = cat.version(row.id, plan.target).sha256
        append(journal, {"begin": "rollback", "fid": row.id, "old": sha(current), "new": target})
        fs.rollback(path, versions=1, expect_target=plan.target)
    elif roll >= 0.9:
        word = rng.choice(WORDS)
        append(journal, {"begin": "group"})
        try:
            fs.group_keywords([word], into="grouped", confirm=True)
        except Exception as exc:  # no file has the word: nothing moved
            if "nothing was moved" not in str(exc):
                raise
        else:
            fs.ungroup(confirm=True)
    else:
        return
    append(journal, {"end": 1})


def generation(root: str, journal_path: str, seed: int, result_path: str) -> None:
    from lsfs.api import LSFS

    result = open(result_path, "w", encoding="utf-8")
    expected, open_op = read_journal(journal_path)
    fs = LSFS.open(root)  # runs the automatic recovery
    report = fs.verify()
    journal = open(journal_path, "a", encoding="utf-8")
    if not expected:
        for f in fs._root.catalog.live_files():
            append(journal, {"set": f.id, "sha": sha((fs.root / f.path).read_bytes())})
        expected, open_op = read_journal(journal_path)
    errors, actual = check_invariants(fs, expected, open_op)
    if open_op is not None:
        # Settle the change the kill interrupted, so later generations know the content.
        if open_op.get("fid") is not None and open_op["fid"] in actual:
            append(journal, {"set": open_op["fid"], "sha": actual[open_op["fid"]]})
        append(journal, {"end": 1} if open_op.get("fid") is None else {"settled": 1})
    result.write(json.dumps({"ok": report.ok, "problems": [p.message for p in report.problems], "invariants": errors}) + "\n")
    result.write("ready\n")
    result.flush()
    rng = random.Random(seed)
    ops = 0
    while True:
        one_op(fs, rng, journal)
        ops += 1
        result.write(f"op {ops}\n")
        result.flush()


def zygote() -> None:
    import chromadb  # noqa: F401  (imports only: no client, no thread before the fork)
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401

    import lsfs.api  # noqa: F401
    import lsfs.grouping  # noqa: F401
    import lsfs.verify  # noqa: F401
    from lsfs.extract import registry

    registry()
    sys.stdout.write("zygote ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        _, root, journal, seed, result = parts
        while True:  # reap killed workers
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        pid = os.fork()
        if pid == 0:
            try:
                generation(root, journal, int(seed), result)
            except BaseException as exc:  # a failure the test must see, not a hang
                with open(result, "a", encoding="utf-8") as fh:
                    import traceback

                    fh.write("crashed " + json.dumps(traceback.format_exc()) + "\n")
                    _ = exc
            os._exit(1)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    zygote()
