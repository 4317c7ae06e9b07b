"""Tests for the working-day calendar engine (``chinhquyenso.core.workcalendar``).

Every expected value below is worked out by hand (in the docstring or a comment), never by
calling the code under test. Default working periods: 07:30–11:30 (240 min) and
13:30–17:00 (210 min), so one working day = 450 working minutes.

Calendar facts used (checked against a wall calendar):
  2026-03-02 Mon … 2026-03-06 Fri, 2026-03-07 Sat, 2026-03-08 Sun, 2026-03-09 Mon;
  2026-08-22 Sat, 2026-08-28 Fri, 2026-08-31 Mon, 2026-09-02 Wed;
  2027-01-01 Fri; 2027-02-03 Wed, 2027-02-06 Sat (mùng 1 Tết Đinh Mùi), 2027-02-17 Wed.
"""

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from chinhquyenso.core.workcalendar import (
    DEFAULT_CALENDAR,
    REASON_LOCAL_DAY_OFF,
    VN_TZ,
    WorkCalendar,
    national_days_off,
    national_weekend_workdays,
)

CAL = DEFAULT_CALENDAR


def vn(y, mo, d, h=0, mi=0):
    """An aware datetime in Asia/Ho_Chi_Minh."""
    return datetime(y, mo, d, h, mi, tzinfo=VN_TZ)


# ------------------------------------------------------------------------------------------
# Day length and the basic examples
# ------------------------------------------------------------------------------------------


def test_default_day_is_seven_and_a_half_hours():
    """Given the default periods 07:30–11:30 and 13:30–17:00 (research note §5.3),
    when asking for the day length, then it is 240 + 210 = 450 minutes."""
    assert CAL.day_minutes == 450


def test_wednesday_plus_five_working_days_is_next_wednesday_same_time():
    """Given a dossier received Wednesday 2026-03-04 09:00 with no holiday that week
    (processing time counted "kể từ ngày nhận đủ hồ sơ hợp lệ", research note §3.1),
    when adding 5 working days (5 × 450 = 2250 min),
    then the due date is the next Wednesday 2026-03-11 09:00.

    Wed 09:00→17:00 = 150 + 210 = 360; Thu, Fri, Mon, Tue = 4 × 450 = 1800 (2160 total);
    Wed 07:30 + 90 = 09:00 (2250)."""
    assert CAL.add_working_days(vn(2026, 3, 4, 9), 5) == vn(2026, 3, 11, 9)


def test_friday_afternoon_plus_one_day_skips_the_weekend():
    """Given Friday 2026-03-06 16:00, when adding 1 working day (450 min),
    then 60 min are used on Friday (16:00–17:00), Saturday and Sunday are skipped, and
    390 min on Monday: 240 (07:30–11:30) + 150 from 13:30 → Monday 2026-03-09 16:00."""
    assert CAL.add_working_days(vn(2026, 3, 6, 16), 1) == vn(2026, 3, 9, 16)


def test_evening_submission_counts_from_next_morning():
    """Given an online dossier submitted Tuesday 2026-03-10 19:45 (outside working hours),
    when the clock starts, then it starts at the next working period, Wednesday 07:30
    (Decree 45/2020 Art. 11 "thời điểm tiếp nhận chính thức"; TT 87/2021/TT-BTC Art. 10;
    QĐ 2988/QĐ-TCHQ — research note §3.2).
    And 1 working day from then ends exactly at Wednesday 17:00 (07:30 + 240 = 11:30,
    13:30 + 210 = 17:00): a deadline on the end of a period stays there, not Thursday 07:30."""
    submitted = vn(2026, 3, 10, 19, 45)
    assert CAL.next_working_moment(submitted) == vn(2026, 3, 11, 7, 30)
    assert CAL.add_working_days(submitted, 1) == vn(2026, 3, 11, 17, 0)


