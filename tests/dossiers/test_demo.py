"""`cqs demo`: demo dossiers that look like a real province's, and codes that real
submissions continue without a collision."""

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from chinhquyenso.catalog.models import Field, Procedure, ProcessStep
from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory.models import Role, User
from chinhquyenso.dossiers import demo, services
from chinhquyenso.dossiers.models import Dossier, DossierSequence, DossierStep, Status
from chinhquyenso.portal.models import IdpAccount
from tests.conftest import ON_POSTGRES, birth_body

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = re.compile(r"^[A-Z0-9.]+-\d{6}-\d{4,}$")
N = 2000

STEPS = [
    ("Tiếp nhận", "receiver", "0.1"),
    ("Thẩm định", "specialist", "0.6"),
    ("Phê duyệt", "leader", "0.2"),
    ("Trả kết quả", "receiver", "0.1"),
]


def _procedure(code, name, field, level, agency, days, fee=0):
    proc = Procedure.objects.create(
        code=code,
        name=name,
        search_text=name.lower(),
        field=field,
        level=level,
        agency_key="COMMUNE" if level == "commune" else agency.key,
        working_days=Decimal(days),
        fee=fee,
        online_mode="full",
    )
    for i, (sname, role, share) in enumerate(STEPS, 1):
        ProcessStep.objects.create(
            procedure=proc, position=i, name=sname, role=role, share=Decimal(share)
        )
    proc.agencies.set([agency])
    return proc


@pytest.fixture
def catalogue(procedure, agency, other_agency):
    """The birth registration of conftest plus a residence procedure at the commune and a
    fee-paying province procedure at the Department of Justice."""
    residence = Field.objects.create(code="CT", name="Cư trú")
    justice = Field.objects.create(code="LLTP", name="Lý lịch tư pháp")
    _procedure("2.000986", "Đăng ký thường trú", residence, "commune", agency, "7")
    _procedure(
        "2.000488",
        "Cấp Phiếu lý lịch tư pháp",
        justice,
        "province",
        other_agency,
        "10",
        fee=200_000,
    )
    return procedure


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo_users(catalogue, fast_passwords):
    return demo.ensure_demo_users(province=31)


def generate(n=N, seed=7):
    return demo.generate_dossiers(n, seed=seed, progress=False)


def ordinals_by_agency_day():
    by_key = defaultdict(list)
    for code, agency_id in Dossier.objects.values_list("code", "agency_id"):
        _prefix, day, ordinal = code.rsplit("-", 2)
        by_key[(agency_id, day)].append(int(ordinal))
    return by_key


def assert_sequences_consistent():
    by_key = ordinals_by_agency_day()
    for (agency_id, day), ordinals in by_key.items():
        assert sorted(ordinals) == list(range(1, len(ordinals) + 1)), (agency_id, day)
    seq = {(s.agency_id, s.day.strftime("%y%m%d")): s.last for s in DossierSequence.objects.all()}
    for key, ordinals in by_key.items():
        assert seq[key] == max(ordinals), key


