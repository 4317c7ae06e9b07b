"""The audit trail: a hash chain that `cqs audit verify` checks, anchored by checkpoints
signed with a key outside the database (ADR 0004). Each tampering below is what someone who
can write to the database could do: plain SQL on the records and on the head, recomputing
the hashes with the same public algorithm (core.audit.link, content_digest)."""

import base64
import json
import os
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from chinhquyenso.core import audit
from chinhquyenso.core.models import AuditHead, AuditRecord


@pytest.fixture(autouse=True)
def _outside(tmp_path, settings):
    """Checkpoints and the demo key in this test's own folders."""
    settings.VAR_DIR = tmp_path / "var"
    settings.CQS_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    settings.CQS_AUDIT_SIGNING_KEY = ""
    settings.CQS_AUDIT_SIGNING_KEY_FILE = ""


@pytest.fixture
def chain(db):
    recs = [audit.record(verb="test.event", data={"n": i}) for i in range(5)]
    audit.link_pending()
    return [AuditRecord.objects.get(pk=r.pk) for r in recs]


def linked():
    return list(AuditRecord.objects.filter(seq__isnull=False).order_by("seq"))


def rehash_from(position: int):
    """The attacker's repair: recompute every hash from `position` (1-based) on with the
    public algorithm, and mend the head."""
    rows = linked()
    prev = rows[position - 2].hash if position > 1 else audit.GENESIS
    for r in rows[position - 1:]:
        h = audit.link(prev, audit.content_digest(
            at=r.at, actor_id=r.actor_id, actor_label=r.actor_label, verb=r.verb,
            target_type=r.target_type, target_id=r.target_id, data=r.data))
        with connection.cursor() as cur:
            cur.execute("UPDATE core_auditrecord SET prev_hash = %s, hash = %s WHERE id = %s",
                        [prev, h, r.pk])
        prev = h
    with connection.cursor() as cur:
        cur.execute("UPDATE core_audithead SET last_hash = %s, last_id = %s, count = %s"
                    " WHERE id = 1", [prev, rows[-1].pk, len(rows)])


def fails(match: str):
    with pytest.raises(CommandError, match=match):
        call_command("audit", "verify")


# --- the chain ------------------------------------------------------------------------------


def test_intact_chain_verifies(chain, capsys):
    call_command("audit", "verify")
    assert "5 bản ghi" in capsys.readouterr().out


def test_each_record_holds_the_hash_of_the_previous(chain):
    assert chain[0].prev_hash == audit.GENESIS
    for prev, rec in zip(chain, chain[1:], strict=False):
        assert rec.prev_hash == prev.hash
    assert [r.seq for r in chain] == [1, 2, 3, 4, 5]


def test_edited_record_is_named(chain):
    AuditRecord.objects.filter(pk=chain[2].pk).update(data={"n": 99})
    result = audit.verify()
    assert not result.ok and result.broken_id == chain[2].pk
    with pytest.raises(CommandError, match=str(chain[2].pk)):
        call_command("audit", "verify")


def test_deleted_record_breaks_the_chain(chain):
    AuditRecord.objects.filter(pk=chain[1].pk).delete()
    result = audit.verify()
    assert not result.ok and result.broken_id == chain[2].pk


def test_deleting_the_last_record_is_caught(chain):
    AuditRecord.objects.filter(pk=chain[-1].pk).delete()
    assert not audit.verify().ok


# --- signed checkpoints ---------------------------------------------------------------------


def test_checkpoint_signs_the_head_into_a_file_outside_the_database(chain, settings, capsys):
    demo_key = settings.VAR_DIR / "audit" / "demo-ed25519.pem"
    assert not demo_key.exists()  # made on first use, not when settings load
    call_command("audit", "checkpoint")
    out = capsys.readouterr()
    assert "khóa DEMO" in out.err and str(demo_key) in out.err
    [path] = list((settings.VAR_DIR.parent / "checkpoints").glob("*.json"))
    doc = json.loads(path.read_text())
    assert doc["payload"]["count"] == 5
    assert doc["payload"]["last_id"] == chain[-1].pk
    assert doc["payload"]["last_hash"] == chain[-1].hash
    assert doc["payload"]["at"].startswith("2026-11-25T")  # the suite's frozen clock
    # An Ed25519 signature over the payload, with the key that is not in the database.
    key = serialization.load_pem_private_key(demo_key.read_bytes(), password=None)
    key.public_key().verify(base64.b64decode(doc["signature"]),
                            json.dumps(doc["payload"], ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":")).encode())
    call_command("audit", "verify")
    assert "khớp 1 điểm kiểm tra đã ký" in capsys.readouterr().out


