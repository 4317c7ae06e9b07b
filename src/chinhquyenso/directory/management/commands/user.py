from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.errors import DomainError


class Command(BaseCommand):
    help = ("Người dùng: cqs user add --username U --role ROLE [--agency CODE] [--password P]; "
            "cán bộ thêm không kèm --password nhận liên kết kích hoạt (in ra, gửi thư nếu có "
            "--email)")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        add = sub.add_parser("add", help="Tạo hoặc cập nhật người dùng")
        add.add_argument("--username", required=True)
        add.add_argument("--role", required=True)
        add.add_argument("--agency", default=None, help="Mã định danh hoặc khóa cơ quan")
        add.add_argument("--password", default=None,
                         help="Bỏ trống: in liên kết mời để cán bộ tự đặt mật khẩu")
        add.add_argument("--full-name", default="")
        add.add_argument("--id-number", default="")
        add.add_argument("--email", default="")

    def handle(self, *args, sub, **o):
        from chinhquyenso.directory.models import APPLICANT_ROLES
        from chinhquyenso.directory.services import add_user, create_invitation

        try:
            user = add_user(username=o["username"], role=o["role"], agency=o["agency"],
                            password=o["password"], full_name=o["full_name"],
                            id_number=o["id_number"], email=o["email"])
            link = None
            if user.role not in APPLICANT_ROLES and not user.has_usable_password():
                link = create_invitation(user=user)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Đã lưu người dùng {user.username} ({user.get_role_display()}).")
        if link:
            self.stdout.write("Liên kết kích hoạt (dùng một lần; cán bộ tự đặt mật khẩu và "
                              "đăng ký ứng dụng xác thực):")
            self.stdout.write(link)
