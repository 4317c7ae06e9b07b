from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Dữ liệu mẫu: cqs demo --dossiers N [--seed S] [--users-only] — tạo các tài khoản mẫu "
        "(mật khẩu demo12345) và thêm N hồ sơ mẫu (is_demo) trải trên hai năm qua."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dossiers", type=int, default=0, help="Số hồ sơ mẫu cần thêm")
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Hạt giống ngẫu nhiên (mặc định: ngẫu nhiên, được in ra)",
        )
        parser.add_argument(
            "--users-only", action="store_true", help="Chỉ tạo/cập nhật các tài khoản mẫu"
        )
        parser.add_argument("--no-progress", action="store_true", help="Không hiện tiến trình")
        parser.add_argument(
            "--if-empty", action="store_true",
            help="Chỉ thêm hồ sơ khi cơ sở dữ liệu chưa có hồ sơ nào (dùng trong make run)",
        )

    def handle(self, *args, dossiers, seed, users_only, no_progress, if_empty, **o):
        from chinhquyenso.dossiers.demo import DEMO_PASSWORD, ensure_demo_users, generate_dossiers
        from chinhquyenso.dossiers.models import Dossier

        if dossiers < 0:
            raise CommandError("--dossiers phải không âm.")
        if if_empty and Dossier.objects.exists():
            self.stdout.write("Cơ sở dữ liệu đã có hồ sơ: không thêm hồ sơ mẫu.")
            dossiers = 0
        try:
            users = ensure_demo_users()
            from chinhquyenso.backoffice.services import DEMO_TOTP_SECRET, set_demo_totp

            set_demo_totp()
            if not users_only and dossiers:
                result = generate_dossiers(dossiers, seed=seed, progress=not no_progress)
                self._summary(result, verbose=o.get("verbosity", 1) > 1)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self._logins(users, DEMO_PASSWORD)
        self.stdout.write(
            "Mã xác thực (TOTP) mẫu cho lãnh đạo/quản trị — khóa công khai, chỉ dữ liệu mẫu: "
            f"{DEMO_TOTP_SECRET}")

    def _summary(self, r, verbose=False):
        from chinhquyenso.dossiers.models import Status

        rate = r.count / r.seconds if r.seconds else 0
        self.stdout.write(
            f"Đã thêm {r.count} hồ sơ mẫu trong {r.seconds:.1f} s ({rate:,.0f} hồ sơ/s), "
            f"seed {r.seed}; {r.with_steps} hồ sơ có các bước xử lý, "
            f"{r.citizen} hồ sơ của «congdan»."
        )
        for code, n in sorted(r.statuses.items()):
            self.stdout.write(
                f"  {code:>2} {Status(code).label:<40} {n:>9} {100 * n / r.count:5.1f} %"
            )
        self.stdout.write(
            f"  Trễ hạn (kết thúc sau hạn trả): {r.late} ({100 * r.late / r.count:.1f} %)"
        )
        if verbose:
            self.stdout.write(
                "  Thời gian: " + ", ".join(f"{k} {v:.1f} s" for k, v in r.phases.items())
            )

    def _logins(self, users, password):
        if not users:
            return
        w_user = max(len("Tài khoản"), *(len(u["username"]) for u in users))
        w_role = max(len("Vai trò"), *(len(u["role"]) for u in users))
        self.stdout.write(f"\nTài khoản mẫu (mật khẩu: {password}):")
        self.stdout.write(f"  {'Tài khoản':<{w_user}}  {'Vai trò':<{w_role}}  Cơ quan")
        for u in users:
            self.stdout.write(f"  {u['username']:<{w_user}}  {u['role']:<{w_role}}  {u['agency']}")
