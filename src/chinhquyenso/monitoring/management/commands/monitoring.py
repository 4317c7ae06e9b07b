import json
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    requires_system_checks: list = []
    help = ("Bộ chỉ số 766: cqs monitoring refresh (cập nhật từ sự kiện hồ sơ) | rebuild "
            "(tính lại toàn bộ) | verify (so sánh với hồ sơ gốc; mã thoát 1 nếu lệch) | "
            "sync (đồng bộ trạng thái lên Cổng DVCQG)")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        r = sub.add_parser("refresh")
        r.add_argument("--limit", type=int, default=20_000)
        sub.add_parser("rebuild")
        v = sub.add_parser("verify")
        v.add_argument("--json", action="store_true")
        s = sub.add_parser("sync")
        s.add_argument("--limit", type=int, default=1000)
        s.add_argument("--demo", action="store_true",
                       help="Chỉ dữ liệu mẫu: ghi nhận hồ sơ mẫu là đã đồng bộ (mô phỏng)")

    def handle(self, *args, sub, **o):
        from chinhquyenso.monitoring import services

        def progress(n):
            self.stderr.write(f"  … {n:,} hồ sơ".replace(",", "."))

        if sub == "refresh":
            total = 0
            while True:
                n = services.refresh(limit=o["limit"])
                total += n
                if n < o["limit"]:
                    break
            self.stdout.write(f"Đã đọc {total} sự kiện hồ sơ.")
        elif sub == "rebuild":
            r = services.rebuild(progress=progress)
            self.stdout.write(f"Đã tính lại {r['facts']} hồ sơ, {r['cells']} ô tổng hợp trong "
                              f"{r['seconds']} giây.")
        elif sub == "verify":
            diffs, summary = services.verify(progress=progress)
            if o["json"]:
                self.stdout.write(json.dumps({"summary": summary, "differences": diffs},
                                             ensure_ascii=False, default=str))
            else:
                self.stdout.write(f"Đã tính lại từ {summary['dossiers']} hồ sơ gốc "
                                  f"({summary['cells']} ô) trong {summary['seconds']} giây.")
                for d in diffs:
                    self.stdout.write(
                        f"LỆCH cơ quan {d['agency_id']}, tháng {d['month']}, thủ tục "
                        f"{d['procedure_id']}, hạn {d['pending_day']}: {d['column']} lưu "
                        f"{d['stored']}, tính lại {d['recomputed']}")
            if summary["differences"]:
                self.stderr.write(f"Có {summary['differences']} chỗ lệch.")
                sys.exit(1)
            if not o["json"]:
                self.stdout.write("Khớp: số liệu tổng hợp đúng với hồ sơ gốc.")
        elif sub == "sync":
            from chinhquyenso.monitoring import portal

            if o["demo"]:
                n = portal.mark_demo_synced()
                self.stdout.write(f"Đã ghi nhận {n} hồ sơ mẫu là đã đồng bộ (mô phỏng). "
                                  "Chạy «cqs monitoring rebuild» để tính lại chỉ số.")
                return
            r = portal.sync(limit=o["limit"])
            self.stdout.write(f"Đã gửi {r['sent']} trạng thái lên Cổng DVCQG; lỗi: {r['failed']}.")
            if r["failed"]:
                sys.exit(1)