@pytest.mark.django_db
def test_demo_dossiers_look_like_a_real_province(demo_users, agency, other_agency):
    started = timezone.now()
    result = generate()
    assert result.count == N
    rows = list(Dossier.objects.all())
    assert len(rows) == N
    assert all(d.is_demo for d in rows)

    codes = [d.code for d in rows]
    assert len(set(codes)) == N
    for d in rows:
        assert CODE.match(d.code), d.code
        assert d.code.startswith(d.agency.code + "-")
        assert d.code.split("-")[-2] == d.submitted_at.astimezone(VN).strftime("%y%m%d")
    assert_sequences_consistent()

    after = timezone.now()
    assert all(d.submitted_at <= after for d in rows)
    assert all(d.submitted_at >= started - timedelta(days=730) for d in rows)
    assert min(d.submitted_at for d in rows) < started - timedelta(days=600)  # spread out

    status = Counter(d.status for d in rows)
    done = status[Status.FINISHED] + status[Status.RETURNED]
    assert done / N > 0.60
    assert status[Status.RETURNED] > status[Status.FINISHED] > 0
    assert status[Status.WAITING_SUPPLEMENT] > 0
    assert status[Status.RECEIVED] + status[Status.IN_PROGRESS] > 0
    assert status[Status.REFUSED] + status[Status.WITHDRAWN] + status[Status.STOPPED] > 0
    late = sum(1 for d in rows if d.ended_at and d.due_at and d.ended_at > d.due_at)
    assert 0.005 <= late / N <= 0.08
    assert result.late == late

    for d in rows:
        if d.received_at is not None:
            assert d.clock_started_at >= d.received_at
            assert d.due_at > d.received_at
            assert d.original_due_at <= d.due_at
        if d.status == Status.WAITING_SUPPLEMENT:
            assert d.paused_at is not None and d.supplement_count == 1
            assert d.resume_status in (Status.RECEIVED, Status.IN_PROGRESS)
        if d.status in (Status.FINISHED, Status.RETURNED):
            assert d.finished_at == d.ended_at and d.finished_at > d.received_at
        if d.status == Status.RETURNED:
            assert d.returned_at >= d.finished_at
        if d.status in (Status.RECEIVED, Status.IN_PROGRESS):
            assert d.ended_at is None and d.due_at is not None
        for t in (d.received_at, d.finished_at, d.returned_at, d.ended_at, d.paused_at):
            assert t is None or t <= after
        assert d.current_agency_id == d.agency_id
        assert d.fee == d.procedure.fee

    in_progress = [d for d in rows if d.status in (Status.RECEIVED, Status.IN_PROGRESS)]
    assert any(d.due_at > after for d in in_progress)
    # Procedures go to the right agencies: commune procedures to the commune.
    assert {d.agency_id for d in rows if d.procedure.level == "commune"} == {agency.pk}
    assert {d.agency_id for d in rows if d.procedure.level == "province"} == {other_agency.pk}
    # Civil status and residence are the most used.
    per_field = Counter(d.procedure.field.code for d in rows)
    assert per_field["HT"] + per_field["CT"] > per_field["LLTP"]
    # Mostly online, some at the counter.
    channel = Counter(d.channel for d in rows)
    assert 0.6 < channel["online"] / N < 0.8 and channel["counter"] > 0
    # Clearly fake applicants, apart from the demo citizen's own dossiers.
    congdan = User.objects.get(username="congdan")
    mine = [d for d in rows if d.applicant_user_id is not None]
    assert 0 < len(mine) <= 300 and all(d.applicant_user_id == congdan.pk for d in mine)
    for d in rows:
        if d.applicant_user_id is None:
            assert re.fullmatch(r"000\d{9}", d.applicant_id_number)
            assert len(d.applicant_name.split()) >= 3
    # One audit record for the run.
    assert AuditRecord.objects.filter(verb="demo.generate").count() == 1


@pytest.mark.django_db
def test_a_second_run_continues_the_sequences(catalogue):
    generate(seed=1)
    generate(seed=1)  # same seed: same days and agencies, so the ordinals must continue
    assert Dossier.objects.count() == 2 * N
    assert len(set(Dossier.objects.values_list("code", flat=True))) == 2 * N
    assert_sequences_consistent()


@pytest.mark.django_db
def test_a_real_submission_gets_the_next_ordinal(catalogue, people, agency):
    generate(n=500)
    d = Dossier.objects.filter(agency=agency).order_by("-submitted_at").first()
    day = d.submitted_at.astimezone(VN)
    same_day = ordinals_by_agency_day()[(agency.pk, day.strftime("%y%m%d"))]
    body = birth_body(agency)
    real = services.submit_dossier(
        actor=people["citizen"],
        procedure=body["procedure"],
        agency=agency.code,
        applicant=body["applicant"],
        form=body["form"],
        at=d.submitted_at + timedelta(seconds=1),
    )
    assert real.code == f"{agency.code}-{day:%y%m%d}-{max(same_day) + 1:04d}"
    assert not real.is_demo