def test_truncated_tail_with_mended_head_is_caught(chain):
    call_command("audit", "checkpoint")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditrecord WHERE id IN (%s, %s)",
                    [chain[3].pk, chain[4].pk])
        cur.execute("UPDATE core_audithead SET last_id = %s, last_hash = %s, count = 3"
                    " WHERE id = 1", [chain[2].pk, chain[2].hash])
    fails("cuối chuỗi đã bị xóa .* ghi 5 bản ghi, chuỗi chỉ còn 3")


def test_truncation_then_new_records_is_caught(chain):
    """The tail deleted, the head mended, then new records appended: the chain is as long as
    the checkpoint says again, but the record at its place is not the signed one."""
    call_command("audit", "checkpoint")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditrecord WHERE id = %s", [chain[4].pk])
        cur.execute("UPDATE core_audithead SET last_id = %s, last_hash = %s, count = 4"
                    " WHERE id = 1", [chain[3].pk, chain[3].hash])
    audit.record(verb="test.after")
    fails("viết lại")


def test_rewritten_record_with_every_later_hash_recomputed_is_caught(chain):
    call_command("audit", "checkpoint")
    AuditRecord.objects.filter(pk=chain[1].pk).update(data={"n": "sửa"})
    rehash_from(2)
    assert audit.verify(since_last_checkpoint=False, key=None).ok is False
    fails(f"bản ghi {chain[-1].pk}: chuỗi đã bị viết lại")


def test_rewrite_is_caught_by_an_older_checkpoint_too(chain):
    call_command("audit", "checkpoint")  # at 5
    for i in range(3):
        audit.record(verb="test.more", data={"i": i})
    call_command("audit", "checkpoint")  # at 8
    AuditRecord.objects.filter(pk=chain[0].pk).update(actor_label="ai đó")
    rehash_from(1)
    fails("chuỗi đã bị viết lại")


def test_tampered_checkpoint_file_is_caught(chain, settings):
    call_command("audit", "checkpoint")
    [path] = list((settings.VAR_DIR.parent / "checkpoints").glob("*.json"))
    doc = json.loads(path.read_text())
    doc["payload"]["count"] = 3
    doc["payload"]["last_id"], doc["payload"]["last_hash"] = chain[2].pk, chain[2].hash
    path.write_text(json.dumps(doc))
    fails("chữ ký không hợp lệ")