def test_night_and_weekend_submissions_roll_forward():
    """Given submissions before opening, at 17:00 sharp, and on a Saturday (research note
    §3.2), then the clock starts at 07:30 the same day, 07:30 the next working day, and
    Monday 07:30 respectively."""
    assert CAL.next_working_moment(vn(2026, 3, 4, 6, 10)) == vn(2026, 3, 4, 7, 30)
    assert CAL.next_working_moment(vn(2026, 3, 4, 17, 0)) == vn(2026, 3, 5, 7, 30)
    assert CAL.next_working_moment(vn(2026, 3, 6, 17, 0)) == vn(2026, 3, 9, 7, 30)
    assert CAL.next_working_moment(vn(2026, 3, 7, 10, 0)) == vn(2026, 3, 9, 7, 30)


def test_inside_working_hours_the_moment_is_kept():
    """Given a moment inside a working period, then next_working_moment returns it."""
    assert CAL.next_working_moment(vn(2026, 3, 4, 7, 30)) == vn(2026, 3, 4, 7, 30)
    assert CAL.next_working_moment(vn(2026, 3, 4, 16, 59)) == vn(2026, 3, 4, 16, 59)


def test_lunch_break_start_counts_from_1330():
    """Given a dossier received at 12:10 during the lunch break (11:30–13:30), then the
    clock starts at 13:30 (the TD reference code does the same, research note §3.2), and
    60 working minutes later it is 14:30 the same day."""
    assert CAL.next_working_moment(vn(2026, 3, 11, 12, 10)) == vn(2026, 3, 11, 13, 30)
    assert CAL.next_working_moment(vn(2026, 3, 11, 11, 30)) == vn(2026, 3, 11, 13, 30)
    assert CAL.add_working_minutes(vn(2026, 3, 11, 12, 10), 60) == vn(2026, 3, 11, 14, 30)


def test_deadline_on_the_end_of_the_morning_stays_at_1130():
    """Given 07:30 + 240 working minutes, then the due time is 11:30 (the end of the
    morning period), not 13:30; one more minute gives 13:31."""
    assert CAL.add_working_minutes(vn(2026, 3, 4, 7, 30), 240) == vn(2026, 3, 4, 11, 30)
    assert CAL.add_working_minutes(vn(2026, 3, 4, 7, 30), 241) == vn(2026, 3, 4, 13, 31)


def test_zero_minutes_returns_the_clock_start():
    """Given a lunch-break start and 0 minutes, then the result is the clock start 13:30."""
    assert CAL.add_working_minutes(vn(2026, 3, 4, 12, 0), 0) == vn(2026, 3, 4, 13, 30)


def test_negative_durations_are_rejected():
    with pytest.raises(ValueError):
        CAL.add_working_minutes(vn(2026, 3, 4, 9), -1)
    with pytest.raises(ValueError):
        CAL.add_working_days(vn(2026, 3, 4, 9), -0.5)


def test_seconds_are_dropped_deadlines_are_to_the_minute():
    """Given a receipt at 09:00:42 (Mẫu 01 records "…giờ…phút", research note §3.1),
    when adding 10 minutes, then the due time is 09:10:00."""
    start = datetime(2026, 3, 4, 9, 0, 42, tzinfo=VN_TZ)
    assert CAL.add_working_minutes(start, 10) == vn(2026, 3, 4, 9, 10)


# ------------------------------------------------------------------------------------------
# Fractional days (internal process steps of ¼, ½, 1½ days, research note §5.2)
# ------------------------------------------------------------------------------------------


def test_half_day_is_225_minutes():
    """Given Wednesday 2026-03-04 07:30, when adding 0.5 working day (450 / 2 = 225 min),
    then the due time is 07:30 + 225 min = 11:15."""
    assert CAL.add_working_days(vn(2026, 3, 4, 7, 30), 0.5) == vn(2026, 3, 4, 11, 15)
    assert CAL.add_working_days(vn(2026, 3, 4, 7, 30), Decimal("0.5")) == vn(2026, 3, 4, 11, 15)


def test_quarter_day_rounds_half_up_to_the_minute():
    """Given 0.25 day = 112.5 min, rounded half up to 113 min, then 07:30 + 113 = 09:23."""
    assert CAL.add_working_days(vn(2026, 3, 4, 7, 30), 0.25) == vn(2026, 3, 4, 9, 23)


