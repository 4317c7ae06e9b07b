"""Notifications to citizens and officers: the in-portal inbox, e-mail and SMS/Zalo.

`notify()` writes the inbox row in the caller's transaction, so a committed change always has
its message, and enqueues its delivery (a django-tasks task, written in the same
transaction): the worker process (`cqs worker`) sends it by e-mail (Django's mail backends:
console in development, SMTP in production) and by the text channel (an adapter named by
CQS_SMS_CHANNEL; the default only logs) and records it on the row, so that a slow mail
server never slows a request. What failed is retried by the worker's periodic `deliver`
(or `cqs notifications send`)."""

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from . import fixedsql
from .models import Notification

log = logging.getLogger("chinhquyenso.notify")
MAX_ATTEMPTS = 10


class TextChannel(Protocol):
    """An SMS or Zalo OA gateway: send one short text to one phone number."""

    name: str

    def send(self, phone: str, text: str) -> None: ...


class LoggingTextChannel:
    """Development stand-in for an SMS/Zalo gateway: writes the message to the log."""

    name = "log"

    def send(self, phone: str, text: str) -> None:
        log.info("SMS/Zalo tới %s: %s", phone, text)


def text_channel() -> TextChannel:
    return import_string(settings.CQS_SMS_CHANNEL)()


def notify(*, user, title: str, body: str = "", link: str = "", email: str = "",
           phone: str = "") -> Notification:
    """Queue one message to `user` (inbox now, e-mail/text after commit)."""
    n = fixedsql.insert(
        Notification, user_id=user.pk, title=title[:200], body=body, link=link,
        created_at=timezone.now(),
        email_to=(email or user.email or "")[:150], phone_to=(phone or user.phone or "")[:20],
    )
    deliver_task.enqueue(ids=[n.pk])
    return n


def _undelivered():
    email_due = Q(emailed_at__isnull=True) & ~Q(email_to="")
    text_due = Q(texted_at__isnull=True) & ~Q(phone_to="")
    return Notification.objects.filter(email_due | text_due, attempts__lt=MAX_ATTEMPTS)


def deliver(*, ids=None, limit: int = 500) -> dict[str, int]:
    """Send what has not been sent yet; never raises (a failure stays for the next run)."""
    qs = _undelivered().order_by("id")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    sent = {"email": 0, "text": 0, "failed": 0}
    channel = text_channel()
    for n in qs[:limit]:
        changed = ["attempts"]
        n.attempts += 1
        try:
            if n.email_to and n.emailed_at is None:
                url = f"{settings.CQS_PUBLIC_URL}{n.link}" if n.link else ""
                send_mail(n.title, "\n\n".join(filter(None, [n.body, url])),
                          settings.DEFAULT_FROM_EMAIL, [n.email_to])
                n.emailed_at = timezone.now()
                changed.append("emailed_at")
                sent["email"] += 1
            if n.phone_to and n.texted_at is None:
                channel.send(n.phone_to, n.title)
                n.texted_at = timezone.now()
                changed.append("texted_at")
                sent["text"] += 1
        except Exception:  # a mail server or gateway failure must not lose the message
            log.exception("Gửi thông báo %s không thành công", n.pk)
            sent["failed"] += 1
        Notification.objects.filter(pk=n.pk).update(**{f: getattr(n, f) for f in changed})
    return sent


@task()
def deliver_task(ids: list[int]) -> dict[str, int]:
    """The worker's delivery of the notifications `ids` (enqueued by notify())."""
    return deliver(ids=ids)


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def inbox(user, limit: int = 50):
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")[:limit]


def mark_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now())
