"""The audit trail is a hash chain: `cqs audit verify` finds an edit or a deletion."""

import pytest
from django.core.management import CommandError, call_command

from chinhquyenso.core import audit
from chinhquyenso.core.models import AuditRecord


@pytest.fixture
def chain(db):
    return [audit.record(verb="test.event", data={"n": i}) for i in range(5)]


def test_intact_chain_verifies(chain, capsys):
    call_command("audit", "verify")
    assert "5 bản ghi" in capsys.readouterr().out


def test_each_record_holds_the_hash_of_the_previous(chain):
    assert chain[0].prev_hash == audit.GENESIS
    for prev, rec in zip(chain, chain[1:], strict=False):
        assert rec.prev_hash == prev.hash


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
