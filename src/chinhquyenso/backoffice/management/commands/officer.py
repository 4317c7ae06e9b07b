from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Cán bộ: cqs officer totp --username U — in liên kết otpauth:// (và khóa) của ứng dụng "
        "xác thực của cán bộ U, tạo mới nếu chưa có; cqs officer totp --demo — gán khóa mẫu "
        "công khai cho các tài khoản mẫu (chỉ dùng thử)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        totp = sub.add_parser("totp", help="Ứng dụng xác thực (TOTP) của cán bộ")
        who = totp.add_mutually_exclusive_group(required=True)
        who.add_argument("--username", help="Tên đăng nhập của cán bộ")
        who.add_argument("--demo", action="store_true",
                         help="Các tài khoản mẫu của `cqs demo` (khóa mẫu công khai)")

    def handle(self, *args, what, username=None, demo=False, **o):
        import pyotp

        from chinhquyenso.backoffice import services
        from chinhquyenso.backoffice.models import TotpDevice
        from chinhquyenso.directory.models import User

        if demo:
            done = services.set_demo_totp()
            if not done:
                raise CommandError("Chưa có tài khoản mẫu: chạy `cqs demo --users-only` trước.")
            self.stdout.write("DỮ LIỆU MẪU — khóa xác thực công khai, chỉ cho tài khoản mẫu:")
            self.stdout.write(f"  Khóa: {services.DEMO_TOTP_SECRET}")
            self.stdout.write(f"  Liên kết: {services.demo_totp_uri()}")
            self.stdout.write(f"  Mã hiện tại: {pyotp.TOTP(services.DEMO_TOTP_SECRET).now()}")
            self.stdout.write("  Tài khoản: " + ", ".join(done))
            return
        user = User.objects.filter(username=username).first()
        if user is None or user.role not in services.STAFF_ROLES:
            raise CommandError(f"Không có cán bộ «{username}».")
        device = TotpDevice.objects.filter(user=user).first()
        if device is None:
            services.start_enrolment(user=user)
            device = TotpDevice.objects.get(user=user)
            self.stdout.write("Đã tạo khóa mới; cán bộ xác nhận bằng một mã ở lần đăng nhập "
                              "đầu tiên.")
        e = services.enrolment_for(device)
        self.stdout.write(f"Khóa: {e.secret}")
        self.stdout.write(f"Liên kết: {e.uri}")
