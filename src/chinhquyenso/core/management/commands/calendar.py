from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Lịch ngày làm việc: cqs calendar due --received 2027-02-03T09:00 --working-days 5; "
        "cqs calendar explain … (liệt kê các ngày nghỉ được bỏ qua và lý do)"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        for name in ("due", "explain"):
            p = sub.add_parser(name)
            p.add_argument("--received", required=True, help="Thời điểm tiếp nhận, ISO 8601")
            p.add_argument("--working-days", required=True)
            p.add_argument("--agency", default=None, help="Giờ làm việc của cơ quan này")

    def handle(self, *args, sub, received, working_days, agency, **o):
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
