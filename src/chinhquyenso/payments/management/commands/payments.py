"""`cqs payments …`: operational commands of the payments app.

    cqs payments sandbox [--host 127.0.0.1] [--port 8100] [--db PATH] [--ipn-url URL]
        the local VNPAY sandbox (chinhquyenso.payments.sandbox), for development and tests.

    cqs payments reconcile --date YYYY-MM-DD
        compare the ledger with the gateway's settlement file; exit 1 on any mismatch.
    cqs payments query-pending [--minutes 15]
        ask the gateway (querydr) about orders still pending after that many minutes.
    cqs payments flush-audit
        move audit links the former one-statement IPN left pending into the audit trail
        (the worker does it periodically; see payments/tasks.py).

Each subcommand is a `sub` choice handled by a `handle_<name>` method.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Thanh toán: cqs payments sandbox --port 8100 [--db PATH] (cổng VNPAY thử nghiệm)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)

        sandbox = sub.add_parser("sandbox", help="Chạy cổng VNPAY thử nghiệm (giao thức 2.1.0)")
        sandbox.add_argument("--host", default="127.0.0.1")
        sandbox.add_argument("--port", type=int, default=8100)
        sandbox.add_argument("--db", default=None,
                             help="Tệp SQLite lưu giao dịch (mặc định: var/vnpay-sandbox.sqlite3)")
        sandbox.add_argument("--ipn-url", default=None,
                             help="IPN URL của hệ thống (mặc định: "
                                  "http://127.0.0.1:8000/api/v1/payments/vnpay/ipn)")

        rec = sub.add_parser("reconcile", help="Đối soát với tệp quyết toán của cổng")
        rec.add_argument("--date", required=True, help="Ngày đối soát, NNNN-TT-NN")
        pend = sub.add_parser("query-pending", help="Truy vấn (querydr) các đơn còn chờ")
        pend.add_argument("--minutes", type=int, default=15)
        sub.add_parser("flush-audit", help="Nối các bản ghi kiểm toán còn chờ vào chuỗi")

    def handle(self, *args, sub, **options):
        handler = getattr(self, f"handle_{sub.replace('-', '_')}", None)
        if handler is None:
            raise CommandError(f"Lệnh không được hỗ trợ: {sub}")
        handler(**options)

    def handle_sandbox(self, *, host, port, db, ipn_url, **_):
        from chinhquyenso.payments.sandbox import (
            SandboxConfig,
            SandboxGateway,
            make_sandbox_server,
            run_sandbox_server,
        )

        config = SandboxConfig.from_env(
            db_path=db or str(settings.VAR_DIR / "vnpay-sandbox.sqlite3"),
            ipn_url=ipn_url,
            # The platform's own settings, so that merchant and sandbox agree by default.
            tmn_code=getattr(settings, "VNPAY_TMN_CODE", None),
            hash_secret=getattr(settings, "VNPAY_HASH_SECRET", None),
        )
        gateway = SandboxGateway(config)
        try:
            server = make_sandbox_server(gateway, host, port, verbose=options_verbose(_))
        except OSError as exc:
            raise CommandError(f"Không mở được cổng {host}:{port}: {exc}") from exc
        self.stdout.write(
            f"Cổng VNPAY thử nghiệm ({config.tmn_code}): "
            f"http://{host}:{server.server_port}/paymentv2/vpcpay.html — "
            f"IPN → {config.ipn_url} — dữ liệu: {config.db_path}"
        )
        self.stdout.flush()
        run_sandbox_server(gateway, server)

    def handle_reconcile(self, *, date, **_):
        from datetime import date as date_type

        from chinhquyenso.payments.gateways import GatewayError
        from chinhquyenso.payments.services import reconcile

        try:
            day = date_type.fromisoformat(date)
        except ValueError as exc:
            raise CommandError("Ngày không hợp lệ (dạng NNNN-TT-NN).") from exc
        try:
            mismatches = reconcile(day=day)
        except (GatewayError, OSError) as exc:
            raise CommandError(f"Không lấy được tệp quyết toán ngày {day}: {exc}") from exc
        for m in mismatches:
            self.stdout.write(f"{m.txn_ref}\t{m.label}\tcổng: {m.gateway_amount}\t"
                              f"hệ thống: {m.platform_amount}")
        if mismatches:
            raise CommandError(f"Ngày {day}: {len(mismatches)} chênh lệch.")
        self.stdout.write(f"Ngày {day}: sổ cái khớp với tệp quyết toán.")

    def handle_flush_audit(self, **_):
        from chinhquyenso.payments.tasks import drain_pending_audit_links

        self.stdout.write(f"Đã chuyển {drain_pending_audit_links()} bản ghi vào nhật ký "
                          "kiểm toán.")

    def handle_query_pending(self, *, minutes, **_):
        from chinhquyenso.payments.services import query_pending_orders

        counts = query_pending_orders(older_than_minutes=minutes)
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))


def options_verbose(options: dict) -> bool:
    return int(options.get("verbosity", 1)) >= 2
