"""The working-day calendar as the platform uses it: the national calendar (core/workcalendar,
from the `holidays` package) plus local overrides that a province admin decides (audited),
with the agency's own working hours."""

from datetime import date, time

from django.db import transaction

from . import audit
from .dates import check_date
from .errors import ValidationFailed
from .models import CalendarOverride
from .workcalendar import DEFAULT_CALENDAR, VN_TZ, WorkCalendar

__all__ = ["VN_TZ", "calendar_for", "set_calendar_day", "remove_calendar_day"]


def _overrides() -> tuple[frozenset[date], frozenset[date]]:
    rows = list(CalendarOverride.objects.values_list("date", "working"))
    return (frozenset(d for d, w in rows if not w), frozenset(d for d, w in rows if w))


def _periods(hours) -> tuple[tuple[time, time], ...] | None:
    if not hours:
        return None
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in hours)


def calendar_for(agency=None, *, overrides=None) -> WorkCalendar:
    """The calendar that counts an agency's deadlines (default hours when agency is None)."""
    days_off, working = overrides if overrides is not None else _overrides()
    periods = _periods(getattr(agency, "working_hours", None)) or DEFAULT_CALENDAR.periods
    return WorkCalendar(extra_days_off=days_off, extra_working_days=working, periods=periods)


def set_calendar_day(*, actor, day: date, working: bool, reason: str) -> CalendarOverride:
    """A local decision: make `day` a day off (working=False) or a working day."""
    check_date(day, "Ngày")
    if not reason.strip():
        raise ValidationFailed("Cần ghi rõ lý do (số, ngày của quyết định).")
    with transaction.atomic():
        row, _ = CalendarOverride.objects.update_or_create(
            date=day, defaults={"working": working, "reason": reason}
        )
        audit.record(actor=actor, verb="calendar.set", target=row,
                     data={"date": day.isoformat(), "working": working, "reason": reason})
    return row


def remove_calendar_day(*, actor, day: date) -> bool:
    with transaction.atomic():
        deleted, _ = CalendarOverride.objects.filter(date=day).delete()
        if deleted:
            audit.record(actor=actor, verb="calendar.remove", data={"date": day.isoformat()})
    return bool(deleted)