def test_one_and_a_half_days():
    """Given Wednesday 09:00 + 1.5 days = 675 min: Wednesday gives 150 + 210 = 360, the
    remaining 315 on Thursday = 240 (07:30–11:30) + 75 from 13:30 → Thursday 14:45."""
    assert CAL.add_working_days(vn(2026, 3, 4, 9), 1.5) == vn(2026, 3, 5, 14, 45)
    assert CAL.add_working_days(vn(2026, 3, 4, 9), Decimal("1.5")) == vn(2026, 3, 5, 14, 45)


# ------------------------------------------------------------------------------------------
# National holidays (Labour Code 2019 Art. 112, via the `holidays` package)
# ------------------------------------------------------------------------------------------


def test_tet_2027_days_off_listed_by_the_holidays_package():
    """Given the lunar new year on Saturday 2027-02-06 (Labour Code 2019 Art. 112.1.b:
    5 days of Tết; days falling on the weekly rest day are made up), then `holidays` 0.109
    lists Thursday 04/02 (29 Tết, for Saturday mùng 1) through Wednesday 10/02 (mùng năm,
    for Sunday mùng 2) as days off."""
    off = national_days_off(2027)
    assert {d for d in off if d.month == 2} == {date(2027, 2, day) for day in range(4, 11)}
    assert off[date(2027, 2, 6)] == "Tết Nguyên Đán"


def test_tet_2027_due_date_and_explanation():
    """Given a dossier received Wednesday 2027-02-03 09:00 with 5 working days, and the
    days off Thu 04/02 – Wed 10/02 (Tết) plus the weekend Sat 13/02 – Sun 14/02,
    when computing the due date, then it is Wednesday 2027-02-17 09:00:

      Wed 03/02 09:00–17:00 = 360 min              (360)
      Thu 04 – Wed 10: Tết, skipped
      Thu 11/02 = 450                              (810)
      Fri 12/02 = 450                              (1260)
      Sat 13, Sun 14: weekend, skipped
      Mon 15/02 = 450                              (1710)
      Tue 16/02 = 450                              (2160)
      Wed 17/02 07:30 + 90 min = 09:00             (2250 = 5 × 450)

    and explain() lists the skipped days with their Vietnamese reasons, naming Tết."""
    start = vn(2027, 2, 3, 9)
    assert CAL.add_working_days(start, 5) == vn(2027, 2, 17, 9)
    assert CAL.explain(start, 5) == [
        (date(2027, 2, 4), "29 Tết"),
        (date(2027, 2, 5), "Giao thừa Tết Nguyên Đán"),
        (date(2027, 2, 6), "Tết Nguyên Đán"),
        (date(2027, 2, 7), "Mùng hai Tết Nguyên Đán"),
        (date(2027, 2, 8), "Mùng ba Tết Nguyên Đán"),
        (date(2027, 2, 9), "Mùng bốn Tết Nguyên Đán"),
        (date(2027, 2, 10), "Mùng năm Tết Nguyên Đán"),
        (date(2027, 2, 13), "Thứ Bảy"),
        (date(2027, 2, 14), "Chủ nhật"),
    ]


def test_second_of_september_2026_with_swapped_monday():
    """Given Quốc khánh 2026: Wed 02/09 plus the adjacent Tue 01/09 (Labour Code 2019
    Art. 112.1.đ), and Mon 31/08 off in exchange for working Saturday 22/08 (Government
    swap, as carried by `holidays`), when a dossier is received Friday 2026-08-28 10:00 with
    2 working days, then Mon 31/08, Tue 01/09 and Wed 02/09 are skipped:
    Thu 03/09 is day 1 and Fri 2026-09-04 10:00 is the due date."""
    assert CAL.add_working_days(vn(2026, 8, 28, 10), 2) == vn(2026, 9, 4, 10)
    assert CAL.day_off_reason(date(2026, 9, 2)) == "Quốc khánh"
    assert CAL.day_off_reason(date(2026, 9, 1)) == "Quốc khánh"
    assert CAL.day_off_reason(date(2026, 8, 31)) == "Ngày nghỉ (thay cho ngày 22/08/2026)"
    assert [d for d, _ in CAL.explain(vn(2026, 8, 28, 10), 2)] == [
        date(2026, 8, 29),
        date(2026, 8, 30),
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 2),
    ]


