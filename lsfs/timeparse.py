"""Durations and dates as people type them, for the CLI and the sentence parser.

Durations (``parse_duration``) accept three families:

* CLI short forms: ``48h``, ``7d``, ``2w``, ``3mo``, ``1y``, ``90min``, ``30s`` and runs of them
  (``1d12h``). ``mo`` is months and ``min`` minutes; a bare ``m`` is refused as ambiguous
  rather than guessed, since "3m" means months to some people and minutes to others.
* ISO 8601: ``P3M``, ``P1D``, ``PT48H``, ``P1Y2M``, ``P2W``.
* English: "3 months", "48 hours", "a week", "for a year", "two days", "half a year".

A ``Duration`` keeps calendar units (years, months) apart from clock units, so adding
"1 month" to January 31 lands on the last day of February instead of drifting by 30 days.
Weeks are folded into days, so "a week" is canonically ``P7D``.

Dates (``parse_date``) accept ISO (``2023-06-15``, ``2023-6-15``, ``2023/06/15``), month names
("March 3, 2025", "3 March 2025", "Nov 12 2024", "the 3rd of March"), and relative words
("today", "yesterday", "last monday", "3 days ago", "a week ago").

This module sits in the base layer: it imports nothing of lsfs but ``lsfs.errors``.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

from lsfs.errors import UserError

__all__ = [
    "Duration",
    "parse_duration",
    "parse_date",
    "search_duration",
    "search_date",
    "word_to_int",
    "NUMBER_WORDS",
    "NUMBER_RE",
    "COUNT_RE",
    "MONTHS",
    "WEEKDAYS",
]

DURATION_FORMS = "48h, 7d, 2w, 3mo, 1y, 90min, P3M, PT48H, '3 months', 'a week' or 'never'"
DATE_FORMS = ("2023-06-15, 'March 3, 2025', '12 November 2024', 'yesterday', 'last monday' or "
              "'3 days ago'")

# Counting words people type instead of digits. "a"/"an" mean one ("a week"); "a couple" two;
# "a few" three; "several"/"a handful" five: fixed, documented guesses so a plan is repeatable.
NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "a hundred": 100,
    "a": 1, "an": 1, "single": 1, "a single": 1, "one single": 1,
    "a couple": 2, "a couple of": 2, "couple": 2, "couple of": 2, "a pair of": 2, "both": 2,
    "a few": 3, "few": 3, "several": 5, "a handful of": 5, "a handful": 5,
    "a dozen": 12, "dozen": 12, "half a dozen": 6,
}
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
for _t in _TENS:
    for _u in _UNITS:
        NUMBER_WORDS[f"{_t}-{_u}"] = NUMBER_WORDS[_t] + NUMBER_WORDS[_u]
        NUMBER_WORDS[f"{_t} {_u}"] = NUMBER_WORDS[_t] + NUMBER_WORDS[_u]

# The same words as patterns, built from parts rather than listed one by one: a regex with
# 170 alternatives costs ~100 ms to compile in every pattern that embeds it. Multi-word forms
# come first so "a couple of" wins over "a", and tens/teens before units ("sixty" not "six").
_UNITS_RE = "one|two|three|four|five|six|seven|eight|nine"
_TEENS_RE = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS_RE = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_MULTI_RE = (r"half\s+a\s+dozen|a\s+couple(?:\s+of)?|couple(?:\s+of)?|a\s+pair\s+of|a\s+few|"
             r"a\s+handful(?:\s+of)?|a\s+dozen|a\s+single|one\s+single|a\s+hundred")
# counts a user gives ("two", "a few", "twenty-one"); no bare "a"
COUNT_RE = (rf"(?:{_MULTI_RE}|(?:{_TENS_RE})(?:[\s-](?:{_UNITS_RE}))?|{_TEENS_RE}|{_UNITS_RE}|"
            rf"hundred|few|several|dozen)")
# also "a week", "an hour", "zero"
NUMBER_RE = rf"(?:{COUNT_RE}|zero|single|both|an?)"

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
    "fri": 4, "sat": 5, "sun": 6,
}


def word_to_int(text: str) -> int | None:
    """``"7"`` -> 7, ``"seven"`` -> 7, ``"a couple of"`` -> 2; ``None`` if it is no count."""
    text = " ".join(text.lower().split())
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


# ---------------------------------------------------------------- durations

# canonical unit -> (Duration field, multiplier)
_UNIT_FIELD = {
    "year": ("years", 1), "month": ("months", 1), "week": ("days", 7), "day": ("days", 1),
    "hour": ("hours", 1), "minute": ("minutes", 1), "second": ("seconds", 1),
    "fortnight": ("days", 14), "decade": ("years", 10),
}
# English spellings -> canonical unit
_UNIT_WORDS = {
    "years": "year", "year": "year", "yrs": "year", "yr": "year",
    "months": "month", "month": "month", "mos": "month", "mo": "month",
    "weeks": "week", "week": "week", "wks": "week", "wk": "week",
    "days": "day", "day": "day",
    "hours": "hour", "hour": "hour", "hrs": "hour", "hr": "hour",
    "minutes": "minute", "minute": "minute", "mins": "minute", "min": "minute",
    "seconds": "second", "second": "second", "secs": "second", "sec": "second",
    "fortnights": "fortnight", "fortnight": "fortnight", "decades": "decade", "decade": "decade",
}
_UNIT_RE = "|".join(sorted(_UNIT_WORDS, key=len, reverse=True))
# CLI suffixes; "m" is deliberately absent (ambiguous).
_SHORT_UNITS = {"y": "year", "mo": "month", "w": "week", "d": "day", "h": "hour",
                "min": "minute", "s": "second"}

_ISO_RE = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?",
    re.IGNORECASE,
)
_SHORT_RE = re.compile(r"(?:\d+\s*(?:y|mo|w|d|h|min|s))+", re.IGNORECASE)
_SHORT_PART = re.compile(r"(\d+)\s*(y|mo|w|d|h|min|s)", re.IGNORECASE)
# "3 months", "a week", "two and a half days" is out of scope; "half a year"/"half an hour" in.
_ENGLISH_RE = re.compile(
    rf"\b(?:(?P<n>\d+|{NUMBER_RE})[\s-]*|(?P<half>half an?|half-an?)\s+)?(?P<unit>{_UNIT_RE})\b",
    re.IGNORECASE,
)
NEVER_WORDS = ("never", "no expiry", "no expiration", "forever", "none", "permanent",
               "permanently", "indefinitely", "no limit", "unlimited", "infinite")


@dataclass(frozen=True)
class Duration:
    """A span of time with calendar units kept apart from clock units."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @property
    def iso(self) -> str:
        """Canonical ISO 8601, e.g. ``P3M``, ``PT48H``, ``P7D``, ``P1Y2M``."""
        date = "".join(f"{v}{u}" for v, u in ((self.years, "Y"), (self.months, "M"),
                                             (self.days, "D")) if v)
        time = "".join(f"{v}{u}" for v, u in ((self.hours, "H"), (self.minutes, "M"),
                                             (self.seconds, "S")) if v)
        if not date and not time:
            return "PT0S"
        return "P" + date + ("T" + time if time else "")

    def add_to(self, moment: _dt.datetime | _dt.date) -> _dt.datetime | _dt.date:
        """``moment`` plus this span; months and years follow the calendar (Jan 31 + 1 month
        = Feb 28/29). A ``date`` stays a ``date`` unless clock units are involved."""
        return _shift(moment, self, +1)

    def subtract_from(self, moment: _dt.datetime | _dt.date) -> _dt.datetime | _dt.date:
        """``moment`` minus this span, calendar-aware ("changes in the last month")."""
        return _shift(moment, self, -1)

    def to_timedelta(self, anchor: _dt.datetime) -> _dt.timedelta:
        """The exact length of this span when it starts at ``anchor``."""
        return self.add_to(anchor) - anchor

    def __str__(self) -> str:
        return self.iso


