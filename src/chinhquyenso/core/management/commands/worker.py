"""`cqs worker`: the background process beside the web processes (which start no threads).

It runs, in one loop:
- the tasks the web processes enqueued (django-tasks, database backend: `TASKS` in settings;
  the task row is written in the transaction of the change, so a rolled-back change
  enqueues nothing and a committed one is never lost): notification deliveries, …;
- the periodic jobs named in settings.CQS_PERIODIC_JOBS, each a dotted path to a function
  taking no argument and its interval in seconds. Apps add theirs there (core imports no
  app); a job that fails is logged and tried again at its next time.

    cqs worker [--interval 1] [--no-periodic] [--max-seconds N]

Run one worker with the periodic jobs; more workers for the queue alone (--no-periodic).
SIGTERM/SIGINT: finish the task or job under way, then stop.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

log = logging.getLogger("chinhquyenso.worker")


def periodic_jobs() -> list[tuple[str, object, float]]:
    """(path, function, interval in seconds) of settings.CQS_PERIODIC_JOBS."""
    jobs = []
    for path, seconds in settings.CQS_PERIODIC_JOBS:
        try:
            jobs.append((path, import_string(path), float(seconds)))
        except ImportError as exc:
            raise CommandError(f"Việc định kỳ không nạp được: {path} ({exc})") from exc
    return jobs


class Command(BaseCommand):
    help = "Tiến trình nền: chạy các việc đã xếp hàng (django-tasks) và các việc định kỳ"

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.CQS_WORKER_INTERVAL,
            help="số giây chờ khi không có việc (mặc định CQS_WORKER_INTERVAL)",
        )
        parser.add_argument(
            "--no-periodic", action="store_true", help="chỉ chạy hàng đợi, không chạy việc định kỳ"
        )
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="dừng sau chừng ấy giây (kiểm thử)"
        )

    def handle(self, *args, interval, no_periodic, max_seconds, **options):
        jobs = [] if no_periodic else periodic_jobs()
        due = {path: 0.0 for path, _, _ in jobs}
        stop = []

        def request_stop(signum, frame):
            stop.append(signum)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        queue = Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        self.stdout.write(
            f"Tiến trình nền: hàng đợi «{DEFAULT_TASK_BACKEND_ALIAS}», {len(jobs)} việc định kỳ."
        )
        self.stdout.flush()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while not stop and (deadline is None or time.monotonic() < deadline):
            queue.run()  # every task ready now, then back here
            for path, job, seconds in jobs:
                if stop or time.monotonic() < due[path]:
                    continue
                try:
                    job()
                except Exception:  # a failed job must not stop the others; tried again later
                    log.exception("Việc định kỳ %s lỗi", path)
                    close_old_connections()
                due[path] = time.monotonic() + seconds
            close_old_connections()
            slept = 0.0
            while not stop and slept < interval:
                time.sleep(min(0.1, interval))
                slept += 0.1
        self.stdout.write("Tiến trình nền dừng.")