def test_government_make_up_saturday_is_a_working_day():
    """Given Saturday 2026-08-22, worked in exchange for Monday 31/08, then it is a working
    day, and Friday 2026-08-21 10:00 + 1 working day = Saturday 2026-08-22 10:00."""
    assert date(2026, 8, 22) in national_weekend_workdays(2026)
    assert CAL.is_working_day(date(2026, 8, 22))
    assert CAL.day_off_reason(date(2026, 8, 22)) is None
    assert CAL.add_working_days(vn(2026, 8, 21, 10), 1) == vn(2026, 8, 22, 10)


def test_new_year_across_the_year_boundary():
    """Given Wednesday 2026-12-30 09:00 + 3 working days, with Fri 01/01/2027 Tết Dương lịch
    and the weekend, then Thu 31/12 (1), Mon 04/01 (2), Tue 2027-01-05 09:00 (3)."""
    assert CAL.add_working_days(vn(2026, 12, 30, 9), 3) == vn(2027, 1, 5, 9)
    assert CAL.day_off_reason(date(2027, 1, 1)) == "Tết Dương lịch"


def test_day_off_reasons():
    """Given ordinary days, then weekends are named "Thứ Bảy" / "Chủ nhật", 30/4 by its
    holiday name, and a working day has no reason."""
    assert CAL.day_off_reason(date(2026, 3, 7)) == "Thứ Bảy"
    assert CAL.day_off_reason(date(2026, 3, 8)) == "Chủ nhật"
    assert CAL.day_off_reason(date(2026, 4, 30)) == "Ngày Chiến thắng"
    assert CAL.day_off_reason(date(2026, 3, 4)) is None
    assert CAL.is_working_day(date(2026, 3, 4))
    assert not CAL.is_working_day(date(2026, 3, 7))


# ------------------------------------------------------------------------------------------
# Local overrides (a province's own decision)
# ------------------------------------------------------------------------------------------


def test_local_extra_day_off_and_extra_working_saturday():
    """Given a province that declares Thursday 2026-03-12 a day off and Saturday 2026-03-14
    a working day, when a dossier is received Wednesday 2026-03-11 09:00 with 2 working
    days, then Thursday is skipped, Friday 13/03 is day 1 and Saturday 2026-03-14 09:00 is
    the due date; the skipped Thursday is explained as a local decision."""
    cal = WorkCalendar(
        extra_days_off=frozenset({date(2026, 3, 12)}),
        extra_working_days=frozenset({date(2026, 3, 14)}),
    )
    assert cal.add_working_days(vn(2026, 3, 11, 9), 2) == vn(2026, 3, 14, 9)
    assert cal.day_off_reason(date(2026, 3, 12)) == REASON_LOCAL_DAY_OFF
    assert cal.day_off_reason(date(2026, 3, 14)) is None
    assert cal.explain(vn(2026, 3, 11, 9), 2) == [(date(2026, 3, 12), REASON_LOCAL_DAY_OFF)]
    # The national default calendar is unaffected.
    assert CAL.is_working_day(date(2026, 3, 12))
    assert not CAL.is_working_day(date(2026, 3, 14))


def test_local_working_day_takes_precedence_over_national_holiday():
    """Given a local extra working day on a national day off (Tue 2026-09-01), then the
    local decision wins and the day is a working day."""
    cal = WorkCalendar(extra_working_days=frozenset({date(2026, 9, 1)}))
    assert cal.is_working_day(date(2026, 9, 1))


def test_a_day_cannot_be_both_local_off_and_local_working():
    with pytest.raises(ValueError):
        WorkCalendar(
            extra_days_off=frozenset({date(2026, 3, 12)}),
            extra_working_days=frozenset({date(2026, 3, 12)}),
        )