def _shift(moment, d: Duration, sign: int):
    total_months = moment.month - 1 + sign * (d.years * 12 + d.months)
    year, month = moment.year + total_months // 12, total_months % 12 + 1
    if not 1 <= year <= 9999:
        raise UserError(f"duration {d.iso} moves the date out of range")
    day = min(moment.day, calendar.monthrange(year, month)[1])
    moved = moment.replace(year=year, month=month, day=day)
    clock = _dt.timedelta(days=d.days, hours=d.hours, minutes=d.minutes, seconds=d.seconds)
    if not isinstance(moment, _dt.datetime) and (d.hours or d.minutes or d.seconds):
        moved = _dt.datetime.combine(moved, _dt.time())
    return moved + sign * clock


def _from_units(pairs) -> Duration:
    values = dict.fromkeys(("years", "months", "days", "hours", "minutes", "seconds"), 0)
    for amount, unit in pairs:
        field, mult = _UNIT_FIELD[unit]
        values[field] += amount * mult
    return Duration(**values)


def _bad_duration(text: str) -> UserError:
    return UserError(f"cannot read {text!r} as a duration; use {DURATION_FORMS}")


def parse_duration(text: str) -> Duration | None:
    """Read a duration; ``None`` means "never" (no expiry).

    Raises ``UserError`` naming the accepted forms when ``text`` is none of them.
    """
    raw = text
    text = " ".join(str(text).strip().lower().split())
    text = re.sub(r"^(?:for|in|within|during|over|after|lasting|valid for|expires? in|"
                  r"the (?:last|past|next)|last|past|next)\s+", "", text).strip(" .")
    if not text:
        raise _bad_duration(raw)
    if text in NEVER_WORDS:
        return None
    if re.fullmatch(r"\d+\s*m", text):
        raise UserError(f"{raw!r} is ambiguous; write {text[:-1].strip()}mo for months or "
                        f"{text[:-1].strip()}min for minutes")
    iso = _ISO_RE.fullmatch(text.upper()) if text.startswith("p") else None
    if iso and any(iso.groupdict().values()) and not text.upper().endswith("T"):
        parts = {k: int(v) for k, v in iso.groupdict().items() if v}
        weeks = parts.pop("weeks", 0)
        parts["days"] = parts.get("days", 0) + 7 * weeks
        return _nonzero(Duration(**parts), raw)
    if _SHORT_RE.fullmatch(text):
        pairs = [(int(n), _SHORT_UNITS[u.lower()]) for n, u in _SHORT_PART.findall(text)]
        return _nonzero(_from_units(pairs), raw)
    found = search_duration(text)
    if found is not None:
        duration, (start, end) = found
        leftover = (text[:start] + text[end:]).strip(" ,.")
        if not leftover:
            if duration is None:
                return None
            return _nonzero(duration, raw)
    raise _bad_duration(raw)


