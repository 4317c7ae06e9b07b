from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Lịch ngày làm việc: cqs calendar due --received 2027-02-03T09:00 --working-days 5; "
        "cqs calendar explain … (liệt kê các ngày nghỉ được bỏ qua và lý do); "
        "cqs calendar set --date D --off|--working --reason R; cqs calendar unset --date D"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        for name in ("due", "explain"):
            p = sub.add_parser(name)
            p.add_argument("--received", required=True, help="Thời điểm tiếp nhận, ISO 8601")
            p.add_argument("--working-days", required=True)
            p.add_argument("--agency", default=None, help="Giờ làm việc của cơ quan này")
        local = sub.add_parser("set", help="Quyết định của địa phương: nghỉ hoặc làm bù")
        local.add_argument("--date", required=True)
        kind = local.add_mutually_exclusive_group(required=True)
        kind.add_argument("--off", action="store_true", help="Ngày nghỉ")
        kind.add_argument("--working", action="store_true", help="Ngày làm việc bù")
        local.add_argument("--reason", required=True, help="Số, ngày của quyết định")
        unset = sub.add_parser("unset", help="Bỏ quyết định của địa phương cho một ngày")
        unset.add_argument("--date", required=True)

    def handle(self, *args, sub, **o):
        if sub in {"set", "unset"}:
            return self._local(sub, **o)
        return self._due(sub, **o)

    def _local(self, sub, date, off=False, working=False, reason="", **o):
        from datetime import date as date_type

        from chinhquyenso.core.calendar import remove_calendar_day, set_calendar_day
        from chinhquyenso.core.errors import DomainError

        try:
            day = date_type.fromisoformat(date)
        except ValueError as exc:
            raise CommandError("Ngày không hợp lệ (dạng NNNN-TT-NN).") from exc
        if sub == "unset":
            done = remove_calendar_day(actor=None, day=day)
            self.stdout.write("Đã bỏ." if done else "Ngày này không có quyết định địa phương.")
            return
        try:
            set_calendar_day(actor=None, day=day, working=working, reason=reason)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"{day}: {'ngày làm việc bù' if working else 'ngày nghỉ'} ({reason}).")

    def _due(self, sub, received, working_days, agency, **o):
        from chinhquyenso.core.calendar import VN_TZ, calendar_for

        try:
            start = datetime.fromisoformat(received)
            days = Decimal(working_days)
        except (ValueError, InvalidOperation) as exc:
            raise CommandError("Thời điểm hoặc số ngày làm việc không hợp lệ.") from exc
        if start.tzinfo is None:
            start = start.replace(tzinfo=VN_TZ)
        if days < 0:
            raise CommandError("Số ngày làm việc phải không âm.")
        ag = None
        if agency:
            from chinhquyenso.directory.services import get_agency

            ag = get_agency(agency)
        cal = calendar_for(ag)
        due = cal.add_working_days(start, days)
        if sub == "due":
            self.stdout.write(due.isoformat(timespec="minutes"))
            return
        self.stdout.write(f"Bắt đầu tính: {cal.next_working_moment(start).isoformat()}")
        for day, reason in cal.explain(start, days):
            self.stdout.write(f"{day.isoformat()} ({day:%a}): {reason}")
        self.stdout.write(f"Hạn trả: {due.isoformat(timespec='minutes')}")
