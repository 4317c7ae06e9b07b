"""The suite's one clock: every test starts on the same working day, whatever day the suite
runs on (`make test-any-day` runs it under faketime on a weekend, in Tết and on New Year's
Eve in UTC), and `clock.set` moves every reader of the time at once."""

import time
from datetime import date, datetime, timedelta

from django.utils import timezone

from chinhquyenso.core.calendar import calendar_for
from tests.conftest import SUITE_START, VN


def test_every_test_starts_on_the_suites_day():
    now = timezone.now()
    assert SUITE_START <= now < SUITE_START + timedelta(minutes=5)
    assert now.astimezone(VN).date() == date(2026, 11, 25)
    assert abs(time.time() - SUITE_START.timestamp()) < 300


def test_clock_set_moves_every_reader_of_the_time(clock, db):
    moment = clock.set("2027-02-08T10:00")  # inside the Tết holiday of 2027
    assert timezone.now() == moment
    assert datetime.now(VN) == moment
    assert time.time() == moment.timestamp()
    assert not calendar_for(None).is_working_day(moment.date())


def test_new_years_eve_in_utc_is_new_year_in_vietnam(clock):
    clock.set(datetime.fromisoformat("2026-12-31T18:30:00+00:00"))
    assert timezone.localdate() == date(2027, 1, 1)