def _nonzero(d: Duration, raw: str) -> Duration:
    if d.iso == "PT0S":
        raise UserError(f"duration {raw!r} is zero; use 'never' for no expiry")
    return d


def search_duration(text: str) -> tuple[Duration | None, tuple[int, int]] | None:
    """Find the first duration inside a sentence: ``(duration, (start, end))`` or ``None``.

    Understands English ("3 months", "a week", "48 hours and 30 minutes"), CLI forms ("48h")
    and ISO 8601 words ("P3M"). A bare unit counts as one ("for a year", "in the last day").
    """
    best = None
    for m in re.finditer(r"\b(?:P(?:\d+[YMWD])+(?:T(?:\d+[HMS])+)?|PT(?:\d+[HMS])+)\b", text,
                         re.IGNORECASE):
        best = (parse_duration(m.group(0)), m.span())
        break
    for m in re.finditer(r"\b(?:\d+(?:y|mo|w|d|h|min|s))+\b", text, re.IGNORECASE):
        if best is None or m.start() < best[1][0]:
            best = (parse_duration(m.group(0)), m.span())
        break
    pairs, span = [], None
    for m in _ENGLISH_RE.finditer(text):
        # Join "1 hour and 30 minutes"; otherwise take the first run only.
        if span is not None and not re.fullmatch(r"[\s,]*(?:and)?[\s,]*", text[span[1]:m.start()]):
            break
        if m.group("half"):
            amount_unit = _half(_UNIT_WORDS[m.group("unit").lower()])
            if amount_unit is None:
                break
            pairs.append(amount_unit)
        else:
            n = m.group("n")
            amount = word_to_int(n) if n else 1
            if amount is None:
                break
            pairs.append((amount, _UNIT_WORDS[m.group("unit").lower()]))
        span = (m.start() if span is None else span[0], m.end())
    if span and (best is None or span[0] < best[1][0]):
        best = (_from_units(pairs), span)
    return best


def _half(unit: str):
    return {"year": (6, "month"), "day": (12, "hour"), "hour": (30, "minute"),
            "minute": (30, "second")}.get(unit)