def test_agency_specific_periods():
    """Given an agency working 07:00–11:30 and 13:30–17:00 (270 + 210 = 480 min, the 8-hour
    day of research note §3.1), when Friday 2026-03-06 16:00 + 1 working day, then 60 min
    on Friday and 420 on Monday: 270 (07:00–11:30) + 150 from 13:30 → Monday 16:00."""
    cal = WorkCalendar(periods=((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0))))
    assert cal.day_minutes == 480
    assert cal.add_working_days(vn(2026, 3, 6, 16), 1) == vn(2026, 3, 9, 16)


def test_overlapping_periods_are_rejected():
    with pytest.raises(ValueError):
        WorkCalendar(periods=((time(7, 30), time(12, 0)), (time(11, 0), time(17, 0))))


# ------------------------------------------------------------------------------------------
# Pausing the clock (supplementation, financial obligations — research note §3.3, §3.4)
# ------------------------------------------------------------------------------------------


def test_working_minutes_between_across_a_weekend():
    """Given Friday 2026-03-06 15:00 and Monday 2026-03-09 09:00, then the working time
    between them is Friday 15:00–17:00 (120) + Monday 07:30–09:00 (90) = 210 minutes."""
    assert CAL.working_minutes_between(vn(2026, 3, 6, 15), vn(2026, 3, 9, 9)) == 210


def test_working_minutes_between_is_zero_when_not_after():
    assert CAL.working_minutes_between(vn(2026, 3, 9, 9), vn(2026, 3, 6, 15)) == 0
    assert CAL.working_minutes_between(vn(2026, 3, 9, 9), vn(2026, 3, 9, 9)) == 0


def test_working_minutes_between_across_tet():
    """Given Wed 2027-02-03 09:00 and Thu 2027-02-11 09:00, with Thu 04 – Wed 10/02 off for
    Tết, then only Wednesday 09:00–17:00 (360) and Thursday 07:30–09:00 (90) count: 450."""
    assert CAL.working_minutes_between(vn(2027, 2, 3, 9), vn(2027, 2, 11, 9)) == 450


def test_pause_and_resume_for_supplementation():
    """Given a dossier received Monday 2026-03-02 08:00 with 3 working days (1350 min),
    paused on Tuesday 2026-03-03 10:00 for supplementation and resumed Monday 2026-03-09
    14:00 (time waiting for the applicant does not count), then:
      used before the pause = Mon 08:00–11:30 (210) + 13:30–17:00 (210) + Tue 07:30–10:00
      (150) = 570; remaining = 780;
      from Mon 09/03 14:00: Mon 14:00–17:00 (180), Tue 10/03 (450) → 630, Wed 11/03 07:30 +
      150 = 10:00 → new due date Wednesday 2026-03-11 10:00."""
    received = vn(2026, 3, 2, 8)
    total = 3 * 450
    used = CAL.working_minutes_between(received, vn(2026, 3, 3, 10))
    assert used == 570
    assert CAL.add_working_minutes(vn(2026, 3, 9, 14), total - used) == vn(2026, 3, 11, 10)


def test_working_days_late():
    """Given a due date Monday 2026-03-09 16:00, then finishing Thursday 2026-03-12 16:00 is
    3 × 450 working minutes later = 3 working days late; Thursday 15:59 is 1349 minutes =
    2 whole days; finishing on time or early is 0."""
    due = vn(2026, 3, 9, 16)
    assert CAL.working_days_late(due, vn(2026, 3, 12, 16)) == 3
    assert CAL.working_days_late(due, vn(2026, 3, 12, 15, 59)) == 2
    assert CAL.working_days_late(due, vn(2026, 3, 9, 16)) == 0
    assert CAL.working_days_late(due, vn(2026, 3, 6, 9)) == 0


# ------------------------------------------------------------------------------------------
# Time zones
# ------------------------------------------------------------------------------------------


def test_utc_input_is_converted_to_vietnam_time():
    """Given 2026-03-04 02:00 UTC (= 09:00 in Asia/Ho_Chi_Minh, UTC+7), when adding 5
    working days, then the result is Wednesday 2026-03-11 09:00+07:00, returned in VN time."""
    start = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    due = CAL.add_working_days(start, 5)
    assert due == vn(2026, 3, 11, 9)
    assert due.tzinfo is VN_TZ
    assert due.utcoffset() == timedelta(hours=7)
    assert (due.hour, due.minute) == (9, 0)


