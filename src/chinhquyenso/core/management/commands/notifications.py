import time

from django.core.management.base import BaseCommand

from chinhquyenso.core.notify import deliver


class Command(BaseCommand):
    help = "Gửi các thông báo (e-mail, SMS/Zalo) chưa gửi được: cqs notifications send [--loop]"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        send = sub.add_parser("send", help="gửi thông báo còn tồn")
        send.add_argument("--loop", action="store_true", help="chạy liên tục (mỗi 5 giây)")

    def handle(self, *args, verb, loop=False, **opts):
        while True:
            sent = deliver()
            self.stdout.write(f"E-mail: {sent['email']}, tin nhắn: {sent['text']}, "
                              f"lỗi: {sent['failed']}")
            if not loop:
                return
            time.sleep(5)
