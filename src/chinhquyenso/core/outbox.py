"""Domain events written in the same transaction as the change (the outbox pattern)."""

from django.utils import timezone

from . import fixedsql
from .models import OutboxEvent


def publish(topic: str, aggregate, payload: dict | None = None) -> OutboxEvent:
    return fixedsql.insert_later(
        OutboxEvent,
        topic=topic,
        aggregate_type=aggregate._meta.label_lower,
        aggregate_id=str(getattr(aggregate, "code", None) or aggregate.pk),
        payload=payload or {},
        created_at=timezone.now(),
    )


def pending(limit: int = 100):
    return OutboxEvent.objects.filter(processed_at__isnull=True).order_by("id")[:limit]
