"""The audit trail as a hash chain. Each record stores the SHA-256 of the previous record;
editing or deleting any record breaks the chain, which `cqs audit verify` reports."""

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import AuditHead, AuditRecord

GENESIS = "0" * 64


def _digest(*, prev_hash: str, at, actor_id, actor_label, verb, target_type, target_id, data):
    body = json.dumps(
        [prev_hash, at.isoformat(), actor_id, actor_label, verb, target_type, target_id, data],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(*, actor=None, verb: str, target=None, data: dict | None = None, actor_label: str = ""):
    """Append one record. Call inside the transaction of the change it records, as late as
    possible: it takes the chain's head lock until commit."""
    at = timezone.now()
    actor_id = actor.pk if actor is not None and actor.pk else None
    actor_label = actor_label or (actor.get_username() if actor_id else "system")
    target_type = target._meta.label_lower if target is not None else ""
    target_id = str(getattr(target, "code", None) or target.pk) if target is not None else ""
    data = json.loads(json.dumps(data or {}, default=str))
    # No savepoint when the caller's transaction is already open: two round trips fewer
    # while the head lock is held.
    with transaction.atomic(savepoint=False):
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        digest = _digest(
            prev_hash=head.last_hash, at=at, actor_id=actor_id, actor_label=actor_label,
            verb=verb, target_type=target_type, target_id=target_id, data=data,
        )
        rec = AuditRecord.objects.create(
            at=at, actor_id=actor_id, actor_label=actor_label, verb=verb,
            target_type=target_type, target_id=target_id, data=data,
            prev_hash=head.last_hash, hash=digest,
        )
        AuditHead.objects.filter(pk=1).update(
            last_id=rec.pk, last_hash=digest, count=head.count + 1
        )
    return rec


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order and recompute every hash."""
    head = AuditHead.objects.filter(pk=1).first()
    prev_hash, prev_id, checked = GENESIS, 0, 0
    qs = AuditRecord.objects.order_by("id")
    last_seen = 0
    while True:
        rows = list(qs.filter(id__gt=last_seen)[:batch])
        if not rows:
            break
        for r in rows:
            if r.prev_hash != prev_hash:
                return VerifyResult(
                    False, checked, r.pk,
                    f"bản ghi {r.pk}: liên kết tới bản ghi trước ({prev_id}) không khớp"
                    " — có bản ghi bị xóa hoặc sửa",
                )
            expect = _digest(
                prev_hash=r.prev_hash, at=r.at, actor_id=r.actor_id, actor_label=r.actor_label,
                verb=r.verb, target_type=r.target_type, target_id=r.target_id, data=r.data,
            )
            if expect != r.hash:
                return VerifyResult(False, checked, r.pk, f"bản ghi {r.pk}: nội dung đã bị sửa")
            prev_hash, prev_id = r.hash, r.pk
            checked += 1
        last_seen = rows[-1].pk
    if head is not None and (head.last_hash != prev_hash or head.count != checked):
        return VerifyResult(
            False, checked, head.last_id,
            f"bản ghi {head.last_id}: bản ghi cuối chuỗi đã bị xóa"
            f" (đầu chuỗi ghi {head.count} bản ghi, còn {checked})",
        )
    return VerifyResult(True, checked)
