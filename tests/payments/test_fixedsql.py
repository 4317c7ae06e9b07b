"""core/fixedsql.py: the IPN's fixed statements give what the ORM gives, on both databases
(values converted as the ORM converts them: aware timestamps, booleans, JSON), and the writes
sent together in one round trip on PostgreSQL fail and roll back as the ORM's would."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from chinhquyenso.core import fixedsql
from chinhquyenso.core.models import AuditRecord, Notification
from chinhquyenso.dossiers.models import Dossier
from chinhquyenso.payments import queries
from chinhquyenso.payments.models import PaymentOrder
from tests.conftest import ON_POSTGRES
from tests.payments.test_payments import ipn, ipn_params, pay


def _values(obj, exclude=()):
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in exclude
    }


def test_order_to_settle_reads_what_the_orm_reads(api, dossier_code):
    order = pay(api, dossier_code)
    Dossier.objects.filter(code=dossier_code).update(form={"ghi_chu": "Hải Phòng"})
    mine = queries.order_to_settle(order.txn_ref)
    orm = PaymentOrder.objects.select_related("agency", "dossier__procedure").get(pk=order.pk)
    assert _values(mine) == _values(orm)
    assert _values(mine.dossier, exclude={"form"}) == _values(orm.dossier, exclude={"form"})
    assert mine.dossier.procedure.name == orm.dossier.procedure.name
    assert (mine.agency.code, mine.agency.name) == (orm.agency.code, orm.agency.name)
    assert mine.expires_at.tzinfo is not None and mine.dossier.submitted_at.tzinfo is not None
    assert mine.dossier.paid_online is False and mine.dossier.digitised is True
    # The column not read is loaded when touched, as with .only().
    assert mine.dossier.form == {"ghi_chu": "Hải Phòng"}
    assert queries.order_to_settle("KHONGCO") is None
    assert queries.order_to_settle("X" * 41) is None


def test_insert_is_create(people):
    moment = timezone.now()
    made = fixedsql.insert(
        AuditRecord, at=moment, verb="test.insert", data={"số": 1, "khi": "bây giờ"}
    )
    orm = AuditRecord.objects.create(
        at=moment, verb="test.insert", data={"số": 1, "khi": "bây giờ"}
    )
    assert made.pk and made.pk != orm.pk
    got = AuditRecord.objects.get(pk=made.pk)
    assert _values(got, exclude={"id"}) == _values(orm, exclude={"id"})
    assert got.prev_hash == "" and got.hash is None  # the model's defaults, as create()
    note = fixedsql.insert(
        Notification, user_id=people["citizen"].pk, title="Thử", created_at=timezone.now()
    )
    assert Notification.objects.get(pk=note.pk).attempts == 0


def test_save_fields_runs_auto_now(api, dossier_code, clock):
    d = Dossier.objects.get(code=dossier_code)
    before = d.updated_at
    clock.set(before + timedelta(minutes=5))
    d.paid_online = True
    fixedsql.save_fields(d, ["paid_online", "updated_at"])
    d.refresh_from_db()
    assert d.paid_online and d.updated_at == before + timedelta(minutes=5)


@pytest.mark.skipif(not ON_POSTGRES, reason="pipeline mode: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_pipelined_writes_fail_and_roll_back_like_the_orm(people, clock):
    with transaction.atomic(), fixedsql.pipelined():
        later = fixedsql.insert_later(AuditRecord, at=timezone.now(), verb="test.later")
        assert later.pk is None  # sent, its answer not waited for
        now = fixedsql.insert(AuditRecord, at=timezone.now(), verb="test.now")
        assert now.pk is not None
    assert AuditRecord.objects.filter(verb__in=["test.later", "test.now"]).count() == 2
    # A unique violation inside the pipeline surfaces as Django's IntegrityError, and the
    # whole transaction is rolled back.
    with pytest.raises(IntegrityError), transaction.atomic(), fixedsql.pipelined():
        fixedsql.insert_later(AuditRecord, at=timezone.now(), verb="test.a", hash="h" * 64)
        fixedsql.insert_later(AuditRecord, at=timezone.now(), verb="test.b", hash="h" * 64)
    assert not AuditRecord.objects.filter(verb__in=["test.a", "test.b"]).exists()


def test_ipn_settles_through_the_fixed_path_on_both_databases(api, dossier_code):
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order))["RspCode"] == "00"
    order.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None
    assert order.receipt.amount == order.amount and order.receipt.payer_name
    d = Dossier.objects.get(code=dossier_code)
    assert d.paid_online and d.events.filter(action="pay").count() == 1
