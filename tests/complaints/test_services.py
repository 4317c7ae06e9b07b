"""PAKN through the service layer: deadlines worked out by hand on the calendar, who may
act, follow-ups and ratings (Decision 766 indicators 5.2 and 5.3; 766-index.md group 5)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chinhquyenso.complaints import services
from chinhquyenso.complaints.models import Complaint
from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import OutboxEvent
from chinhquyenso.dossiers import services as dossier_services
from tests.conftest import birth_body

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=VN)


def send(people, home, who="citizen", when="2026-11-23T09:00", **kw):
    args = {"category": "procedure", "title": "Thủ tục quá nhiều giấy tờ",
            "content": "Đề nghị bỏ yêu cầu nộp bản sao giấy khai sinh của cha mẹ.",
            "agency": home.code}
    args.update(kw)
    return services.submit_complaint(actor=people[who] if who else None, at=at(when), **args)


def test_deadlines_are_15_and_2_working_days(people, agency):
    """Received Monday 23/11/2026 09:00. Tuesday 24/11 is a day off (Ngày Văn hóa Việt Nam,
    from 2026). Answer by Tuesday 15/12 09:00 (15 working days: 25–27/11, 30/11–4/12,
    7–11/12, 14–15/12), reject by Thursday 26/11 09:00 (25/11, 26/11)."""
    c, key = send(people, agency)
    assert c.due_at == at("2026-12-15T09:00")
    assert c.reject_due_at == at("2026-11-26T09:00")
    assert c.code == "PAKN-261123-0001"
    assert key is None  # signed-in citizen: no tracking key
    assert c.citizen == people["citizen"]


def test_weekend_submission_counts_from_monday(people, agency):
    """Saturday 28/11 10:00 → the clock starts Monday 30/11 07:30; two working days end
    Tuesday 01/12 at 17:00; 15 working days end Friday 18/12 17:00."""
    c, _ = send(people, agency, when="2026-11-28T10:00")
    assert c.reject_due_at == at("2026-12-01T17:00")
    assert c.due_at == at("2026-12-18T17:00")


def test_anonymous_needs_contact_and_gets_a_tracking_key(people, agency):
    with pytest.raises(ValidationFailed, match="điện thoại hoặc thư điện tử"):
        send(people, agency, who=None, contact={"name": "Lê Văn Cường"})
    assert Complaint.objects.count() == 0
    c, key = send(people, agency, who=None,
                  contact={"name": "Lê Văn Cường", "phone": "0912345678"})
    assert key and len(key) >= 24
    assert c.citizen is None and c.contact_phone == "0912345678"
    assert key not in c.tracking_digest  # only the hash is kept


def test_complaint_about_a_dossier_goes_to_its_agency(people, agency, other_agency):
    body = birth_body(agency)
    d = dossier_services.submit_dossier(actor=people["citizen"], procedure=body["procedure"],
                                        agency=body["agency"], applicant=body["applicant"],
                                        form=body["form"])
    c, _ = send(people, agency, category="handling", agency=other_agency.code,
                dossier=d.code)
    assert c.agency == agency and c.dossier == d


def test_validation_messages_in_vietnamese(people, agency):
    with pytest.raises(ValidationFailed, match="Nội dung"):
        send(people, agency, content="ngắn")
    with pytest.raises(ValidationFailed, match="Loại phản ánh"):
        send(people, agency, category="xyz")
    with pytest.raises(ValidationFailed, match="Không có cơ quan"):
        send(people, agency, agency="000.00.99.H31")
    with pytest.raises(ValidationFailed, match="Không có hồ sơ"):
        send(people, agency, dossier="KHONG-CO")
    assert Complaint.objects.count() == 0


def test_answer_on_time_and_late(people, agency, clock):
    """Answered on the last minute is on time; one minute later is late (indicator 5.2)."""
    c1, _ = send(people, agency)
    c2, _ = send(people, agency)
    clock.set("2026-12-15T09:00")
    c1 = services.answer_complaint(actor=people["specialist"], complaint=c1,
                                   answer="Cơ quan đã tiếp thu và sẽ sửa quy trình.")
    clock.set("2026-12-15T09:01")
    c2 = services.answer_complaint(actor=people["specialist"], complaint=c2,
                                   answer="Cơ quan đã tiếp thu và sẽ sửa quy trình.")
    assert c1.status == "answered" and services.is_on_time(c1)
    assert not services.is_on_time(c2)
    assert OutboxEvent.objects.filter(topic="complaint.answer").count() == 2


def test_open_complaint_is_on_time_until_due(people, agency):
    c, _ = send(people, agency)
    assert services.is_on_time(c, at("2026-12-15T09:00"))
    assert not services.is_on_time(c, at("2026-12-15T09:01"))
    assert services.is_overdue(c, at("2026-12-15T09:01"))


def test_reject_is_on_time_only_within_two_working_days(people, agency, clock):
    c, _ = send(people, agency)
    clock.set("2026-11-26T10:00")  # one hour after the 2-working-day limit
    c = services.reject_complaint(actor=people["leader"], complaint=c,
                                  reason="Nội dung không thuộc thẩm quyền của phường.")
    assert c.status == "rejected" and not services.is_on_time(c)


def test_only_the_agency_answers(people, agency):
    c, _ = send(people, agency)
    with pytest.raises(NotFound):
        services.answer_complaint(actor=people["other_specialist"], complaint=c,
                                  answer="Trả lời từ cơ quan khác, không đúng thẩm quyền.")
    with pytest.raises(PermissionDenied):
        services.answer_complaint(actor=people["monitor"], complaint=c,
                                  answer="Giám sát không được trả lời phản ánh.")
    with pytest.raises(PermissionDenied):
        services.classify_complaint(actor=people["specialist"], complaint=c,
                                    category="staff")
    c.refresh_from_db()
    assert c.status == "received" and c.answer == ""


def test_classify_transfers_and_keeps_the_deadline(people, agency, other_agency):
    c, _ = send(people, agency)
    c = services.classify_complaint(actor=people["leader"], complaint=c, category="staff",
                                    agency=other_agency.code)
    c.refresh_from_db()
    assert (c.category, c.agency_id, c.status) == ("staff", other_agency.pk, "processing")
    assert c.due_at == at("2026-12-15T09:00")


def test_rating_once_after_the_answer_by_the_author_only(people, agency):
    c, _ = send(people, agency)
    with pytest.raises(Conflict):
        services.rate_complaint(actor=people["citizen"], complaint=c, rating="satisfied")
    services.answer_complaint(actor=people["specialist"], complaint=c,
                              answer="Đã hướng dẫn lại cán bộ tiếp nhận.")
    with pytest.raises(NotFound):
        services.rate_complaint(actor=people["citizen2"], complaint=c, rating="satisfied")
    c = services.rate_complaint(actor=people["citizen"], complaint=c, rating="unsatisfied",
                                comment="Chưa giải quyết được vấn đề.")
    assert c.rating == "unsatisfied"
    with pytest.raises(Conflict, match="đã được đánh giá"):
        services.rate_complaint(actor=people["citizen"], complaint=c, rating="satisfied")


def test_anonymous_rates_and_follows_up_with_the_key(people, agency):
    c, key = send(people, agency, who=None, contact={"name": "Lê Văn Cường",
                                                     "email": "cuong@example.vn"})
    services.answer_complaint(actor=people["specialist"], complaint=c,
                              answer="Đã hướng dẫn lại cán bộ tiếp nhận.")
    with pytest.raises(NotFound):
        services.rate_complaint(complaint=c, rating="normal", key="sai-khoa")
    services.rate_complaint(complaint=c, rating="normal", key=key)
    follow, key2 = send(people, agency, who=None, parent=c.code, parent_key=key,
                        agency=None, contact={"name": "Lê Văn Cường",
                                              "email": "cuong@example.vn"})
    c.refresh_from_db()
    assert c.followed_up is True
    assert follow.parent == c and follow.agency == agency and key2


def test_follow_up_needs_an_answer_first(people, agency):
    c, _ = send(people, agency)
    with pytest.raises(Conflict, match="chưa được trả lời"):
        send(people, agency, parent=c.code)
    with pytest.raises(NotFound):
        send(people, agency, who="citizen2", parent=c.code)
