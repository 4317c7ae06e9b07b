"""Working-day calendar engine (lịch ngày làm việc) for one-stop deadlines.

Pure Python: no Django imports, so the demo generator, the queue benchmarks and the
Django apps can all use it.

Rules implemented (research note ``one-stop-rules.md`` §3.1, §3.2, §3.3, §5.3):

* **Working days** are Monday–Friday minus the public holidays of Labour Code 2019
  Art. 112 (Tết Dương lịch, Tết Âm lịch, Giỗ Tổ Hùng Vương 10/3 âm lịch, 30/4, 1/5,
  Quốc khánh 2/9 plus an adjacent day), including the substituted days off (nghỉ bù)
  and the Government's announced swaps (a weekday off in exchange for a make-up
  working Saturday). The national data come from the ``holidays`` package
  (``holidays.VN``, category ``public``, names in Vietnamese). That package has no
  separate "workday" category for Vietnam; the make-up working Saturdays are exposed
  as ``weekend_workdays`` and are used here as working days.
* **Local overrides** (a province's own decision): ``extra_days_off`` and
  ``extra_working_days`` take precedence over the national calendar.
* **Working hours** are per agency: a tuple of ``(time, time)`` periods, by default
  07:30–11:30 and 13:30–17:00. One working day is the total length of those periods
  (default 7.5 h = 450 min). Note: some internal procedures convert at 8 h per day
  (Hà Nội: 30 days = 240 h, research note §3.1); an agency whose periods total 8 h
  (e.g. 07:00–11:30 + 13:30–17:00) gets exactly that.
* **Deadlines are kept to the minute** (Mẫu 01 records "…giờ…phút, ngày…", §3.1).
  Seconds of the start are dropped (floored) before adding.
* **Time zone**: Asia/Ho_Chi_Minh. Aware datetimes are converted to VN time; naive ones
  are treated as VN local time; results are aware datetimes in Asia/Ho_Chi_Minh.
* **Pausing** (waiting for the applicant to supplement the dossier or to pay financial
  obligations does not count, §3.3–3.4): the caller uses :meth:`working_minutes_between`
  to get the working time consumed before the pause and adds the remainder back with
  :meth:`add_working_minutes` at resume.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_CALENDAR",
    "DEFAULT_PERIODS",
    "REASON_LOCAL_DAY_OFF",
    "REASON_SATURDAY",
    "REASON_SUNDAY",
    "VN_TZ",
    "WorkCalendar",
    "national_days_off",
    "national_weekend_workdays",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17, 0)),
)

REASON_SATURDAY = "Thứ Bảy"
REASON_SUNDAY = "Chủ nhật"
REASON_LOCAL_DAY_OFF = "Ngày nghỉ theo quyết định của địa phương"

_MINUTES_PER_DAY = 24 * 60
# time objects for every minute of the day, so building a result is one lookup.
_TIMES = tuple(time(m // 60, m % 60) for m in range(_MINUTES_PER_DAY))


# --------------------------------------------------------------------------------------
# National calendar (cached per year)
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _national_year(year: int) -> tuple[Mapping[date, str], frozenset[date]]:
    """Days off and make-up working weekend days of ``year`` from ``holidays.VN``.

    A swap announced by the Government may pair a day off in one year with a working
    Saturday in the previous one (e.g. 02/01/2015 off for 27/12/2014 worked), so the
    package is asked for the neighbouring years too and the result filtered to ``year``.
    """
    vn = holidays.country_holidays(
        "VN", years=range(year - 1, year + 2), categories=("public",), language="vi"
    )
    days_off = {d: name for d, name in vn.items() if d.year == year}
    workdays = frozenset(d for d in vn.weekend_workdays if d.year == year)
    return MappingProxyType(days_off), workdays


def national_days_off(year: int) -> Mapping[date, str]:
    """National days off of ``year`` (public holidays, nghỉ bù, swapped days) → name (vi)."""
    return _national_year(year)[0]


def national_weekend_workdays(year: int) -> frozenset[date]:
    """Saturdays/Sundays of ``year`` that the Government made working days (make-up days)."""
    return _national_year(year)[1]


# --------------------------------------------------------------------------------------
# Per-calendar, per-year day index
# --------------------------------------------------------------------------------------


class _YearIndex:
    """Working days of one year for one calendar, as ordinals.

    ``before[i]`` is the number of working days in the year before day ``first + i``, so
    the working day at or after an ordinal and the k-th working day after a working day
    are both O(1) list look-ups (no day-by-day loop).
    """

    __slots__ = ("first", "working", "before", "days")

    def __init__(self, first: int, working: bytes, before: tuple[int, ...], days: tuple[int, ...]):
        self.first = first
        self.working = working
        self.before = before
        self.days = days


@functools.lru_cache(maxsize=64)
def _period_tables(spans: tuple[tuple[int, int], ...]):
    """Per-minute look-up tables for a set of working periods (minutes of the day)."""
    # (start, end, working minutes before this period) for each period.
    pcs = []
    cum = 0
    for s, e in spans:
        pcs.append((s, e, cum))
        cum += e - s
    day_minutes = cum
    # worked[m]: working minutes of a working day elapsed at minute-of-day m (0..1440).
    worked = []
    for m in range(_MINUTES_PER_DAY + 1):
        worked.append(sum(min(m, e) - s for s, e, _c in pcs if m > s))
    # end_time[off]: the earliest wall-clock time at which `off` working minutes of the day
    # have elapsed, so a deadline landing on a period end stays there (11:30, 17:00).
    # start_time[off]: where work resumes after `off` minutes (off 240 → 13:30, not 11:30).
    end_time = []
    start_time = []
    for off in range(day_minutes + 1):
        for s, e, c in pcs:
            if off <= c + (e - s):
                end_time.append(_TIMES[s + off - c])
                break
        for s, e, c in pcs:
            if off < c + (e - s):
                start_time.append(_TIMES[s + off - c])
                break
    return tuple(pcs), day_minutes, tuple(worked), tuple(end_time), tuple(start_time)


@functools.lru_cache(maxsize=1024)
def _build_year(off_ords: frozenset[int], work_ords: frozenset[int], year: int) -> _YearIndex:
    """Day index of ``year`` for the local overrides ``off_ords`` / ``work_ords``.

    Shared between equal calendars, so building a calendar per request stays cheap.
    """
    days_off, weekend_work = _national_year(year)
    first = date(year, 1, 1).toordinal()
    n = date(year + 1, 1, 1).toordinal() - first
    national_off = {d.toordinal() for d in days_off}
    weekend_ords = {d.toordinal() for d in weekend_work}
    working = bytearray(n)
    before = [0] * (n + 1)
    days: list[int] = []
    for i in range(n):
        o = first + i
        before[i] = len(days)
        if o in work_ords:
            ok = True
        elif o in off_ords or o in national_off:
            ok = False
        else:
            # date.weekday() == (ordinal + 6) % 7; 5 = Saturday, 6 = Sunday.
            ok = (o + 6) % 7 < 5 or o in weekend_ords
        if ok:
            working[i] = 1
            days.append(o)
    before[n] = len(days)
    return _YearIndex(first, bytes(working), tuple(before), tuple(days))


def _to_minutes(t: time) -> int:
    if t.second or t.microsecond:
        raise ValueError(f"working periods are kept to the minute, got {t!r}")
    return t.hour * 60 + t.minute


def _as_dates(values: Iterable[date], field_name: str) -> frozenset[date]:
    out = set()
    for v in values:
        if isinstance(v, datetime):
            raise TypeError(f"{field_name} must contain dates, not datetimes: {v!r}")
        if not isinstance(v, date):
            raise TypeError(f"{field_name} must contain dates: {v!r}")
        out.add(v)
    return frozenset(out)


# The calendar's horizon. Dates the platform accepts lie inside it (422 otherwise, see
# ``in_horizon``); a date stored outside it anyway (an old import, a row edited by hand,
# year 9999) is counted as the nearest edge of the horizon, so that no page or job that
# computes with it can fail (OverflowError / "year 10000 is out of range").
FIRST_YEAR = 2000
LAST_YEAR = 2100
_FIRST_MOMENT = datetime(FIRST_YEAR, 1, 1, 0, 0)
_LAST_MOMENT = datetime(LAST_YEAR, 12, 31, 23, 59)


def in_horizon(d: date) -> bool:
    """Whether ``d`` (a date or datetime) is within the years the calendar knows."""
    return FIRST_YEAR <= d.year <= LAST_YEAR


def _to_local(dt: datetime) -> datetime:
    """VN wall-clock view of ``dt`` (aware → converted; naive → taken as VN local), held
    inside the calendar's horizon."""
    if dt.tzinfo is not None:
        if dt.year >= 9999 or dt.year <= 1:  # astimezone could leave datetime's range
            dt = dt.replace(tzinfo=None)
        else:
            dt = dt.astimezone(VN_TZ)
    if dt.year > LAST_YEAR:
        return _LAST_MOMENT.replace(tzinfo=dt.tzinfo)
    if dt.year < FIRST_YEAR:
        return _FIRST_MOMENT.replace(tzinfo=dt.tzinfo)
    return dt


