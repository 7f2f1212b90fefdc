"""Durations and dates as users type them (lsfs.timeparse)."""

from __future__ import annotations

import datetime as dt

import pytest

from lsfs import config
from lsfs.errors import UserError
from lsfs.timeparse import Duration, parse_date, parse_duration, search_date, search_duration

TODAY = dt.date(2026, 11, 22)  # a Sunday


@pytest.mark.parametrize("text, iso", [
    ("48h", "PT48H"), ("7d", "P7D"), ("2w", "P14D"), ("3mo", "P3M"), ("1y", "P1Y"),
    ("90min", "PT90M"), ("30s", "PT30S"), ("1d12h", "P1DT12H"), ("3 MO", "P3M"),
])
def test_cli_short_forms_become_iso(text, iso):
    assert parse_duration(text).iso == iso


@pytest.mark.parametrize("text, iso", [
    ("P3M", "P3M"), ("P1D", "P1D"), ("PT48H", "PT48H"), ("P1Y2M", "P1Y2M"), ("p2w", "P14D"),
    ("P1DT2H30M", "P1DT2H30M"),
])
def test_iso_8601_is_read_and_kept_canonical(text, iso):
    assert parse_duration(text).iso == iso


@pytest.mark.parametrize("text, iso", [
    ("3 months", "P3M"), ("48 hours", "PT48H"), ("a week", "P7D"), ("for a year", "P1Y"),
    ("two days", "P2D"), ("an hour", "PT1H"), ("half a year", "P6M"), ("a fortnight", "P14D"),
    ("twenty-five minutes", "PT25M"), ("1 hour and 30 minutes", "PT1H30M"),
    ("the last 2 days", "P2D"), ("a couple of weeks", "P14D"),
])
def test_english_durations(text, iso):
    assert parse_duration(text).iso == iso


@pytest.mark.parametrize("text", ["never", "no expiry", "forever", "permanent"])
def test_never_means_no_expiry(text):
    assert parse_duration(text) is None


def test_bare_m_is_refused_as_ambiguous_rather_than_guessed():
    with pytest.raises(UserError, match=r"ambiguous.*3mo for months.*3min for minutes"):
        parse_duration("3m")


@pytest.mark.parametrize("text", ["soon", "3 bananas", "P", "", "h48"])
def test_bad_duration_names_the_accepted_forms(text):
    with pytest.raises(UserError) as err:
        parse_duration(text)
    assert "48h, 7d, 2w, 3mo, 1y" in str(err.value)
    assert err.value.exit_code == 1
    assert "\n" not in str(err.value)


def test_zero_duration_is_refused():
    with pytest.raises(UserError, match="zero"):
        parse_duration("0d")


def test_months_follow_the_calendar():
    assert Duration(months=1).add_to(dt.datetime(2025, 1, 31, 9)) == dt.datetime(2025, 2, 28, 9)
    assert Duration(months=1).add_to(dt.date(2024, 1, 31)) == dt.date(2024, 2, 29)
    assert Duration(years=1).add_to(dt.date(2024, 2, 29)) == dt.date(2025, 2, 28)


def test_to_timedelta_depends_on_the_anchor_for_calendar_units():
    one_month = Duration(months=1)
    assert one_month.to_timedelta(dt.datetime(2025, 2, 1)) == dt.timedelta(days=28)
    assert one_month.to_timedelta(dt.datetime(2025, 3, 1)) == dt.timedelta(days=31)
    assert Duration(hours=48).to_timedelta(dt.datetime(2025, 3, 1)) == dt.timedelta(days=2)


def test_subtract_from_looks_back():
    assert Duration(days=7).subtract_from(TODAY) == dt.date(2026, 11, 15)
    assert Duration(months=1).subtract_from(dt.date(2026, 3, 31)) == dt.date(2026, 2, 28)


def test_clock_units_on_a_date_give_a_datetime():
    assert Duration(hours=12).add_to(dt.date(2026, 1, 1)) == dt.datetime(2026, 1, 1, 12)


@pytest.mark.parametrize("text, expected", [
    ("2023-06-15", dt.date(2023, 6, 15)),
    ("2023-6-15", dt.date(2023, 6, 15)),
    ("2023/06/15", dt.date(2023, 6, 15)),
    ("March 3, 2025", dt.date(2025, 3, 3)),
    ("3 March 2025", dt.date(2025, 3, 3)),
    ("12 November 2024", dt.date(2024, 11, 12)),
    ("Nov 12 2024", dt.date(2024, 11, 12)),
    ("the 3rd of March 2025", dt.date(2025, 3, 3)),
    ("on 2023-06-15", dt.date(2023, 6, 15)),
])
def test_absolute_dates(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text, expected", [
    ("today", TODAY),
    ("yesterday", dt.date(2026, 11, 21)),
    ("the day before yesterday", dt.date(2026, 11, 20)),
    ("last monday", dt.date(2026, 11, 16)),
    ("last sunday", dt.date(2026, 11, 15)),  # strictly before today, which is a Sunday
    ("3 days ago", dt.date(2026, 11, 19)),
    ("a week ago", dt.date(2026, 11, 15)),
    ("two months ago", dt.date(2026, 9, 22)),
    ("last month", dt.date(2026, 10, 22)),
])
def test_relative_dates_resolve_against_today(text, expected):
    assert parse_date(text, TODAY) == expected


def test_a_day_without_a_year_is_the_most_recent_one():
    assert parse_date("June 15", TODAY) == dt.date(2026, 6, 15)
    assert parse_date("December 24", TODAY) == dt.date(2025, 12, 24)


def test_lsfs_today_overrides_today():
    today = config.load(None, env={"LSFS_TODAY": "2024-03-01"}).today_date()
    assert parse_date("yesterday", today) == dt.date(2024, 2, 29)


def test_a_date_that_does_not_exist_is_refused():
    with pytest.raises(UserError, match="2023-02-30 does not exist"):
        parse_date("2023-02-30", TODAY)


@pytest.mark.parametrize("text", ["someday", "2023-13", "next tuesday", "", "March"])
def test_malformed_dates_name_the_accepted_forms(text):
    with pytest.raises(UserError, match="2023-06-15"):
        parse_date(text, TODAY)


def test_search_duration_finds_the_span_in_a_sentence():
    duration, (start, end) = search_duration("share cnn.md for 3 months please")
    assert duration.iso == "P3M"
    assert "share cnn.md for 3 months please"[start:end] == "3 months"


def test_search_date_prefers_the_full_date_over_a_partial_one():
    found, _ = search_date("roll back x to March 3, 2025 please", TODAY)
    assert found == dt.date(2025, 3, 3)
