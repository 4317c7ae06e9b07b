from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Giới hạn tần suất (core/throttle.py): cqs throttle purge xóa các bộ đếm không dùng "
        "từ 2 ngày (chạy mỗi ngày)"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("purge", help="Xóa bộ đếm cũ")

    def handle(self, *args, sub, **o):
        from chinhquyenso.core.throttle import purge

        self.stdout.write(f"Đã xóa {purge()} bộ đếm cũ.")