# ---------------------------------------------------------------- dates

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY_RE = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_DATE_PATTERNS = [
    ("iso", rf"\b{_YEAR}[-/.](?P<month>\d{{1,2}})[-/.]{_DAY}\b"),
    # "March 3, 2025", "Nov 12 2024", "March 3rd"
    ("mdy", rf"\b(?P<mname>{_MONTH_RE})\.?\s+{_DAY}(?:\s*,\s*|\s+){_YEAR}\b"),
    ("dmy", rf"\b(?:the\s+)?{_DAY}(?:\s+of)?\s+(?P<mname>{_MONTH_RE})\.?,?\s+{_YEAR}\b"),
    ("md", rf"\b(?P<mname>{_MONTH_RE})\.?\s+{_DAY}\b(?!\s*:)"),
    ("dm", rf"\b(?:the\s+)?{_DAY}(?:\s+of)?\s+(?P<mname>{_MONTH_RE})\b"),
    ("today", r"\b(?:today|tonight|this morning)\b"),
    ("dbyesterday", r"\b(?:the\s+)?day\s+before\s+yesterday\b"),
    ("yesterday", r"\byesterday\b"),
    ("ago", rf"\b(?P<n>\d+|{NUMBER_RE})[\s-]+(?P<unit>{_UNIT_RE})\s+ago\b"),
    ("lastwd", rf"\b(?:last|previous|past|this past|on)\s+(?P<wd>{_WEEKDAY_RE})\b"),
    ("lastunit", r"\b(?:last|previous)\s+(?P<unit>week|month|year)\b"),
    # A bare weekday only in full: "sun", "sat", "wed" are ordinary words too.
    ("wd", r"\b(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"),
]
_DATE_RES = [(kind, re.compile(p, re.IGNORECASE)) for kind, p in _DATE_PATTERNS]


def _bad_date(text: str) -> UserError:
    return UserError(f"cannot read {text!r} as a date; use {DATE_FORMS}")


def _build(year: int, month: int, day: int, raw: str) -> _dt.date:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        raise UserError(f"{raw!r} is not a real date ({year:04d}-{month:02d}-{day:02d} "
                        f"does not exist)") from None


def _resolve(kind: str, m: re.Match, today: _dt.date, raw: str) -> _dt.date:
    g = m.groupdict()
    if kind == "iso":
        return _build(int(g["year"]), int(g["month"]), int(g["day"]), raw)
    if kind in ("mdy", "dmy"):
        return _build(int(g["year"]), MONTHS[g["mname"].lower()], int(g["day"]), raw)
    if kind in ("md", "dm"):
        # No year: the most recent such day, since LSFS only looks back in time.
        month, day = MONTHS[g["mname"].lower()], int(g["day"])
        year = today.year
        if (month, day) > (today.month, today.day):
            year -= 1
        return _build(year, month, day, raw)
    if kind == "today":
        return today
    if kind == "yesterday":
        return today - _dt.timedelta(days=1)
    if kind == "dbyesterday":
        return today - _dt.timedelta(days=2)
    if kind == "ago":
        amount = word_to_int(g["n"])
        unit = _UNIT_WORDS[g["unit"].lower()]
        if amount is None or unit in ("hour", "minute", "second"):
            return today if amount is not None else _fail(raw)
        return _from_units([(amount, unit)]).subtract_from(today)
    if kind == "lastunit":
        return _from_units([(1, g["unit"].lower())]).subtract_from(today)
    if kind in ("lastwd", "wd"):
        # Strictly before today: "last sunday" said on a Sunday means a week ago.
        back = (today.weekday() - WEEKDAYS[g["wd"].lower()]) % 7 or 7
        return today - _dt.timedelta(days=back)
    return _fail(raw)


def _fail(raw):
    raise _bad_date(raw)


def search_date(text: str, today: _dt.date) -> tuple[_dt.date, tuple[int, int]] | None:
    """Find the first date in a sentence: ``(date, (start, end))`` or ``None``.

    Patterns are tried most specific first, so "March 3, 2025" is not read as "March 3".
    """
    for kind, rx in _DATE_RES:
        m = rx.search(text)
        if m:
            if kind == "md" and re.match(r"\s*,?\s*\d{4}", text[m.end():]):
                continue
            return _resolve(kind, m, today, m.group(0)), m.span()
    return None


def parse_date(text: str, today: _dt.date) -> _dt.date:
    """Read one date; relative words resolve against ``today``.

    Raises ``UserError`` naming the accepted forms when ``text`` is not a date, and when
    it names a day that does not exist (2023-02-30).
    """
    clean = " ".join(str(text).strip().split()).strip(" .,")
    clean = re.sub(r"^(?:on|at|as of|from|since|to|until)\s+", "", clean, flags=re.IGNORECASE)
    if not clean:
        raise _bad_date(text)
    for kind, rx in _DATE_RES:
        m = rx.fullmatch(clean)
        if m:
            return _resolve(kind, m, today, text)
    raise _bad_date(text)
