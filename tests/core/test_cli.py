"""`cqs calendar due|explain` and `cqs openapi --check`."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_calendar_due_prints_iso_8601_in_vietnam_time(capsys):
    """Received Wednesday 2027-02-03 09:00, 5 working days: Tết 2027 (4–10/2) and the
    weekend are skipped → Wednesday 2027-02-17 09:00 (worked out in test_workcalendar)."""
    call_command("calendar", "due", "--received", "2027-02-03T09:00", "--working-days", "5")
    assert capsys.readouterr().out.strip() == "2027-02-17T09:00+07:00"


@pytest.mark.django_db
def test_calendar_explain_names_the_days_skipped(capsys):
    call_command("calendar", "explain", "--received", "2027-02-03T09:00", "--working-days", "5")
    out = capsys.readouterr().out
    assert "2027-02-08" in out and "Tết Nguyên Đán" in out and "Chủ nhật" in out


@pytest.mark.django_db
def test_calendar_rejects_bad_input_with_a_message():
    with pytest.raises(CommandError, match="không hợp lệ"):
        call_command("calendar", "due", "--received", "hôm qua", "--working-days", "5")


@pytest.mark.django_db
def test_local_day_off_moves_the_due_date(capsys):
    from datetime import date

    from chinhquyenso.core.calendar import set_calendar_day
    from chinhquyenso.core.models import AuditRecord

    set_calendar_day(actor=None, day=date(2027, 2, 16), working=False,
                     reason="Quyết định (mẫu) của UBND thành phố")
    call_command("calendar", "due", "--received", "2027-02-03T09:00", "--working-days", "5")
    assert capsys.readouterr().out.strip() == "2027-02-18T09:00+07:00"
    assert AuditRecord.objects.filter(verb="calendar.set").exists()


def test_committed_openapi_document_is_current():
    """CI fails when docs/openapi.json drifts from the code."""
    result = subprocess.run([sys.executable, "-m", "chinhquyenso.cli", "openapi", "--check",
                             "docs/openapi.json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_calendar_set_and_unset_a_local_working_saturday(capsys):
    """A local make-up Saturday counts; removing the decision restores the weekend."""
    call_command("calendar", "set", "--date", "2027-02-13", "--working",
                 "--reason", "Quyết định (mẫu) làm bù")
    call_command("calendar", "due", "--received", "2027-02-03T09:00", "--working-days", "5")
    assert capsys.readouterr().out.strip().endswith("2027-02-16T09:00+07:00")
    call_command("calendar", "unset", "--date", "2027-02-13")
    call_command("calendar", "due", "--received", "2027-02-03T09:00", "--working-days", "5")
    assert capsys.readouterr().out.strip().endswith("2027-02-17T09:00+07:00")
