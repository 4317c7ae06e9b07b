from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.errors import DomainError


class Command(BaseCommand):
    help = ("Mục tiêu, kế hoạch chuyển đổi số và cảnh báo sớm: cqs planning "
            "load-targets | import-tasks FILE.csv | demo | snapshot | digest "
            "(định dạng: docs/planning-format.md)")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("load-targets", help="Nạp các mục tiêu của kế hoạch thành phố")
        imp = sub.add_parser("import-tasks", help="Nhập kế hoạch nhiệm vụ từ tệp CSV")
        imp.add_argument("file")
        demo = sub.add_parser("demo", help="Nhiệm vụ mẫu (is_demo), 81 nhiệm vụ, 400 tỷ đồng")
        demo.add_argument("--year", type=int, default=2024)
        sub.add_parser("snapshot", help="Ghi số đo trực tiếp hôm nay của các mục tiêu")
        sub.add_parser("digest", help="Gửi thư cảnh báo sớm cho lãnh đạo các cơ quan")

    def handle(self, *args, sub, **o):
        from chinhquyenso.planning import services

        try:
            if sub == "load-targets":
                n = services.load_targets()
                self.stdout.write(f"Đã nạp {n} mục tiêu.")
            elif sub == "import-tasks":
                path = Path(o["file"])
                if not path.is_file():
                    raise CommandError(f"Không có tệp {path}.")
                try:
                    text = path.read_text(encoding="utf-8")
                except UnicodeDecodeError as exc:
                    raise CommandError("Tệp phải mã hóa UTF-8.") from exc
                n = services.import_tasks(text=text)
                self.stdout.write(f"Đã nhập {n} nhiệm vụ từ {path}.")
            elif sub == "demo":
                services.load_targets()
                n = services.load_demo_tasks(year=o["year"])
                self.stdout.write(f"Đã tạo {n} nhiệm vụ mẫu năm {o['year']} (dữ liệu mẫu).")
            elif sub == "snapshot":
                n = services.snapshot_live_readings()
                self.stdout.write(f"Đã ghi {n} số đo.")
            elif sub == "digest":
                services.snapshot_live_readings()
                sent = services.send_digest()
                for s in sent:
                    self.stdout.write(f"{s['agency']}: {s['dossiers']} hồ sơ → "
                                      f"{', '.join(s['to'])}")
                self.stdout.write(f"Đã gửi {len(sent)} thư cảnh báo.")
        except DomainError as exc:
            errors = exc.extra.get("errors")
            if errors:
                for e in errors:
                    self.stderr.write(e)
                raise CommandError(f"{len(errors)} dòng lỗi, không nhập dòng nào.") from exc
            raise CommandError(exc.detail) from exc
