"""cqs audit verify | checkpoint | link

cqs audit verify
    link what is pending, walk the whole chain and check it against every signed
    checkpoint; exit code 0 when intact, 1 (with the first fault) otherwise.
cqs audit checkpoint
    sign the chain's head (count, last id, last hash, time) with the Ed25519 key from
    CQS_AUDIT_SIGNING_KEY(_FILE) and write it under CQS_AUDIT_CHECKPOINT_DIR.
cqs audit link
    link the records written since the last run into the chain (the worker does it).
"""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Nhật ký kiểm toán: cqs audit verify (mã thoát 0 nếu chuỗi nguyên vẹn và khớp mọi điểm"
        " kiểm tra đã ký) | checkpoint (ký đầu chuỗi) | link (nối các bản ghi mới vào chuỗi)"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify", help="Kiểm tra toàn bộ chuỗi và mọi điểm kiểm tra đã ký")
        sub.add_parser("checkpoint", help="Ký đầu chuỗi, lưu thành tệp ngoài cơ sở dữ liệu")
        sub.add_parser("link", help="Nối các bản ghi mới vào chuỗi")

    def handle(self, *args, sub, **o):
        from chinhquyenso.core import audit

        if sub == "link":
            self.stdout.write(f"Đã nối {audit.link_pending()} bản ghi vào chuỗi.")
            return
        if sub == "checkpoint":
            try:
                cp, key = audit.checkpoint()
            except audit.CheckpointError as exc:
                raise CommandError(f"Không ký điểm kiểm tra: {exc}") from exc
            if key.demo:
                self.stderr.write(audit.DEMO_WARNING.format(path=key.source))
            self.stdout.write(
                f"Đã ký điểm kiểm tra: {cp.count} bản ghi, bản ghi cuối {cp.last_id},"
                f" băm {cp.last_hash[:16]}…, lúc {cp.at} → {cp.path}"
            )
            return
        result = audit.verify()
        if not result.ok:
            raise CommandError(
                f"Chuỗi nhật ký bị phá vỡ tại bản ghi {result.broken_id}: {result.reason}"
            )
        note = (
            f", khớp {result.checkpoints} điểm kiểm tra đã ký"
            if result.checkpoints
            else " (chưa có điểm kiểm tra đã ký nào: chạy cqs audit checkpoint)"
        )
        self.stdout.write(f"Chuỗi nhật ký nguyên vẹn: {result.checked} bản ghi{note}.")
