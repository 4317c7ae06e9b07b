"""The audit trail: a hash chain in the database, anchored by signed checkpoints outside it.

Each record stores the SHA-256 of the record before it; editing or deleting a record breaks
the chain. An unkeyed chain alone does not stop someone who can write to the database: they
can delete the tail and mend the head, or edit a record and recompute every later hash. So
`checkpoint()` signs the chain's head (count, last id, last hash, time) with an Ed25519 key
that is not in the database and writes it as a file outside it, and `verify()` checks the
chain against every checkpoint (ADR 0004, after X-Road's message log: signed, time-stamped
batches).

Appending takes no shared lock: `record()` inserts the record unlinked in the writer's own
transaction, and `link_pending()` (the worker, `cqs audit link`, and before `verify` and
`checkpoint`) gives the committed records their place `seq` in the chain, a batch per head
lock. A record is linked when its transaction has committed, whatever its id: a lower id
that commits later simply gets a later place, so none is ever skipped.

Officers' reading of a citizen's personal data is kept apart, as plain rows
(`record_access`, `accesses_to`: Decree 13/2023/NĐ-CP)."""

import base64
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import fixedsql
from .models import AccessRecord, AuditHead, AuditRecord

log = logging.getLogger(__name__)

GENESIS = "0" * 64
LINK_BATCH = 1000
CHECKPOINT_FORMAT = "cqs-audit-checkpoint/1"
DEMO_WARNING = (
    "CẢNH BÁO: điểm kiểm tra được ký bằng khóa DEMO tạo tự động ({path}), không dùng cho vận"
    " hành thật: ai đọc được tệp này cũng giả được điểm kiểm tra. Đặt CQS_AUDIT_SIGNING_KEY_FILE"
    " (hoặc CQS_AUDIT_SIGNING_KEY) trỏ tới khóa Ed25519 của đơn vị."
)


