import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Hồ sơ: cqs dossiers import FILE.jsonl — nhập hồ sơ từ hệ thống một cửa cũ "
            "(mỗi dòng một đối tượng JSON; có dòng lỗi thì không nhập gì)")
    requires_system_checks: list = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        imp = sub.add_parser("import")
        imp.add_argument("file")

    def handle(self, *args, sub, file, **o):
        from chinhquyenso.dossiers.importer import import_dossiers

        try:
            fh = open(file, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Không mở được tệp «{file}»: {exc.strerror}") from exc
        with fh:
            try:
                result = import_dossiers(fh, source=file)
            except UnicodeDecodeError as exc:
                raise CommandError("Tệp phải được mã hóa UTF-8.") from exc
        if not result.ok:
            for n, reason in result.errors:
                self.stderr.write(f"Dòng {n}: {reason}")
            self.stderr.write(f"Có {len(result.errors)} dòng lỗi trên {result.lines} dòng; "
                              "không nhập hồ sơ nào.")
            sys.exit(1)
        self.stdout.write(f"Đã nhập {result.imported} hồ sơ. Chỉ số 766 cập nhật khi chạy "
                          "«cqs monitoring refresh» (hoặc tự động ở lần xem tiếp theo).")