@pytest.mark.django_db
def test_open_demo_dossiers_can_be_worked_on(catalogue, people, agency):
    """Dossiers still in processing have their steps, so officers can act on them."""
    generate(n=N, seed=3)
    open_ = Dossier.objects.filter(status__in=[1, 2, 4, 5, 6])
    assert open_.exists()
    for d in open_:
        assert DossierStep.objects.filter(dossier=d).count() == 4
        assert d.events.filter(action="submit").exists()
    received = Dossier.objects.filter(agency=agency, status=Status.RECEIVED, current_step=2).first()
    if received is not None:
        moved = services.forward_dossier(actor=people["specialist"], dossier=received)
        assert moved.status == Status.IN_PROGRESS and moved.current_step == 3


@pytest.mark.django_db
def test_demo_users(catalogue, agency, other_agency, fast_passwords):
    rows = demo.ensure_demo_users(province=31)
    users = {u.username: u for u in User.objects.all()}
    expected = {
        "congdan": (Role.CITIZEN, None),
        "congdan2": (Role.CITIZEN, None),
        "doanhnghiep": (Role.BUSINESS, None),
        "tiepnhan": (Role.RECEIVER, agency),
        "chuyenvien": (Role.SPECIALIST, agency),
        "lanhdao": (Role.LEADER, agency),
        "quantri": (Role.AGENCY_ADMIN, agency),
        "ketoan": (Role.ACCOUNTANT, agency),
        "tiepnhan_stp": (Role.RECEIVER, other_agency),
        "chuyenvien_stp": (Role.SPECIALIST, other_agency),
        "lanhdao_stp": (Role.LEADER, other_agency),
        "quantri_tinh": (Role.PROVINCE_ADMIN, None),
        "giamsat": (Role.MONITOR, None),
    }
    assert {r["username"] for r in rows} == set(expected)
    for name, (role, ag) in expected.items():
        u = users[name]
        assert u.role == role and u.agency_id == (ag.pk if ag else None)
        assert "(dữ liệu mẫu)" in u.full_name
        if u.is_applicant:  # no password here: the identity provider holds the demo one
            assert not u.has_usable_password()
            account = IdpAccount.objects.get(id_number=u.id_number)
            assert account.is_demo and check_password("demo12345", account.password)
        else:
            assert u.check_password("demo12345")
    assert users["congdan"].id_number == "001099012345"
    assert users["congdan2"].id_number == "001199054321"
    assert users["doanhnghiep"].id_number == "0201234567"
    # Running again updates, does not duplicate.
    demo.ensure_demo_users(province=31)
    assert User.objects.filter(username__in=expected).count() == len(expected)


@pytest.mark.django_db
def test_command(catalogue, fast_passwords):
    out = StringIO()
    call_command("demo", users_only=True, stdout=out)
    assert "congdan" in out.getvalue() and "demo12345" in out.getvalue()
    assert Dossier.objects.count() == 0
    out = StringIO()
    call_command("demo", dossiers=300, seed=5, no_progress=True, stdout=out)
    assert Dossier.objects.count() == 300
    assert "seed 5" in out.getvalue() and "tiepnhan" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.skipif(not ON_POSTGRES, reason="the bulk-load path is PostgreSQL only")
def test_bulk_load_rebuilds_indexes_and_constraints(catalogue, monkeypatch):
    def schema():
        with connection.cursor() as cur:
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'dossiers_dossier' ORDER BY 1"
            )
            indexes = cur.fetchall()
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'dossiers_dossier'::regclass ORDER BY 1"
            )
            return indexes, cur.fetchall()

    before = schema()
    monkeypatch.setattr(demo._BulkLoad, "BULK_MIN", 100)
    result = generate(n=1000)
    assert "indexes" in result.phases  # the drop-and-rebuild path ran
    assert schema() == before
    assert_sequences_consistent()
