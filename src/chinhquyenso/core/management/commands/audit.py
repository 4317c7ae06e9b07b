from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Nhật ký kiểm toán: cqs audit verify (mã thoát 0 nếu chuỗi băm nguyên vẹn)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify")

    def handle(self, *args, sub, **o):
        from chinhquyenso.core.audit import verify

        result = verify()
        if not result.ok:
            raise CommandError(
                f"Chuỗi nhật ký bị phá vỡ tại bản ghi {result.broken_id}: {result.reason}"
            )
        self.stdout.write(f"Chuỗi nhật ký nguyên vẹn: {result.checked} bản ghi.")
