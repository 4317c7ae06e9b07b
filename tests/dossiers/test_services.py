"""The dossier lifecycle through the service layer, with times worked out by hand."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core.audit import verify
from chinhquyenso.core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied
from chinhquyenso.core.models import OutboxEvent
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.models import Dossier, DossierEvent, Status
from tests.conftest import birth_body

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=VN)


def submit(people, agency, who="citizen", when=None):
    body = birth_body(agency)
    return services.submit_dossier(actor=people[who], procedure=body["procedure"],
                                   agency=body["agency"], applicant=body["applicant"],
                                   form=body["form"], at=at(when) if when else None)


def test_code_follows_circular_01_2018_art_19(people, agency):
    """Mã hồ sơ = mã định danh cơ quan - yymmdd - số thứ tự trong ngày (TT 01/2018 Đ.19)."""
    first = submit(people, agency, when="2026-11-23T08:00")
    second = submit(people, agency, when="2026-11-23T16:00")
    next_day = submit(people, agency, when="2026-11-24T08:00")
    assert first.code == "000.21.31.H31-261123-0001"
    assert second.code == "000.21.31.H31-261123-0002"
    assert next_day.code == "000.21.31.H31-261124-0001"
    assert first.status == Status.NEW


def test_receive_starts_the_clock_and_plans_every_step(people, agency, clock):
    """Received Wednesday 09:00, 4 working days → due Tuesday 09:00; each step's due from
    its share (0.125, 0.5, 0.25, 0.125 of 4 days, 450 working minutes a day)."""
    d = submit(people, agency)
    clock.set("2026-11-25T09:00")
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    assert d.status == Status.RECEIVED
    assert d.due_at == at("2026-12-01T09:00")
    dues = [s.due_at for s in d.steps.order_by("position")]
    assert dues == [at("2026-11-25T14:45"), at("2026-11-27T14:45"), at("2026-11-30T14:45"),
                    at("2026-12-01T09:00")]
    assert d.current_step == 2


def test_receipt_outside_working_hours_counts_from_next_working_morning(people, agency, clock):
    """Nghị định 45/2020 Điều 11: a dossier received after hours counts from the next
    working period. Received Friday 18:00 → clock from Monday 07:30; four whole working days
    (Mon–Thu) end Thursday 17:00."""
    d = submit(people, agency)
    clock.set("2026-11-27T18:00")
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    assert d.clock_started_at == at("2026-11-30T07:30")
    assert d.due_at == at("2026-12-03T17:00")


def test_supplement_request_pauses_the_deadline(people, agency, clock):
    """Thời gian chờ bổ sung không tính: requested Thursday 10:00, supplemented Monday
    10:00 = 300 + 450 + 150 = 900 working minutes, so due moves from Tue 09:00 to Thu 09:00."""
    d = submit(people, agency)
    clock.set("2026-11-25T09:00")
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    clock.set("2026-11-26T10:00")
    d = services.request_supplement(actor=people["specialist"], dossier=d,
                                    items=["Bản sao giấy chứng sinh"])
    assert d.status == Status.WAITING_SUPPLEMENT
    clock.set("2026-11-30T10:00")
    d = services.supplement_dossier(actor=people["citizen"], dossier=d,
                                    form={"mother_full_name": "Lê Thị Hoa"})
    assert d.status == Status.RECEIVED
    assert d.paused_minutes == 900
    assert d.due_at == at("2026-12-03T09:00")
    assert d.steps.get(position=4).due_at == at("2026-12-03T09:00")


def test_supplement_is_requested_only_once(people, agency, clock):
    """Nghị định 118/2025: hướng dẫn bổ sung một lần."""
    d = submit(people, agency)
    d = services.request_supplement(actor=people["receiver"], dossier=d, items=["Tờ khai"])
    d = services.supplement_dossier(actor=people["citizen"], dossier=d,
                                    form={"mother_full_name": "Lê Thị Hoa"})
    assert d.status == Status.NEW
    with pytest.raises(Conflict):
        services.request_supplement(actor=people["receiver"], dossier=d, items=["Lần hai"])


def test_whole_journey_to_returned_result(people, agency):
    d = submit(people, agency)
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    d = services.forward_dossier(actor=people["specialist"], dossier=d, note="Đủ điều kiện")
    assert (d.status, d.current_step) == (Status.IN_PROGRESS, 3)
    d = services.approve_dossier(actor=people["leader"], dossier=d)
    assert d.status == Status.FINISHED and d.finished_at is not None
    d = services.return_result(actor=people["receiver"], dossier=d)
    assert d.status == Status.RETURNED
    actions = list(DossierEvent.objects.filter(dossier=d).values_list("action", flat=True))
    assert actions == ["submit", "receive", "forward", "approve", "return-result"]
    assert OutboxEvent.objects.filter(aggregate_id=d.code).count() == 5
    assert verify().ok


def test_invalid_transition_is_refused_and_changes_nothing(people, agency):
    d = submit(people, agency)
    with pytest.raises(InvalidTransition):
        services.return_result(actor=people["receiver"], dossier=d)
    d.refresh_from_db()
    assert d.status == Status.NEW
    assert DossierEvent.objects.filter(dossier=d).count() == 1


def test_officer_of_another_agency_cannot_see_or_act(people, agency):
    d = submit(people, agency)
    with pytest.raises(NotFound):
        services.receive_dossier(actor=people["other_receiver"], dossier=d)
    with pytest.raises(NotFound):
        services.withdraw_dossier(actor=people["citizen2"], dossier=d)


def test_wrong_role_is_forbidden(people, agency):
    d = submit(people, agency)
    with pytest.raises(PermissionDenied):
        services.approve_dossier(actor=people["specialist"], dossier=d)
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    with pytest.raises(PermissionDenied):  # the specialist's step, not the leader's
        services.forward_dossier(actor=people["leader"], dossier=d)


def test_forward_to_another_agency_keeps_one_dossier_and_one_clock(people, agency,
                                                                   other_agency):
    """Liên thông: the dossier moves to another agency's queue, same code, same due date."""
    Procedure.objects.get(code="1.001193").partners.add(other_agency)  # a declared partner
    d = submit(people, agency)
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    due = d.due_at
    d = services.forward_dossier(actor=people["specialist"], dossier=d,
                                 agency=other_agency.code)
    assert d.current_agency == other_agency and d.due_at == due
    assert Dossier.objects.filter(code=d.code).count() == 1
    # The receiving agency's specialist no longer holds it; the other agency's leader step
    # is now theirs to act on, and the other agency can see the dossier.
    with pytest.raises(PermissionDenied):
        services.approve_dossier(actor=people["leader"], dossier=d)


