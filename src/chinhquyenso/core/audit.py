"""The audit trail as a hash chain. Each record stores the SHA-256 of the previous record;
editing or deleting any record breaks the chain, which `cqs audit verify` reports."""

import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditHead, AuditRecord

GENESIS = "0" * 64


def content_digest(*, at, actor_id, actor_label, verb, target_type, target_id, data) -> str:
    """SHA-256 of one record's content, canonical JSON."""
    body = json.dumps(
        [at.isoformat(), actor_id, actor_label, verb, target_type, target_id, data],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def link(prev_hash: str, content: str) -> str:
    """A record's hash: SHA-256 of the previous record's hash followed by its content digest
    (both lowercase hex). PostgreSQL computes the same in SQL (see _APPEND_SQL)."""
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


# One statement on PostgreSQL: lock the head, insert the record chained to it, move the
# head. Taken as the last statement before COMMIT, the chain's one global lock is held for
# this statement and the commit only.
_APPEND_SQL = """
WITH head AS (
    SELECT last_hash FROM core_audithead WHERE id = 1 FOR UPDATE
), rec AS (
    INSERT INTO core_auditrecord
        (at, actor_id, actor_label, verb, target_type, target_id, data, prev_hash, hash)
    SELECT %s, %s, %s, %s, %s, %s, %s::jsonb, head.last_hash,
           encode(sha256(convert_to(head.last_hash || %s, 'UTF8')), 'hex')
    FROM head
    RETURNING id, prev_hash, hash
)
UPDATE core_audithead h SET last_id = rec.id, last_hash = rec.hash, count = h.count + 1
FROM rec WHERE h.id = 1
RETURNING rec.id, rec.prev_hash, rec.hash
"""


def record(*, actor=None, verb: str, target=None, data: dict | None = None, actor_label: str = ""):
    """Append one record. Call inside the transaction of the change it records, as its last
    write: it takes the chain's head lock until commit."""
    at = timezone.now()
    actor_id = actor.pk if actor is not None and actor.pk else None
    actor_label = actor_label or (actor.get_username() if actor_id else "system")
    target_type = target._meta.label_lower if target is not None else ""
    target_id = str(getattr(target, "code", None) or target.pk) if target is not None else ""
    data = json.loads(json.dumps(data or {}, default=str))
    fields = {"at": at, "actor_id": actor_id, "actor_label": actor_label, "verb": verb,
              "target_type": target_type, "target_id": target_id, "data": data}
    content = content_digest(**fields)
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(_APPEND_SQL, [at, actor_id, actor_label, verb, target_type,
                                          target_id, json.dumps(data, ensure_ascii=False),
                                          content])
                row = cur.fetchone()
            if row is not None:
                return AuditRecord(pk=row[0], prev_hash=row[1], hash=row[2], **fields)
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        rec = AuditRecord.objects.create(prev_hash=head.last_hash,
                                         hash=link(head.last_hash, content), **fields)
        AuditHead.objects.filter(pk=1).update(last_id=rec.pk, last_hash=rec.hash,
                                              count=head.count + 1)
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
            expect = link(r.prev_hash, content_digest(
                at=r.at, actor_id=r.actor_id, actor_label=r.actor_label, verb=r.verb,
                target_type=r.target_type, target_id=r.target_id, data=r.data,
            ))
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
