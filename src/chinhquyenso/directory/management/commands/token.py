from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Mã truy cập API: cqs token create --user U (in mã ra stdout, chỉ lưu mã băm)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        create = sub.add_parser("create")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="")

    def handle(self, *args, sub, user, name, **o):
        from chinhquyenso.directory.models import User
        from chinhquyenso.directory.services import create_token

        u = User.objects.filter(username=user).first()
        if u is None:
            raise CommandError(f"Không có người dùng «{user}».")
        self.stdout.write(create_token(user=u, name=name))
