"""National-portal synchronisation: each status change goes out with the portal's fields,
in order; a failure stops the consumer and the event is retried; synced dossiers feed 1.4."""

from chinhquyenso.dossiers import services as dossiers
from chinhquyenso.monitoring import portal, queries, services
from chinhquyenso.monitoring.models import PortalSync, PortalSyncFailure
from tests.conftest import birth_body


def submit(people, agency):
    body = birth_body(agency)
    return dossiers.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                                   agency=body["agency"], applicant=body["applicant"],
                                   form=body["form"])


def sync_share(agency):
    idx = queries.index_for(queries.get_unit(agency.code),
                            queries.get_period(queries.get_period("2026").as_of
                                               .strftime("%Y-%m")))
    ind = {i["code"]: i for g in idx["groups"] for i in g["indicators"]}
    return ind["1.4"]["numerator"], ind["1.4"]["denominator"]


def test_each_status_change_is_pushed_with_the_portal_fields(people, agency):
    sim = portal.Simulator()
    d = submit(people, agency)
    d = dossiers.receive_dossier(actor=people["receiver"], dossier=d)
    services.refresh()
    assert sync_share(agency) == (0, 1)
    assert portal.sync(portal=sim) == {"sent": 2, "failed": 0}
    assert [r["TrangThaiHoSo"] for r in sim.received] == ["1", "2"]
    assert [r["isUpdating"] for r in sim.received] == [False, True]
    rec = sim.received[-1]
    assert rec["MaHoSo"] == d.code and rec["MaTTHC"] == "1.001193"
    assert rec["KenhThucHien"] == "2"  # online
    assert len(rec["NgayTiepNhan"]) == 14 and rec["NgayTiepNhan"].isdigit()
    assert rec["MaDinhDanhDV"] == agency.code
    assert sync_share(agency) == (1, 1)
    assert portal.sync(portal=sim) == {"sent": 0, "failed": 0}
    assert services.verify()[0] == []


class Down:
    def send(self, record, updating):
        return False, "Cổng DVCQG không phản hồi"


def test_a_failed_send_is_retried_from_the_same_event(people, agency):
    d = submit(people, agency)
    assert portal.sync(portal=Down()) == {"sent": 0, "failed": 1}
    failure = PortalSyncFailure.objects.get()
    assert failure.attempts == 1 and failure.last_error == "Cổng DVCQG không phản hồi"
    portal.sync(portal=Down())
    assert PortalSyncFailure.objects.get().attempts == 2
    sim = portal.Simulator()
    assert portal.sync(portal=sim) == {"sent": 1, "failed": 0}
    assert sim.received[0]["MaHoSo"] == d.code
    assert not PortalSyncFailure.objects.exists()
    assert PortalSync.objects.get().status == 1


def test_demo_backfill_marks_only_received_demo_dossiers(people, agency):
    from chinhquyenso.dossiers.models import Dossier

    real = submit(people, agency)
    real = dossiers.receive_dossier(actor=people["receiver"], dossier=real)
    demo = submit(people, agency)
    demo = dossiers.receive_dossier(actor=people["receiver"], dossier=demo)
    Dossier.objects.filter(pk=demo.pk).update(is_demo=True)
    assert portal.mark_demo_synced(every=10**9) == 1
    assert list(PortalSync.objects.values_list("dossier_id", flat=True)) == [demo.pk]