# --------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkCalendar:
    """An agency's working calendar: national holidays, local overrides, working periods."""

    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS

    # ---- construction ----------------------------------------------------------------

    def __post_init__(self) -> None:
        off = _as_dates(self.extra_days_off, "extra_days_off")
        work = _as_dates(self.extra_working_days, "extra_working_days")
        clash = off & work
        if clash:
            raise ValueError(
                "a day cannot be both an extra day off and an extra working day: "
                + ", ".join(d.isoformat() for d in sorted(clash))
            )
        periods = tuple((s, e) for s, e in self.periods)
        if not periods:
            raise ValueError("at least one working period is required")
        spans = [(_to_minutes(s), _to_minutes(e)) for s, e in periods]
        prev_end = -1
        for s, e in spans:
            if not s < e:
                raise ValueError(f"a working period must start before it ends: {periods}")
            if s < prev_end:
                raise ValueError(f"working periods must be sorted and not overlap: {periods}")
            prev_end = e

        pcs, day_minutes, worked, end_time, start_time = _period_tables(tuple(spans))

        setattr_ = object.__setattr__
        setattr_(self, "extra_days_off", off)
        setattr_(self, "extra_working_days", work)
        setattr_(self, "periods", periods)
        setattr_(self, "_pcs", tuple(pcs))
        setattr_(self, "_dm", day_minutes)
        setattr_(self, "_worked", tuple(worked))
        setattr_(self, "_end_time", tuple(end_time))
        setattr_(self, "_start_time", tuple(start_time))
        setattr_(self, "_off_ords", frozenset(d.toordinal() for d in off))
        setattr_(self, "_work_ords", frozenset(d.toordinal() for d in work))
        setattr_(self, "_years", {})

    def _year(self, year: int) -> _YearIndex:
        idx = self._years.get(year)
        if idx is None:
            idx = _build_year(self._off_ords, self._work_ords, year)
            self._years[year] = idx
        return idx

    # ---- day level -------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Monday–Friday, not a national day off, or a make-up working day; local wins."""
        if isinstance(d, datetime):
            d = _to_local(d).date()
        if not in_horizon(d):  # no holiday table that far: Monday–Friday
            return d.weekday() < 5
        idx = self._year(d.year)
        return bool(idx.working[d.toordinal() - idx.first])

    def day_off_reason(self, d: date) -> str | None:
        """Why ``d`` is not a working day, in Vietnamese; ``None`` for a working day.

        A holiday falling on a weekend is named by the holiday ("Tết Nguyên Đán"), not by
        the weekday.
        """
        if isinstance(d, datetime):
            d = _to_local(d).date()
        if self.is_working_day(d):
            return None
        name = national_days_off(d.year).get(d) if in_horizon(d) else None
        if name:
            return name
        if d in self.extra_days_off:
            return REASON_LOCAL_DAY_OFF
        wd = d.weekday()
        if wd == 5:
            return REASON_SATURDAY
        if wd == 6:
            return REASON_SUNDAY
        return REASON_LOCAL_DAY_OFF  # pragma: no cover - every other case is handled above

    @property
    def day_minutes(self) -> int:
        """Length of one working day in minutes (sum of the periods; default 450)."""
        return self._dm

    # ---- ordinal helpers -------------------------------------------------------------

    def _working_on_or_after(self, o: int, year: int) -> tuple[int, int]:
        """(ordinal, year) of the first working day at or after ordinal ``o`` (in ``year``)."""
        idx = self._year(year)
        r = idx.before[o - idx.first]
        while r >= len(idx.days):
            if year > LAST_YEAR:  # past the horizon: its last working day
                return idx.days[-1], year
            year += 1
            idx = self._year(year)
            r = 0
        return idx.days[r], year

    def _advance(self, o: int, year: int, k: int) -> int:
        """Ordinal of the ``k``-th working day after working day ``o`` (``k`` ≥ 0)."""
        idx = self._year(year)
        t = idx.before[o - idx.first] + k
        n = len(idx.days)
        while t >= n:
            if year > LAST_YEAR:  # past the horizon: its last working day
                return idx.days[-1]
            t -= n
            year += 1
            idx = self._year(year)
            n = len(idx.days)
        return idx.days[t]

    def _clock_start(self, local: datetime) -> tuple[int, int, int, bool]:
        """Normalise a VN wall-clock moment to the next working moment.

        Returns ``(ordinal, year, offset, inside)`` where ``offset`` is the number of
        working minutes of that day already elapsed (0 ≤ offset < day_minutes) and
        ``inside`` tells whether ``local`` itself is inside a working period.

        Legal basis for rolling forward (research note §3.2): Decree 45/2020/NĐ-CP Art. 11
        (the portal notifies the "thời điểm tiếp nhận chính thức", which may differ from
        the submission time); sector rules implementing it: TT 87/2021/TT-BTC Art. 10
        (State Treasury: dossiers sent outside working hours, on rest days, holidays or
        Tết are received on the next working day), QĐ 2988/QĐ-TCHQ (customs: receipt
        time = the first working hour of the next working day), NĐ 105/2025 Art. 10
        (PCCC, 08 working hours to notify receipt), civil status (after 15:00 counts
        from the next working day, sector-specific, not applied here). The exact article
        of Decree 118/2025/NĐ-CP on out-of-hours online submissions was NOT retrieved.
        """
        o = local.toordinal()
        year = local.year
        m = local.hour * 60 + local.minute
        idx = self._year(year)
        if idx.working[o - idx.first]:
            for s, e, c in self._pcs:
                if m < e:
                    if m >= s:
                        return o, year, c + m - s, True
                    return o, year, c, False
        o += 1
        if o - idx.first >= len(idx.working):
            year += 1
        o, year = self._working_on_or_after(o, year)
        return o, year, 0, False

    def _position(self, local: datetime) -> tuple[int, int, int]:
        """(ordinal, year, working minutes elapsed that day; 0 on a non-working day)."""
        o = local.toordinal()
        year = local.year
        idx = self._year(year)
        if idx.working[o - idx.first]:
            return o, year, self._worked[local.hour * 60 + local.minute]
        return o, year, 0

    def _rank_diff(self, oa: int, ya: int, ob: int, yb: int) -> int:
        """Working days in [oa, ob) — i.e. rank(ob) − rank(oa); oa ≤ ob."""
        ia = self._year(ya)
        ib = self._year(yb)
        diff = ib.before[ob - ib.first] - ia.before[oa - ia.first]
        for y in range(ya, yb):
            diff += len(self._year(y).days)
        return diff

    # ---- moments ---------------------------------------------------------------------

    def next_working_moment(self, at: datetime) -> datetime:
        """``at`` itself (in VN time) if inside a working period, else the next period start.

        Evening, night, weekend, holiday and lunch break all roll forward: 17:00 → 07:30
        of the next working day, 11:30–13:29 → 13:30.
        """
        local = _to_local(at)
        o, _year, off, inside = self._clock_start(local)
        if inside:
            return local if local.tzinfo is not None else local.replace(tzinfo=VN_TZ)
        return datetime.combine(date.fromordinal(o), self._start_time[off], VN_TZ)

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """``start`` + ``minutes`` working minutes, counted from the next working moment.

        Whole days are skipped arithmetically (O(1) per year crossed). A result landing
        exactly on the end of a period stays there (11:30, 17:00).
        """
        minutes = int(minutes)
        if minutes < 0:
            raise ValueError("minutes must be >= 0")
        o, year, off, _inside = self._clock_start(_to_local(start))
        if minutes == 0:
            return datetime.combine(date.fromordinal(o), self._start_time[off], VN_TZ)
        dm = self._dm
        k, rem = divmod(off + minutes, dm)
        if rem == 0:
            k -= 1
            rem = dm
        if k:
            o = self._advance(o, year, k)
        return datetime.combine(date.fromordinal(o), self._end_time[rem], VN_TZ)

    def minutes_for_days(self, days: float | Decimal | int) -> int:
        """``days`` working days as whole working minutes (half-up rounding)."""
        dm = self._dm
        if isinstance(days, int) and not isinstance(days, bool):
            minutes = days * dm
        elif isinstance(days, float) and (days * dm).is_integer():
            minutes = int(days * dm)
        else:
            d = days if isinstance(days, Decimal) else Decimal(str(days))
            minutes = int((d * dm).to_integral_value(rounding=ROUND_HALF_UP))
        if minutes < 0:
            raise ValueError("days must be >= 0")
        return minutes

    def add_working_days(self, start: datetime, days: float | Decimal) -> datetime:
        """``start`` + ``days`` × day_minutes working minutes (fractions allowed: 0.25, 1.5)."""
        return self.add_working_minutes(start, self.minutes_for_days(days))

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Working minutes in [a, b) (both floored to the minute); 0 if ``b`` <= ``a``."""
        oa, ya, wa = self._position(_to_local(a))
        ob, yb, wb = self._position(_to_local(b))
        if ob < oa:
            return 0
        if ob == oa:
            return max(0, wb - wa)
        return max(0, self._rank_diff(oa, ya, ob, yb) * self._dm + wb - wa)

    # ---- reporting -------------------------------------------------------------------

    def explain(self, start: datetime, days: float | Decimal) -> list[tuple[date, str]]:
        """The non-working days skipped between the clock start and the due date.

        Each entry is ``(date, reason)``, reason as in :meth:`day_off_reason`; days before
        the clock start (e.g. the weekend an online dossier waited over) are not listed.
        """
        clock_start = self.next_working_moment(start)
        due = self.add_working_days(start, days)
        out = []
        d = clock_start.date() + timedelta(days=1)
        end = due.date()
        while d < end:
            reason = self.day_off_reason(d)
            if reason is not None:
                out.append((d, reason))
            d += timedelta(days=1)
        return out

    def working_days_late(self, due: datetime, end: datetime) -> int:
        """Whole working days by which ``end`` is after ``due`` (0 if not late).

        Floor of the working minutes past ``due`` divided by :attr:`day_minutes`, so a
        dossier finished 2 working hours late is late by 0 whole days (``end > due`` still
        tells it is late).
        """
        return self.working_minutes_between(due, end) // self._dm


DEFAULT_CALENDAR = WorkCalendar()
