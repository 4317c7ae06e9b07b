from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from chinhquyenso.core.errors import DomainError


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M") if moment else "—"


class Command(BaseCommand):
    help = (
        "Mã truy cập API: cqs token create --user U [--days N] (in mã ra stdout, chỉ lưu "
        "mã băm); cqs token list [--user U] [--all]; cqs token revoke ID"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        create = sub.add_parser("create", help="Tạo mã truy cập (hết hạn sau --days ngày)")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="")
        create.add_argument(
            "--days", type=int, default=None, help="Số ngày hiệu lực (mặc định CQS_API_TOKEN_DAYS)"
        )
        listing = sub.add_parser("list", help="Liệt kê mã truy cập (không in mã)")
        listing.add_argument("--user", default=None)
        listing.add_argument("--all", action="store_true", help="Cả mã đã thu hồi hoặc hết hạn")
        revoke = sub.add_parser("revoke", help="Thu hồi một mã truy cập theo số ID")
        revoke.add_argument("id", type=int)

    def handle(self, *args, sub, **o):
        from chinhquyenso.directory import services
        from chinhquyenso.directory.models import User

        if sub == "create":
            u = User.objects.filter(username=o["user"]).first()
            if u is None:
                raise CommandError(f"Không có người dùng «{o['user']}».")
            try:
                self.stdout.write(services.create_token(user=u, name=o["name"], days=o["days"]))
            except DomainError as exc:
                raise CommandError(exc.detail) from exc
        elif sub == "list":
            self._list(o["user"], o["all"])
        else:
            try:
                row = services.revoke_token(token_id=o["id"])
            except DomainError as exc:
                raise CommandError(exc.detail) from exc
            self.stdout.write(
                f"Đã thu hồi mã truy cập {row.pk} (cqs_{row.prefix}…) của {row.user.username}."
            )

    def _list(self, username, everything):
        from chinhquyenso.directory.queries import api_tokens

        rows = api_tokens(username=username, live_only=not everything)
        header = (
            f"{'ID':>6}  {'MÃ':<14}  {'NGƯỜI DÙNG':<20}  {'TẠO LÚC':<16}  "
            f"{'HẾT HẠN':<16}  {'DÙNG LẦN CUỐI':<16}  {'TRẠNG THÁI':<10}  TÊN"
        )
        self.stdout.write(header)
        now = timezone.now()
        for t in rows:
            if t.revoked:
                state = "thu hồi"
            elif t.expires_at is None or t.expires_at <= now:
                state = "hết hạn"
            else:
                state = "còn hiệu lực"
            self.stdout.write(
                f"{t.pk:>6}  {'cqs_' + t.prefix + '…':<14}  {t.user.username:<20}  "
                f"{_when(t.created_at):<16}  {_when(t.expires_at):<16}  "
                f"{_when(t.last_used_at):<16}  {state:<10}  {t.name}"
            )
        if not rows:
            self.stdout.write("(không có mã truy cập nào)")