def test_utc_date_differs_from_vietnam_date():
    """Given Thursday 2026-03-05 23:30 UTC, which is Friday 2026-03-06 06:30 in Vietnam,
    then the clock starts Friday 07:30 VN time; and 12:00 UTC (19:00 VN) Wednesday starts
    Thursday 07:30."""
    assert CAL.next_working_moment(datetime(2026, 3, 5, 23, 30, tzinfo=UTC)) == vn(
        2026, 3, 6, 7, 30
    )
    assert CAL.next_working_moment(datetime(2026, 3, 4, 12, 0, tzinfo=UTC)) == vn(
        2026, 3, 5, 7, 30
    )


def test_naive_datetimes_are_vietnam_local_time():
    """Given a naive 2026-03-04 09:00, then it is read as 09:00 VN time and the result is
    an aware datetime in Asia/Ho_Chi_Minh."""
    due = CAL.add_working_days(datetime(2026, 3, 4, 9, 0), 5)
    assert due == vn(2026, 3, 11, 9)
    assert due.tzinfo is VN_TZ
    inside = CAL.next_working_moment(datetime(2026, 3, 4, 9, 0))
    assert inside.tzinfo is VN_TZ and inside == vn(2026, 3, 4, 9)


def test_other_offsets_are_converted():
    """Given 2026-03-04 11:00+09:00 (= 09:00 VN), then working_minutes_between it and
    09:30 VN is 30 minutes."""
    tokyo = timezone(timedelta(hours=9))
    assert CAL.working_minutes_between(datetime(2026, 3, 4, 11, 0, tzinfo=tokyo),
                                       vn(2026, 3, 4, 9, 30)) == 30


# ------------------------------------------------------------------------------------------
# Cross-check against an independent minute-by-minute reference, and purity
# ------------------------------------------------------------------------------------------


def _reference_working_day(d, off, work):
    """Independent reference: the day rules of the issue, read straight from `holidays`."""
    import holidays

    vn_days = holidays.country_holidays("VN", years=range(d.year - 1, d.year + 2))
    if d in work:
        return True
    if d in off or d in vn_days:
        return False
    return d.weekday() < 5 or d in vn_days.weekend_workdays


def test_matches_a_minute_by_minute_reference():
    """Given random starts in 2026–2027 and durations up to ~2 days, with local overrides
    around the new year, then add_working_minutes and working_minutes_between agree with a
    naive reference that walks minute by minute (expected values come from the reference,
    not from the code under test)."""
    import random
    from functools import cache

    off = frozenset({date(2026, 3, 12), date(2026, 12, 31)})
    work = frozenset({date(2026, 3, 14), date(2027, 1, 2)})
    cal = WorkCalendar(extra_days_off=off, extra_working_days=work)

    @cache
    def working_day(d):
        return _reference_working_day(d, off, work)

    def working(t):
        m = t.hour * 60 + t.minute
        in_period = 7 * 60 + 30 <= m < 11 * 60 + 30 or 13 * 60 + 30 <= m < 17 * 60
        return in_period and working_day(t.date())

    rng = random.Random(20260304)
    base = datetime(2026, 12, 20)
    for _ in range(120):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        n = rng.choice([1, 239, 240, 241, 450, 451, rng.randrange(1, 1000)])
        t, left = start, n
        while left:
            left -= working(t)
            t += timedelta(minutes=1)
        assert cal.add_working_minutes(start, n) == t.replace(tzinfo=VN_TZ), (start, n)
        end = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 5))
        expected = sum(
            working(start + timedelta(minutes=i))
            for i in range(int((end - start).total_seconds()) // 60)
        )
        assert cal.working_minutes_between(start, end) == expected, (start, end)


def test_module_does_not_import_django():
    """The engine is pure Python so the demo generator and benchmarks can use it."""
    import ast
    import inspect

    from chinhquyenso.core import workcalendar

    tree = ast.parse(inspect.getsource(workcalendar))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "django" not in imported