def test_apology_letter_extends_once_before_the_due_date(people, agency, clock):
    """Mẫu 04: before the due date, at most once (Nghị định 61/2018, giữ nguyên ở NĐ 118)."""
    d = submit(people, agency)
    clock.set("2026-11-25T09:00")
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    clock.set("2026-11-30T09:00")
    d = services.extend_due_date(actor=people["leader"], dossier=d,
                                 new_due_at=at("2026-12-04T09:00"), reason="Chờ xác minh")
    assert d.due_at == at("2026-12-04T09:00")
    assert d.original_due_at == at("2026-12-01T09:00")
    with pytest.raises(Conflict):
        services.extend_due_date(actor=people["leader"], dossier=d,
                                 new_due_at=at("2026-12-08T09:00"), reason="Lần hai")


def test_apology_after_the_due_date_is_refused(people, agency, clock):
    d = submit(people, agency)
    clock.set("2026-11-25T09:00")
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    clock.set("2026-12-02T09:00")
    with pytest.raises(Conflict):
        services.extend_due_date(actor=people["leader"], dossier=d,
                                 new_due_at=at("2026-12-08T09:00"), reason="Muộn")


def test_withdrawal_by_the_applicant_ends_processing(people, agency):
    d = submit(people, agency)
    d = services.withdraw_dossier(actor=people["citizen"], dossier=d, note="Không cần nữa")
    assert d.status == Status.WITHDRAWN and d.ended_at is not None


def test_queue_is_oldest_due_first_with_new_dossiers_last(people, agency, clock):
    from chinhquyenso.dossiers.queries import queue_page, work_queue

    late, early, new = (submit(people, agency) for _ in range(3))
    clock.set("2026-11-26T09:00")
    services.receive_dossier(actor=people["receiver"], dossier=late)
    clock.set("2026-11-25T09:00")
    services.receive_dossier(actor=people["receiver"], dossier=early)
    rows = queue_page(work_queue(people["receiver"], at=at("2026-11-25T10:00")), 0, 20)
    assert [r["code"] for r in rows] == [early.code, late.code, new.code]
    assert work_queue(people["other_receiver"], at=at("2026-11-25T10:00")).count() == 0
