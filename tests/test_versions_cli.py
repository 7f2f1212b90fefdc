"""lsfs history, diff, rollback, changes: the real CLI in a subprocess."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lsfs import LSFS

from conftest import CORPUS, plan_drafts, run_cli, write_tree

PLAN = "notes/plan.md"
V = plan_drafts()


@pytest.fixture
def root(tmp_path):
    """A root whose notes/plan.md has versions 1..5 (V[1]..V[5]); two files named todo.md."""
    root = tmp_path / "root"
    write_tree(root, {
        "notes/cnn.md": CORPUS["notes/cnn.md"],
        "home/todo.md": "buy milk and bread\n",
        "work/todo.md": "finish the quarterly report\n",
    })
    with LSFS.init(root) as fs:
        fs.create_or_get_file(PLAN, V[1])
        for n in range(2, 6):
            fs.overwrite(PLAN, V[n])
    return root


def lsfs(root, *args, **kw):
    return run_cli(*args, "--root", str(root), **kw)


def state(root):
    """Disk content of every file plus the version table: what a refusal must not change."""
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".lsfs" not in p.parts}
    with LSFS.open(root, readonly=True) as fs:
        versions = fs._root.catalog.query("SELECT file_id, n, sha256, cause FROM versions ORDER BY file_id, n")
    return files, versions


def test_history_json_follows_the_design_contract(root):
    r = lsfs(root, "history", "plan", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert set(out) == {"path", "versions"} and out["path"] == PLAN
    assert [v["n"] for v in out["versions"]] == [1, 2, 3, 4, 5]
    assert [v["cause"] for v in out["versions"]] == ["write"] + ["overwrite"] * 4
    first = out["versions"][0]
    assert set(first) == {"n", "time", "size", "sha256", "cause"}
    assert first["size"] == len(V[1]) and len(first["sha256"]) == 64
    dt.datetime.fromisoformat(first["time"])


def test_history_text_marks_the_current_version(root):
    r = lsfs(root, "history", "plan")
    lines = r.out.splitlines()
    assert lines[0] == f"{PLAN}: 5 versions"
    assert lines[-1].split()[0] == "5" and lines[-1].endswith("current")


def test_rollback_with_yes_restores_version_n_minus_3_and_show_agrees(root):
    r = lsfs(root, "rollback", "plan", "--versions", "3", "--yes")
    assert r.code == 0, r.err
    assert "to the content of version 2, recorded as version 6" in r.out
    assert (root / PLAN).read_text() == V[2]
    assert lsfs(root, "show", "plan", "--version", "6").out == V[2]
    assert len(json.loads(lsfs(root, "history", "plan", "--json").out)["versions"]) == 6


def test_rollback_json_reports_target_and_new_version(root):
    r = lsfs(root, "rollback", PLAN, "--versions", "1", "--yes", "--json")
    out = json.loads(r.out)
    assert out == {"path": PLAN, "target": 4, "version": 6, "previous": 5, "restored": False,
                   "changed": True, "added": 1, "removed": 1}


def test_rollback_without_yes_off_a_terminal_shows_the_plan_and_refuses(root):
    before = state(root)
    r = lsfs(root, "rollback", "plan", "--versions", "3", input="y\n")
    assert r.code == 3
    assert f"Roll {PLAN} back from version 5 to version 2" in r.err and "+1 -1 lines" in r.err
    assert "re-run with --yes" in r.err
    assert state(root) == before


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--versions", "0"], 1, "--versions must be 1 or more"),
        (["--versions", "-2"], 1, "--versions must be 1 or more"),
        (["--versions", "9"], 1, "has 5 versions (1 to 5), the current one is 5, so --versions can be 1 to 4, not 9"),
        (["--versions", "three"], 2, "Invalid value for '--versions'"),
        (["--to", "2024-02-30"], 1, "no such date"),
        (["--to", "last tuesday"], 1, "YYYY-MM-DD"),
        (["--to", "2999-01-01"], 1, "is in the future"),
        (["--to", "2001-01-01"], 1, "no version from 2001-01-01 or earlier"),
        (["--versions", "1", "--to", "2024-03-03"], 2, "give exactly one of --versions N"),
        ([], 2, "give exactly one of --versions N"),
    ],
)
def test_bad_rollback_input_is_one_line_with_its_exit_code_and_changes_nothing(root, args, code, message):
    before = state(root)
    r = lsfs(root, "rollback", "plan", *args, "--yes")
    assert r.code == code, r.err
    assert r.err.startswith("lsfs: error: ") and r.err.count("\n") == 1
    assert message in r.err
    assert state(root) == before


def test_an_ambiguous_name_lists_the_candidates_and_exits_3(root):
    before = state(root)
    for args in (["history", "todo"], ["diff", "todo"], ["rollback", "todo", "--versions", "1", "--yes"]):
        r = lsfs(root, *args)
        assert r.code == 3, args
        assert "home/todo.md" in r.err and "work/todo.md" in r.err
    assert state(root) == before


def test_an_unknown_name_exits_1_with_the_closest_names(root):
    r = lsfs(root, "rollback", "plam", "--versions", "1", "--yes")
    assert r.code == 1 and "did you mean notes/plan.md" in r.err
    assert lsfs(root, "history", "zzz").code == 1


def test_a_locked_file_is_refused_with_exit_1(root):
    with LSFS.open(root) as fs:
        fs._root.catalog.execute("UPDATE files SET locked=1 WHERE path=?", (PLAN,))
    before = state(root)
    r = lsfs(root, "rollback", "plan", "--versions", "1", "--yes")
    assert r.code == 1 and "locked" in r.err
    assert state(root) == before


def test_a_deleted_file_comes_back_by_its_name(root):
    assert lsfs(root, "rm", "plan").code == 0
    assert not (root / PLAN).exists()
    assert "deleted" in lsfs(root, "history", "plan").out.splitlines()[0]
    r = lsfs(root, "rollback", "plan", "--versions", "1", "--yes")
    assert r.code == 0, r.err
    assert r.out.startswith(f"restored {PLAN} with the content of version 5")
    assert (root / PLAN).read_text() == V[5]
    assert lsfs(root, "grep", "hovercraft").out.split() == [PLAN]


def test_dates_are_days_in_local_time(root):
    # Version 2 at 20:00 UTC on 2 March: still 2 March in UTC, already 3 March in Tokyo.
    with LSFS.open(root) as fs:
        fid = fs._root.catalog.file_by_path(PLAN).id
        utc = dt.timezone.utc
        for n, when in {1: dt.datetime(2024, 3, 1, 12, tzinfo=utc), 2: dt.datetime(2024, 3, 2, 20, tzinfo=utc)}.items():
            fs._root.catalog.execute("UPDATE versions SET time=? WHERE file_id=? AND n=?", (when.timestamp(), fid, n))
    in_utc = lsfs(root, "rollback", "plan", "--to", "2024-03-02", env={"TZ": "UTC0"})
    in_tokyo = lsfs(root, "rollback", "plan", "--to", "2024-03-02", env={"TZ": "JST-9"})
    assert in_utc.code == in_tokyo.code == 3  # no --yes: the plan is shown, nothing changes
    assert "to version 2 (2024-03-02 20:00" in in_utc.err
    assert "to version 1 (2024-03-01 21:00" in in_tokyo.err


def test_diff_prints_a_unified_diff(root):
    r = lsfs(root, "diff", "plan")
    assert r.code == 0
    assert r.out.splitlines()[2:] == [
        "@@ -1,3 +1,3 @@", " # Plan", " ", "-Draft 4: we will ship the cormorant by spring.",
        "+Draft 5: we will ship the hovercraft by spring.",
    ]
    out = json.loads(lsfs(root, "diff", "plan", "--from", "1", "--to", "2", "--json").out)
    assert (out["from"], out["to"], out["added"], out["removed"]) == (1, 2, 1, 1)
    assert "+Draft 2: we will ship the albatross" in out["diff"]


def test_diff_of_a_missing_version_exits_1(root):
    r = lsfs(root, "diff", "plan", "--to", "7")
    assert r.code == 1 and "has versions 1 to 5; there is no version 7" in r.err


def test_changes_json_lists_newest_first_with_cause_and_summary(root):
    assert lsfs(root, "rollback", "plan", "--versions", "2", "--yes").code == 0
    out = json.loads(lsfs(root, "changes", "--since", "1d", "--json").out)
    assert set(out) == {"since", "changes"} and out["since"] == "1d"
    first = out["changes"][0]
    assert set(first) == {"time", "path", "cause", "version", "summary"}
    assert (first["path"], first["cause"], first["version"]) == (PLAN, "rollback", 6)
    assert 'added "Draft 3: we will ship the submarine by spring."' in first["summary"]
    times = [c["time"] for c in out["changes"]]
    assert times == sorted(times, reverse=True)


def test_changes_text_shows_time_cause_path_and_summary(root):
    r = lsfs(root, "changes", "--limit", "1")
    head, summary = r.out.splitlines()
    assert head.endswith(f"overwrite  {PLAN} v5")
    assert summary.strip().startswith("+1 -1 lines in \"Plan\"")


def test_changes_rejects_a_malformed_duration(root):
    r = lsfs(root, "changes", "--since", "5 lightyears")
    assert r.code == 1 and "as a duration" in r.err
