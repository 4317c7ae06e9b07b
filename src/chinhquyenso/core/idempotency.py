"""Idempotency-Key handling for POSTs that create something: a retry with the same key and
the same body gets the first answer; the same key with another body gets 409."""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction

from .errors import IdempotencyConflict, ValidationFailed
from .models import IdempotencyRecord


def body_hash(payload) -> str:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(user, scope: str, key: str, digest: str) -> tuple[int, dict] | None:
    rec = IdempotencyRecord.objects.filter(user=user, scope=scope, key=key).first()
    if rec is None:
        return None
    if rec.request_hash != digest:
        raise IdempotencyConflict(
            "Idempotency-Key này đã được dùng cho một yêu cầu có nội dung khác."
        )
    return rec.status_code, rec.response


def run_once(*, user, scope: str, key: str | None, payload,
             create: Callable[[], tuple[int, dict]]) -> tuple[int, dict]:
    """Run `create` at most once per (user, scope, key). `create` returns (status, body)."""
    if not key:
        return create()
    if len(key) > 200:
        raise ValidationFailed("Idempotency-Key dài quá 200 ký tự.")
    digest = body_hash(payload)
    found = _replay(user, scope, key, digest)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            # The key row is inserted first: a concurrent request with the same key waits on
            # the unique index until this transaction ends, then replays its answer.
            rec = IdempotencyRecord.objects.create(
                user=user, scope=scope, key=key, request_hash=digest, status_code=0, response={}
            )
            status, body = create()
            rec.status_code, rec.response = status, body
            rec.save(update_fields=["status_code", "response"])
            return status, body
    except IntegrityError:
        found = _replay(user, scope, key, digest)
        if found is None:
            raise
        return found
