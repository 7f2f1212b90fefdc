"""Concurrency: the supervisor owns the root while 4 writer processes overwrite, append and
roll back the same few files through the owner socket, and an outside editor changes
another file on disk; afterwards no update is lost (each write is the current content or
in the file's history) and ``verify`` passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, write_tree
from lsfs import LSFS

SECONDS = float(os.environ.get("LSFS_CONCURRENCY_SECONDS", "8"))
SHARED = ["shared/a.txt", "shared/b.txt", "shared/c.txt"]

WRITER = r"""
import hashlib, json, random, sys, time
from pathlib import Path
from lsfs import owner

root, wid, seconds, log_path = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
files = json.loads(sys.argv[5])
rng = random.Random(wid)
fs = owner.connect(root)
assert fs is not None, "no owner answered"
log = open(log_path, "w")
deadline = time.monotonic() + seconds
n = 0
while time.monotonic() < deadline:
    path = rng.choice(files)
    n += 1
    marker = f"writer {wid} update {n}"
    roll = rng.random()
    if roll < 0.5:
        data = (marker + "\n") * rng.randint(1, 20)
        res = fs.overwrite(path, data)
        rec = {"op": "overwrite", "path": path, "sha": hashlib.sha256(data.encode()).hexdigest(), "version": res.version}
    elif roll < 0.85:
        res = fs.add_(path, "\n" + marker + "\n")
        rec = {"op": "append", "path": path, "marker": marker, "version": res.version}
    else:
        try:
            res = fs.rollback(path, versions=1)
        except Exception as exc:
            rec = {"op": "rollback-refused", "path": path, "why": str(exc)}
        else:
            rec = {"op": "rollback", "path": path, "version": res.version}
    log.write(json.dumps(rec) + "\n")
    log.flush()
fs.close()
"""

EDITOR = r"""
import sys, time
from pathlib import Path
target, seconds = Path(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + seconds
n = 0
while time.monotonic() < deadline:
    n += 1
    target.write_text(f"edited outside LSFS, round {n}\n")
    time.sleep(0.2)
"""


def test_supervisor_and_four_writers_lose_no_update_and_verify_passes(tmp_path):
    from supervisor import Supervisor

    root = tmp_path / "root"
    write_tree(root, {p: f"{p} starts here\n" for p in SHARED} | {"outside/edited.txt": "first\n"})
    LSFS.init(root).close()
    sup = Supervisor(root, quiet=0.05)
    sup.start()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    logs = [tmp_path / f"writer{i}.jsonl" for i in range(4)]
    try:
        procs = [
            subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(i), str(SECONDS), str(log), json.dumps(SHARED)], env=env)
            for i, log in enumerate(logs)
        ]
        procs.append(subprocess.Popen([sys.executable, "-c", EDITOR, str(root / "outside/edited.txt"), str(SECONDS)], env=env))
        for p in procs:
            assert p.wait(timeout=SECONDS + 120) == 0
        time.sleep(1.0)  # let the watcher see the editor's last change
    finally:
        sup.stop()

    records = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    writes = [r for r in records if r["op"] in ("overwrite", "append", "rollback")]
    assert len(writes) >= 20, f"only {len(writes)} writes in {SECONDS} s"
    with LSFS.open(root) as fs:
        cat, objects = fs._root.catalog, fs._root.objects
        for rec in writes:
            row = cat.file_by_path(rec["path"])
            version = cat.version(row.id, rec["version"])
            assert version is not None, f"lost: {rec}"
            content = objects.read(version.sha256).decode()
            if rec["op"] == "overwrite":
                assert version.sha256 == rec["sha"], f"version {rec['version']} of {rec['path']} is not {rec}"
            elif rec["op"] == "append":
                assert rec["marker"] in content, f"lost append: {rec}"
        for path in SHARED:
            row = cat.file_by_path(path)
            assert cat.latest_version(row.id).sha256 == hashlib.sha256((root / path).read_bytes()).hexdigest()
        report = fs.verify()
        assert report.ok, [p.message for p in report.problems]
        edited = cat.file_by_path("outside/edited.txt")
        assert len(cat.versions_of(edited.id)) > 1  # the supervisor recorded outside edits meanwhile
