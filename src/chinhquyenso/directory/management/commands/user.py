from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.errors import DomainError


class Command(BaseCommand):
    help = "Người dùng: cqs user add --username U --role ROLE [--agency CODE] [--password P]"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        add = sub.add_parser("add", help="Tạo hoặc cập nhật người dùng")
        add.add_argument("--username", required=True)
        add.add_argument("--role", required=True)
        add.add_argument("--agency", default=None, help="Mã định danh hoặc khóa cơ quan")
        add.add_argument("--password", default=None)
        add.add_argument("--full-name", default="")
        add.add_argument("--id-number", default="")
        add.add_argument("--email", default="")

    def handle(self, *args, sub, **o):
        from chinhquyenso.directory.services import add_user

        try:
            user = add_user(username=o["username"], role=o["role"], agency=o["agency"],
                            password=o["password"], full_name=o["full_name"],
                            id_number=o["id_number"], email=o["email"])
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Đã lưu người dùng {user.username} ({user.get_role_display()}).")
