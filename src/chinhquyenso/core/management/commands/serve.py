import os
import shutil
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Chạy nền tảng với máy chủ granian (WSGI), không dùng runserver."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", 2)))
        # Two threads per worker: one runs Python while the other waits on PostgreSQL. More
        # make requests queue for the GIL (on 2 cores, 4 threads doubled the look-up's p99:
        # docs/performance.md, 2026-12-07).
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", 2)))

    def handle(self, *args, host, port, workers, threads, **opts):
        from django.conf import settings
        from django.core.management import call_command

        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
        call_command("collectstatic", interactive=False, verbosity=0)
        exe = shutil.which("granian", path=os.path.dirname(sys.executable)) or "granian"
        argv = [exe, "--interface", "wsgi", "--host", host, "--port", str(port),
                "--workers", str(workers), "--blocking-threads", str(threads),
                "--static-path-route", "/" + settings.STATIC_URL.strip("/"),
                "--static-path-mount", str(settings.STATIC_ROOT),
                "--no-ws", "--log-level", "warning", "chinhquyenso.wsgi:application"]
        self.stdout.write(f"Chính quyền số: http://{host}:{port}/")
        self.stdout.flush()
        os.execv(exe, argv)