def test_checkpoint_forged_with_another_key_is_caught(chain, settings):
    """The attacker rewrites the chain and signs a matching checkpoint with a key of their
    own (they cannot read ours)."""
    call_command("audit", "checkpoint")
    folder = settings.VAR_DIR.parent / "checkpoints"
    AuditRecord.objects.filter(pk=chain[1].pk).update(data={"n": "sửa"})
    rehash_from(2)
    head = AuditHead.objects.get(pk=1)
    payload = {"format": audit.CHECKPOINT_FORMAT, "count": 5, "last_id": head.last_id,
               "last_hash": head.last_hash, "at": "2026-11-25T09:00:00+07:00",
               "key_id": "0" * 16}
    sig = Ed25519PrivateKey.generate().sign(
        json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
    for old in folder.glob("*.json"):
        old.unlink()  # even with the genuine checkpoints gone
    (folder / "000000000005-forged.json").write_text(
        json.dumps({"payload": payload, "signature": base64.b64encode(sig).decode()}))
    fails("chữ ký không hợp lệ")


def test_checkpoints_without_their_key_fail(chain, settings):
    call_command("audit", "checkpoint")
    (settings.VAR_DIR / "audit" / "demo-ed25519.pem").unlink()
    fails("không có khóa để kiểm tra")


def test_checkpoint_refuses_to_sign_a_rewritten_chain(chain):
    call_command("audit", "checkpoint")
    AuditRecord.objects.filter(pk=chain[1].pk).update(data={"n": "sửa"})
    rehash_from(2)
    audit.record(verb="test.more")
    with pytest.raises(CommandError, match="Không ký điểm kiểm tra"):
        call_command("audit", "checkpoint")


def test_key_from_settings_is_used_and_no_demo_key_is_made(chain, settings, capsys):
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    settings.CQS_AUDIT_SIGNING_KEY = pem
    call_command("audit", "checkpoint")
    assert "DEMO" not in capsys.readouterr().err
    assert not (settings.VAR_DIR / "audit").exists()
    call_command("audit", "verify")
    # Another key (the attacker's, or a wrong configuration) does not verify them.
    settings.CQS_AUDIT_SIGNING_KEY = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    fails("chữ ký không hợp lệ")


def test_key_file_setting(chain, settings, tmp_path):
    path = tmp_path / "audit-key.pem"
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    settings.CQS_AUDIT_SIGNING_KEY_FILE = str(path)
    cp, key = audit.checkpoint()
    assert not key.demo and cp.count == 5
    assert audit.verify().ok


# --- appending without a shared lock --------------------------------------------------------


def test_record_is_written_unlinked_and_linked_later(db):
    rec = audit.record(verb="test.event")
    assert rec.hash is None and rec.seq is None
    assert audit.link_pending() == 1
    rec.refresh_from_db()
    assert rec.seq == 1 and rec.prev_hash == audit.GENESIS
    assert AuditHead.objects.get(pk=1).last_hash == rec.hash
    assert audit.link_pending() == 0


def test_linking_goes_in_batches(db):
    for i in range(7):
        audit.record(verb="test.event", data={"i": i})
    assert audit.link_pending(batch=3) == 7
    assert [r.seq for r in linked()] == list(range(1, 8))
    assert audit.verify().ok


def test_records_chained_by_an_older_writer_are_placed(db):
    """Records that carry a hash but no place (written before migration 0005, or by the
    payments IPN's own flush, which chains onto the head under its lock) keep their hash and
    get their place."""
    head, _ = AuditHead.objects.get_or_create(pk=1)
    prev = head.last_hash
    for i in range(3):
        r = AuditRecord(at=audit.timezone.now(), actor_label="system", verb="old", data={"i": i})
        r.prev_hash, r.hash = prev, audit._record_hash(prev, r)
        r.save()
        prev = r.hash
    AuditHead.objects.filter(pk=1).update(last_id=r.pk, last_hash=prev, count=3)
    audit.record(verb="new")
    assert audit.link_pending() == 1
    assert [r.verb for r in linked()] == ["old", "old", "old", "new"]
    assert audit.verify().ok


postgres_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="real concurrency: PostgreSQL only",
)


def _in_other_transaction(started: threading.Event, release: threading.Event, out: dict):
    """Another writer: records in its transaction and keeps it open until `release`."""
    try:
        with transaction.atomic():
            out["rec"] = audit.record(verb="test.slow")
            started.set()
            release.wait(10)
    finally:
        connection.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_writer_does_not_wait_for_another_writers_open_transaction():
    started, release, out = threading.Event(), threading.Event(), {}
    t = threading.Thread(target=_in_other_transaction, args=(started, release, out))
    t.start()
    try:
        assert started.wait(10)
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '2s'")
            audit.record(verb="test.fast")  # before: waited on the head's row lock
    finally:
        release.set()
        t.join()
    audit.link_pending()
    assert {r.verb for r in linked()} == {"test.slow", "test.fast"}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lower_id_committing_later_is_linked_not_skipped():
    started, release, out = threading.Event(), threading.Event(), {}
    t = threading.Thread(target=_in_other_transaction, args=(started, release, out))
    t.start()
    try:
        assert started.wait(10)
        fast = audit.record(verb="test.fast")  # autocommit: committed now, a higher id
        assert fast.pk > out["rec"].pk
        assert audit.link_pending() == 1  # only what has committed
    finally:
        release.set()
        t.join()
    assert audit.link_pending() == 1
    assert [(r.pk, r.seq) for r in linked()] == [(fast.pk, 1), (out["rec"].pk, 2)]
    assert audit.verify().ok


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_linkers_build_one_intact_chain():
    errors = []

    def writer(n):
        try:
            for i in range(20):
                with transaction.atomic():
                    audit.record(verb="test.w", data={"w": n, "i": i})
                if i % 5 == 0:
                    audit.link_pending(wait=n % 2 == 0)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    audit.link_pending()
    assert AuditRecord.objects.filter(seq__isnull=True).count() == 0
    result = audit.verify()
    assert result.ok and result.checked == 120


def test_the_workers_jobs_link_and_sign_only_when_the_chain_grew(db, caplog):
    audit.record(verb="test.event")
    assert audit.link_job() == 1
    cp = audit.checkpoint_job()
    assert cp is not None and cp.count == 1
    assert "khóa DEMO" in caplog.text
    assert audit.checkpoint_job() is None  # nothing new: no new file
    audit.record(verb="test.event")
    assert audit.checkpoint_job().count == 2
    assert len(list(cp.path.parent.glob("*.json"))) == 2
