"""Crash safety: SIGKILL a process that writes, appends, rolls back and groups, at random
instants, again and again; after each kill the next open repairs derived state by itself,
``verify`` passes, and every file holds its old or its new content with the other in its
history (see tests/crash_worker.py for the worker and its journal).

Real processes, the real model and real Chroma. Seeded: ``LSFS_CRASH_SEED`` replays a
run, ``LSFS_CRASH_KILLS`` sets the number of kills (default 50).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, run_cli, write_tree

KILLS = int(os.environ.get("LSFS_CRASH_KILLS", "50"))
SEED = int(os.environ.get("LSFS_CRASH_SEED", "20261122"))
WORKER = Path(__file__).with_name("crash_worker.py")

FILES = {
    f"docs/file{i}.txt": f"file {i}: {word} notes\n" * 5
    for i, word in enumerate(("alpha", "bravo", "charlie", "delta", "echo", "foxtrot"))
}


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not _dead(pid):
        assert time.monotonic() < deadline, f"worker {pid} survived SIGKILL"
        time.sleep(0.01)


def _wait_ready(result: Path, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = result.read_text(encoding="utf-8") if result.exists() else ""
        if "crashed " in text:
            raise AssertionError("worker failed:\n" + json.loads(text.split("crashed ", 1)[1].splitlines()[0]))
        if "\nready\n" in text:
            return json.loads(text.splitlines()[0])
        time.sleep(0.02)
    raise AssertionError(f"worker never got ready: {result.read_text() if result.exists() else ''}")


def test_random_sigkills_lose_nothing_and_verify_passes_after_automatic_repair(tmp_path):
    root = tmp_path / "root"
    write_tree(root, FILES)
    assert run_cli("init", str(root)).code == 0
    journal = tmp_path / "journal.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    zygote = subprocess.Popen(
        [sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    rng = random.Random(SEED)
    kills = early_kills = verified = ops = 0
    started = time.monotonic()
    try:
        assert zygote.stdout.readline().strip() == "zygote ready"
        for gen in range(KILLS + 1):
            result = tmp_path / f"gen{gen}.txt"
            zygote.stdin.write(f"run {root} {journal} {rng.randrange(2**31)} {result}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            last = gen == KILLS
            if not last and rng.random() < 0.2:
                # Kill during start-up: the recovery itself must survive being interrupted.
                time.sleep(rng.uniform(0.05, 1.5))
                _kill(pid)
                kills += 1
                early_kills += 1
                continue
            outcome = _wait_ready(result)
            verified += 1
            assert outcome["invariants"] == [], f"after kill {kills}: {outcome['invariants']}"
            assert outcome["ok"], f"after kill {kills}, verify found: {outcome['problems']}"
            time.sleep(0 if last else rng.uniform(0.0, 0.6))
            _kill(pid)
            ops += result.read_text(encoding="utf-8").count("\nop ")
            if not last:
                kills += 1
    finally:
        zygote.stdin.write("quit\n")
        zygote.stdin.close()
        zygote.wait(timeout=30)
    minutes = (time.monotonic() - started) / 60
    settled = journal.read_text(encoding="utf-8").count('"settled"')
    print(f"\ncrash test: {kills} kills ({early_kills} during start-up), {ops} operations, "
          f"{settled} kills mid-change, {verified} verifications, {kills / minutes:.1f} kills/minute")
    assert kills >= 50 or KILLS < 50
    assert verified > KILLS // 2
    # The test must really have killed writes in flight, not only idle workers.
    assert settled >= 5
