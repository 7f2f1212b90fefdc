"""change_summary, the change log (`changes`) and its durations."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from lsfs import LSFS
from lsfs.apis.change_summary import configured_llm, summarize_change
from lsfs.apis.history import since_time
from lsfs.config import Config
from lsfs.errors import BackendUnavailable, UserError

from conftest import CORPUS, write_tree

REPORT_V1 = """# Quarterly report

## Sales

Revenue grew eight percent.

## Hiring

We hired two engineers.
"""

REPORT_V2 = """# Quarterly report

## Sales

Revenue grew eight percent.
Online orders from Portugal and Poland doubled after the courier partnership launched.

## Hiring

We hired two engineers.
"""


@pytest.fixture
def vfs(tmp_path):
    root = tmp_path / "root"
    write_tree(root, {"notes/cnn.md": CORPUS["notes/cnn.md"], "reports/q3.md": REPORT_V1})
    with LSFS.init(root) as fs:
        yield fs


# -- change_summary ------------------------------------------------------------------------

def test_change_summary_overwrites_through_the_write_path_and_reports_the_change(vfs):
    report = vfs.change_summary("q3", REPORT_V2)
    assert (vfs.root / "reports/q3.md").read_text() == REPORT_V2
    assert (report.path, report.version, report.cause, report.source) == ("reports/q3.md", 2, "overwrite", "offline")
    assert (report.details.lines_added, report.details.lines_removed) == (1, 0)
    assert report.details.sections == ["Sales"]
    assert report.details.added == ["Online orders from Portugal and Poland doubled after the courier partnership launched."]
    assert report.summary.startswith('+1 -0 lines in "Sales"; added "Online orders from Portugal')
    assert [h.path for h in vfs.keywords_retrieve(["courier partnership"])] == ["reports/q3.md"]


def test_change_summary_creates_a_missing_file(vfs):
    report = vfs.change_summary("reports/q4.md", REPORT_V1)
    assert report.cause == "write" and report.version == 1 and report.details.new_file
    assert report.summary == 'new: 9 lines; sections "Quarterly report", "Sales", "Hiring"'


def test_change_summary_with_the_same_content_reports_no_change(vfs):
    report = vfs.change_summary("q3", REPORT_V1)
    assert report.version == 1 and report.summary == "no change to the text"


def test_every_lsfs_write_logs_a_structured_summary(vfs):
    vfs.overwrite("q3", REPORT_V2)
    latest = vfs.changes(limit=1)[0]
    assert (latest.path, latest.cause, latest.version) == ("reports/q3.md", "overwrite", 2)
    assert 'in "Sales"' in latest.summary and "courier partnership" in latest.summary


class FakeLLM:
    """Stands in for an OpenAI-compatible endpoint (an edge we do not own)."""

    def __init__(self, answer=None, fail=False):
        self.answer, self.fail, self.seen = answer, fail, []

    def complete(self, messages):
        self.seen.append(messages)
        if self.fail:
            raise BackendUnavailable("LLM at http://127.0.0.1:9/v1 unreachable; check LSFS_LLM_BASE_URL")
        return self.answer


def test_with_an_llm_the_summary_is_its_answer_given_the_diff(vfs):
    llm = FakeLLM("  Added a sentence on doubled online orders\nfrom Portugal and Poland. ")
    summary, source, details = summarize_change(REPORT_V1, REPORT_V2, "reports/q3.md", llm=llm)
    assert summary == "Added a sentence on doubled online orders from Portugal and Poland."
    assert source == "llm" and details.sections == ["Sales"]
    prompt = llm.seen[0][-1]["content"]
    assert "+Online orders from Portugal and Poland doubled" in prompt and "sections touched: Sales" in prompt


def test_an_unreachable_llm_falls_back_to_the_offline_summary():
    summary, source, _ = summarize_change(REPORT_V1, REPORT_V2, "reports/q3.md", llm=FakeLLM(fail=True))
    assert summary.startswith('+1 -0 lines in "Sales"')
    assert source.startswith("offline (LLM unavailable: LLM at http://127.0.0.1:9/v1 unreachable")


def test_an_empty_llm_answer_falls_back_to_the_offline_summary():
    summary, source, _ = summarize_change(REPORT_V1, REPORT_V2, "reports/q3.md", llm=FakeLLM(""))
    assert summary.startswith("+1 -0 lines") and source.startswith("offline")


def test_the_llm_summary_goes_into_the_change_log(vfs):
    from lsfs.apis.change_summary import change_summary

    change_summary(vfs._root, "q3", REPORT_V2, llm=FakeLLM("Noted doubled orders from Portugal and Poland."))
    assert vfs.changes(limit=1)[0].summary == "Noted doubled orders from Portugal and Poland."


def test_no_llm_is_used_when_none_is_configured():
    assert configured_llm(Config()) is None


# -- changes ----------------------------------------------------------------------------

def test_changes_lists_every_cause_newest_first(vfs):
    vfs.overwrite("q3", REPORT_V2)
    vfs.add_("q3", "Appendix follows.")
    vfs.rollback("q3", versions=1)
    (vfs.root / "notes/cnn.md").write_text("# CNN\n\nEdited outside LSFS entirely.\n")
    vfs.index()
    os.rename(vfs.root / "notes/cnn.md", vfs.root / "notes/convnets.md")
    vfs.index()
    vfs.del_("q3")
    causes = [c.cause for c in vfs.changes()]
    assert causes == ["delete", "move", "external", "rollback", "append", "overwrite", "initial", "initial"]
    moved = vfs.changes(limit=2)[1]
    assert moved.path == "notes/convnets.md" and moved.summary == "moved from notes/cnn.md"
    assert vfs.changes(limit=3)[2].summary.startswith("+")


def _age_changes(fs, days_ago: dict[str, float]) -> None:
    for path, days in days_ago.items():
        fs._root.catalog.execute("UPDATE changes SET time=? WHERE path=?", (time.time() - days * 86_400, path))


def test_changes_since_a_duration_keeps_only_recent_ones(vfs):
    _age_changes(vfs, {"notes/cnn.md": 10, "reports/q3.md": 0.5})
    assert [c.path for c in vfs.changes("1d")] == ["reports/q3.md"]
    assert [c.path for c in vfs.changes("P2W")] == ["reports/q3.md", "notes/cnn.md"]
    assert [c.path for c in vfs.changes(dt.timedelta(hours=1))] == []


def test_changes_since_a_date_starts_at_the_beginning_of_that_day(vfs):
    today = dt.date.today()
    assert len(vfs.changes(today.isoformat())) == 2
    assert vfs.changes((today + dt.timedelta(days=1)).isoformat()) == []


def test_changes_refuses_a_bad_limit(vfs):
    with pytest.raises(UserError, match="limit"):
        vfs.changes(limit=0)


# -- durations (a private parser until lsfs.timeparse is merged) ---------------------------

NOW = dt.datetime(2026, 3, 31, 12, 0).timestamp()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("48h", dt.datetime(2026, 3, 29, 12, 0)),
        ("7d", dt.datetime(2026, 3, 24, 12, 0)),
        ("2w", dt.datetime(2026, 3, 17, 12, 0)),
        ("1mo", dt.datetime(2026, 2, 28, 12, 0)),  # calendar month, clamped to February's end
        ("3mo", dt.datetime(2025, 12, 31, 12, 0)),
        ("1y", dt.datetime(2025, 3, 31, 12, 0)),
        ("1d12h", dt.datetime(2026, 3, 30, 0, 0)),
        ("P1D", dt.datetime(2026, 3, 30, 12, 0)),
        ("PT48H", dt.datetime(2026, 3, 29, 12, 0)),
        ("P3M", dt.datetime(2025, 12, 31, 12, 0)),
        ("P1Y2M3DT4H", dt.datetime(2025, 1, 28, 8, 0)),
        ("90min", dt.datetime(2026, 3, 31, 10, 30)),
    ],
)
def test_durations_count_back_from_now(text, expected):
    assert since_time(text, now=NOW) == expected.timestamp()


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "5", "5x", "-1d", "1.5mo", "d", "1d 2", "P1.5M", "yesterday-ish"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(UserError):
        since_time(text, now=NOW)


def test_no_duration_means_no_filter():
    assert since_time(None) is None and since_time("") is None