def content_digest(*, at, actor_id, actor_label, verb, target_type, target_id, data) -> str:
    """SHA-256 of one record's content, canonical JSON."""
    body = json.dumps(
        [at.isoformat(), actor_id, actor_label, verb, target_type, target_id, data],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def link(prev_hash: str, content: str) -> str:
    """A record's hash: SHA-256 of the previous record's hash followed by its content digest
    (both lowercase hex)."""
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def _record_hash(prev_hash: str, r: AuditRecord) -> str:
    return link(
        prev_hash,
        content_digest(
            at=r.at,
            actor_id=r.actor_id,
            actor_label=r.actor_label,
            verb=r.verb,
            target_type=r.target_type,
            target_id=r.target_id,
            data=r.data,
        ),
    )


# --- appending ------------------------------------------------------------------------------


def record(*, actor=None, verb: str, target=None, data: dict | None = None, actor_label: str = ""):
    """Append one record, in the caller's transaction: a plain insert, unlinked (no place in
    the chain yet, no shared lock). It is linked after commit by `link_pending()`."""
    actor_id = actor.pk if actor is not None and actor.pk else None
    return fixedsql.insert_later(
        AuditRecord,
        at=timezone.now(),
        actor_id=actor_id,
        actor_label=actor_label or (actor.get_username() if actor_id else "system"),
        verb=verb,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(getattr(target, "code", None) or target.pk) if target is not None else "",
        data=json.loads(json.dumps(data or {}, default=str)),
    )


def _head_locked(wait: bool) -> AuditHead | None:
    """The head row, locked until the end of the transaction; None when another linker holds
    it and `wait` is False."""
    if not AuditHead.objects.filter(pk=1).exists():
        try:
            with transaction.atomic():
                AuditHead.objects.create(pk=1)
        except IntegrityError:
            pass  # made by another process at the same moment
    return AuditHead.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()


# Records that already carry a hash but no place: chained onto the head by an older writer
# (the payments IPN's flush, payments/fastpay.py, which takes the same head lock) or written
# before migration 0005. They follow the last placed record in id order, ending at the head.
_ADOPT_SQL = """
UPDATE core_auditrecord SET seq = r.rn + %s
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn
      FROM core_auditrecord WHERE seq IS NULL AND hash IS NOT NULL) AS r
WHERE core_auditrecord.id = r.id
"""


def link_pending(*, wait: bool = True, batch: int = LINK_BATCH) -> int:
    """Link every committed unlinked record into the chain, oldest id first, `batch` records
    per transaction (one head lock each). With `wait=False` it returns at once when another
    linker is at work (that one will take what is pending). Returns how many it linked."""
    done = 0
    while True:
        with transaction.atomic():
            head = _head_locked(wait)
            if head is None:
                return done
            adopt = AuditRecord.objects.filter(seq__isnull=True, hash__isnull=False).count()
            if adopt:
                with connection.cursor() as cur:
                    cur.execute(_ADOPT_SQL, [head.count - adopt])
            rows = list(
                AuditRecord.objects.filter(seq__isnull=True, hash__isnull=True).order_by("id")[
                    :batch
                ]
            )
            if not rows:
                return done
            prev, seq = head.last_hash, head.count
            for r in rows:
                seq += 1
                r.prev_hash, r.hash, r.seq = prev, _record_hash(prev, r), seq
                prev = r.hash
            AuditRecord.objects.bulk_update(rows, ["prev_hash", "hash", "seq"])
            AuditHead.objects.filter(pk=1).update(last_id=rows[-1].pk, last_hash=prev, count=seq)
            done += len(rows)
        if len(rows) < batch:
            return done


def link_job() -> int:
    """The worker's periodic linking (settings.CQS_PERIODIC_JOBS); skipped while another
    linker is at work."""
    return link_pending(wait=False)


def checkpoint_job() -> "Checkpoint | None":
    """The worker's periodic checkpoint (settings.CQS_PERIODIC_JOBS): a new one when the
    chain has grown since the last; a chain that does not verify raises CheckpointError,
    which the worker logs."""
    link_pending()
    head = AuditHead.objects.filter(pk=1).first()
    last, _ = load_checkpoints()
    if head is None or (last and last[-1].count == head.count):
        return None
    cp, key = checkpoint()
    if key.demo:
        log.warning(DEMO_WARNING.format(path=key.source))
    return cp


# --- the signing key ------------------------------------------------------------------------


def _demo_key_path() -> Path:
    return Path(settings.VAR_DIR) / "audit" / "demo-ed25519.pem"


def _load_pem(pem: bytes):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("Khóa ký nhật ký kiểm toán phải là khóa Ed25519 (PEM, PKCS#8).")
    return key


def _make_demo_key(path: Path):
    """Made once (O_EXCL: two processes starting together agree on one key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)  # fails if another process made one first: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


@dataclass
class SigningKey:
    private: object | None
    demo: bool
    source: str

    @property
    def public_raw(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.public_raw).hexdigest()[:16]


def signing_key(*, create: bool = True) -> SigningKey:
    """The checkpoint key, never from the database: CQS_AUDIT_SIGNING_KEY (PEM text), else
    the file CQS_AUDIT_SIGNING_KEY_FILE, else the demo key under var/audit/ (made now when
    `create`; `private` is None when it does not exist and not `create`)."""
    if settings.CQS_AUDIT_SIGNING_KEY:
        return SigningKey(
            _load_pem(settings.CQS_AUDIT_SIGNING_KEY.encode()), False, "CQS_AUDIT_SIGNING_KEY"
        )
    if settings.CQS_AUDIT_SIGNING_KEY_FILE:
        path = Path(settings.CQS_AUDIT_SIGNING_KEY_FILE)
        return SigningKey(_load_pem(path.read_bytes()), False, str(path))
    path = _demo_key_path()
    if not path.exists():
        if not create:
            return SigningKey(None, True, str(path))
        _make_demo_key(path)
    return SigningKey(_load_pem(path.read_bytes()), True, str(path))


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --- checkpoints ----------------------------------------------------------------------------


@dataclass
class Checkpoint:
    count: int
    last_id: int
    last_hash: str
    at: str
    path: Path | None = None


def checkpoint_dir() -> Path:
    return Path(settings.CQS_AUDIT_CHECKPOINT_DIR)


class CheckpointError(Exception):
    """The chain cannot be signed (it does not extend the last checkpoint)."""


def checkpoint() -> tuple[Checkpoint, SigningKey]:
    """Link what is pending, check that the chain since the last valid checkpoint is intact
    and ends at the head, then sign the head and write it as a new file in
    CQS_AUDIT_CHECKPOINT_DIR. Raises CheckpointError when the chain does not verify."""
    key = signing_key()
    link_pending()
    result = verify(_linked=True, key=key, since_last_checkpoint=True)
    if not result.ok:
        raise CheckpointError(result.reason)
    head = AuditHead.objects.filter(pk=1).first() or AuditHead(pk=1)
    at = timezone.now()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "count": head.count,
        "last_id": head.last_id,
        "last_hash": head.last_hash,
        "at": at.isoformat(),
        "key_id": key.key_id,
    }
    signature = base64.b64encode(key.private.sign(_canonical(payload))).decode()
    folder = checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{head.count:012d}-{at.strftime('%Y%m%dT%H%M%S%f')}"
    path = folder / f"{name}.json"
    n = 1
    while path.exists():  # two checkpoints in the same microsecond
        path, n = folder / f"{name}-{n}.json", n + 1
    tmp = folder / f".{path.name}.tmp"
    tmp.write_text(
        json.dumps({"payload": payload, "signature": signature}, ensure_ascii=False, indent=1)
        + "\n"
    )
    os.replace(tmp, path)
    return Checkpoint(head.count, head.last_id, head.last_hash, payload["at"], path), key


def load_checkpoints(key: SigningKey | None = None) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint file whose signature verifies with the key, by count; and a
    Vietnamese line for each file that does not."""
    from cryptography.exceptions import InvalidSignature

    folder = checkpoint_dir()
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return [], []
    key = key or signing_key(create=False)
    if key.private is None:
        return [], [
            f"có {len(files)} điểm kiểm tra nhưng không có khóa để kiểm tra"
            f" ({key.source} không tồn tại)"
        ]
    public = key.private.public_key()
    good, bad = [], []
    for path in files:
        try:
            doc = json.loads(path.read_text())
            payload = doc["payload"]
            public.verify(base64.b64decode(doc["signature"], validate=True), _canonical(payload))
            if payload.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(payload.get("format"))
            cp = Checkpoint(
                int(payload["count"]),
                int(payload["last_id"]),
                str(payload["last_hash"]),
                str(payload["at"]),
                path,
            )
        except InvalidSignature:
            bad.append(f"điểm kiểm tra {path.name}: chữ ký không hợp lệ (tệp bị sửa hoặc giả)")
            continue
        except (ValueError, KeyError, TypeError, OSError):
            bad.append(f"điểm kiểm tra {path.name}: tệp hỏng, không đọc được")
            continue
        good.append(cp)
    good.sort(key=lambda c: c.count)
    return good, bad


# --- verifying ------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)


def verify(
    batch: int = 5000,
    *,
    _linked: bool = False,
    key: SigningKey | None = None,
    since_last_checkpoint: bool = False,
) -> VerifyResult:
    """Link what is pending, then walk the chain in order, recompute every hash, and check it
    against the head and against every signed checkpoint (its hash at its place, and that the
    chain is not shorter than it). `since_last_checkpoint`: walk only from the last
    checkpoint on (the record at its place must still be the signed one): what a new
    checkpoint needs, in time proportional to what was appended since."""
    if not _linked:
        link_pending()
    checkpoints, bad = load_checkpoints(key)
    if bad:
        return VerifyResult(False, 0, None, bad[0], 0, bad)
    at_count = {}
    for cp in checkpoints:
        at_count.setdefault(cp.count, []).append(cp)
    head = AuditHead.objects.filter(pk=1).first()
    prev_hash, prev_id, checked = GENESIS, 0, 0
    qs = AuditRecord.objects.filter(seq__isnull=False).order_by("seq")
    if since_last_checkpoint and checkpoints:
        last = checkpoints[-1]
        r = qs.filter(seq=last.count).first() if last.count else None
        if last.count and r is None:
            return VerifyResult(
                False,
                0,
                last.last_id,
                f"bản ghi {last.last_id}: cuối chuỗi đã bị xóa — điểm kiểm tra đã ký"
                f" {last.path.name} ghi {last.count} bản ghi",
                len(checkpoints),
            )
        if r is not None and (r.hash != last.last_hash or r.pk != last.last_id):
            return VerifyResult(
                False,
                last.count,
                r.pk,
                f"bản ghi {r.pk}: chuỗi đã bị viết lại — khác điểm kiểm tra đã ký {last.path.name}",
                len(checkpoints),
            )
        prev_hash, prev_id, checked = last.last_hash, last.last_id, last.count
    while True:
        rows = list(qs.filter(seq__gt=checked)[:batch])
        if not rows:
            break
        for r in rows:
            if r.seq != checked + 1 or r.prev_hash != prev_hash:
                return VerifyResult(
                    False,
                    checked,
                    r.pk,
                    f"bản ghi {r.pk}: liên kết tới bản ghi trước ({prev_id}) không khớp"
                    " — có bản ghi bị xóa hoặc sửa",
                    len(checkpoints),
                )
            if _record_hash(r.prev_hash, r) != r.hash:
                return VerifyResult(
                    False, checked, r.pk, f"bản ghi {r.pk}: nội dung đã bị sửa", len(checkpoints)
                )
            prev_hash, prev_id = r.hash, r.pk
            checked += 1
            for cp in at_count.get(checked, ()):
                if cp.last_hash != r.hash or cp.last_id != r.pk:
                    return VerifyResult(
                        False,
                        checked,
                        r.pk,
                        f"bản ghi {r.pk}: chuỗi đã bị viết lại — khác điểm kiểm tra đã ký"
                        f" {cp.path.name} (bản ghi thứ {cp.count}, mã {cp.last_id})",
                        len(checkpoints),
                    )
    for cp in checkpoints:
        if cp.count > checked:
            return VerifyResult(
                False,
                checked,
                cp.last_id,
                f"bản ghi {cp.last_id}: cuối chuỗi đã bị xóa — điểm kiểm tra đã ký"
                f" {cp.path.name} ghi {cp.count} bản ghi, chuỗi chỉ còn {checked}",
                len(checkpoints),
            )
    if head is not None and (head.last_hash != prev_hash or head.count != checked):
        return VerifyResult(
            False,
            checked,
            head.last_id,
            f"bản ghi {head.last_id}: bản ghi cuối chuỗi đã bị xóa"
            f" (đầu chuỗi ghi {head.count} bản ghi, còn {checked})",
            len(checkpoints),
        )
    return VerifyResult(True, checked, checkpoints=len(checkpoints))


# --- reading of personal data (Decree 13/2023/NĐ-CP) ---------------------------------------


def record_access(
    *, actor, target, what: str, citizen=None, citizen_id_number: str = "", detail: str = ""
) -> AccessRecord | None:
    """Record that `actor` read the personal data of a citizen (`citizen`: their account or
    its id, and/or `citizen_id_number`) held in `target` (e.g. a dossier); `what`: what was
    read ("dossier.view", "file.download", "form.pdf", "api.dossier"). The citizen's own
    reading is not recorded. Decree 13/2023/NĐ-CP, art. 9 (the data subject's right to be
    informed of the processing of their data)."""
    if actor is None or not getattr(actor, "pk", None):
        return None
    citizen_pk = getattr(citizen, "pk", citizen)
    if citizen_pk is not None and citizen_pk == actor.pk:
        return None
    if (
        citizen_pk is None
        and citizen_id_number
        and getattr(actor, "id_number", "") == citizen_id_number
    ):
        return None
    return fixedsql.insert(
        AccessRecord,
        at=timezone.now(),
        actor_id=actor.pk,
        actor_label=actor.get_username()[:150],
        citizen_id=citizen_pk,
        citizen_id_number=(citizen_id_number or "")[:20],
        what=what[:32],
        target_type=target._meta.label_lower if target is not None else "",
        target_id=(
            str(getattr(target, "code", None) or target.pk)[:64] if target is not None else ""
        ),
        detail=(detail or "")[:200],
    )


def accesses_to(citizen):
    """Who read this citizen's personal data, newest first: the records naming their account
    or their identity number (dossiers filed for them at the desk)."""
    q = Q(citizen=citizen)
    if getattr(citizen, "id_number", ""):
        q |= Q(citizen_id_number=citizen.id_number)
    return AccessRecord.objects.filter(q).order_by("-at", "-id")
