"""The index follows the dossiers as they move, through the outbox consumer, without a full
recomputation; and `verify` agrees with the maintained figures after every step."""

from datetime import datetime
from zoneinfo import ZoneInfo

from chinhquyenso.dossiers import services as dossiers
from chinhquyenso.monitoring import queries, services
from tests.conftest import birth_body

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=VN)


def submit(people, agency, when):
    body = birth_body(agency)
    return dossiers.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                                   agency=body["agency"], applicant=body["applicant"],
                                   form=body["form"], at=at(when))


def on_time(agency):
    """The October index as the monitor sees it after the month, on 25/11/2026."""
    unit = queries.get_unit(agency.code)
    idx = queries.index_for(unit, queries.get_period("2026-10", at=at("2026-11-25T09:00")))
    ind = {i["code"]: i for g in idx["groups"] for i in g["indicators"]}
    return ind["2.1"]["numerator"], ind["2.1"]["denominator"], ind["5.4"]["numerator"]


def consume_and_verify():
    services.refresh()
    diffs, _ = services.verify()
    assert diffs == []


def test_index_moves_with_each_dossier_change(people, agency, clock):
    """Procedure 1.001193 takes 4 working days. Two dossiers received Mon 5/10/2026 09:00
    (due Fri 9/10 09:00). A: approved Wed 7/10 → on time, returned, rated unsatisfied
    (5.4 drops it). B: approved Tue 20/10 → late."""
    assert on_time(agency) == (0, 0, 0)
    a = submit(people, agency, "2026-10-05T08:30")
    b = submit(people, agency, "2026-10-05T08:40")
    clock.set("2026-10-05T09:00")
    a = dossiers.receive_dossier(actor=people["receiver"], dossier=a)
    b = dossiers.receive_dossier(actor=people["receiver"], dossier=b)
    consume_and_verify()
    # both in processing; judged on 31/10 (the period's end) they are past due: late
    assert on_time(agency) == (0, 2, 0)
    clock.set("2026-10-06T10:00")
    a = dossiers.forward_dossier(actor=people["specialist"], dossier=a)
    clock.set("2026-10-07T10:00")
    a = dossiers.approve_dossier(actor=people["leader"], dossier=a)
    consume_and_verify()
    assert on_time(agency) == (1, 2, 1)
    clock.set("2026-10-08T10:00")
    a = dossiers.return_result(actor=people["receiver"], dossier=a)
    dossiers.rate_dossier(actor=people["citizen"], dossier=a, rating="unsatisfied",
                          comment="Chờ lâu ở quầy")
    consume_and_verify()
    assert on_time(agency) == (1, 2, 0)
    clock.set("2026-10-19T10:00")
    b = dossiers.forward_dossier(actor=people["specialist"], dossier=b)
    clock.set("2026-10-20T10:00")
    dossiers.approve_dossier(actor=people["leader"], dossier=b)
    consume_and_verify()
    assert on_time(agency) == (1, 2, 0)


def test_refresh_reads_each_event_once_and_resumes(people, agency, clock):
    clock.set("2026-10-05T09:00")
    d = submit(people, agency, "2026-10-05T08:30")
    dossiers.receive_dossier(actor=people["receiver"], dossier=d)
    assert services.refresh() == 2  # submit, receive
    assert services.refresh() == 0
    clock.set("2026-10-06T09:00")
    dossiers.withdraw_dossier(actor=people["citizen"], dossier=d)
    assert services.refresh() == 1
    assert on_time(agency) == (1, 1, 1)  # withdrawn on 6/10, before its due date
