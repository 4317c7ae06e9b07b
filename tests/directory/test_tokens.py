"""API tokens expire, are listed and revoked one by one (`cqs token list|revoke`), and all
of an officer's are revoked when the role or the password changes; the check stays one
indexed query."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chinhquyenso.core.errors import NotAuthenticated
from chinhquyenso.core.models import AuditRecord
from chinhquyenso.directory import services
from chinhquyenso.directory.models import ApiToken
from tests.conftest import ApiClient


def _works(token: str) -> bool:
    return ApiClient(token).get("/queue").status_code == 200


def test_token_expires_after_the_configured_days(people, clock, settings):
    settings.CQS_API_TOKEN_DAYS = 30
    clock.set("2026-11-25T09:00")
    token = services.create_token(user=people["receiver"])
    row = ApiToken.objects.get()
    assert row.expires_at == row.created_at + timedelta(days=30)
    clock.set("2026-12-25T08:59")
    assert _works(token)
    clock.set("2026-12-25T09:01")
    r = ApiClient(token).get("/queue")
    assert r.status_code == 401 and r["Content-Type"].startswith("application/problem+json")


def test_default_lifetime_is_90_days(people):
    services.create_token(user=people["receiver"])
    row = ApiToken.objects.get()
    assert abs(row.expires_at - row.created_at - timedelta(days=90)) < timedelta(seconds=1)


def test_list_and_revoke_one_by_one(people, capsys):
    a = services.create_token(user=people["receiver"], name="máy quét")
    b = services.create_token(user=people["receiver"], name="kiosk")
    services.create_token(user=people["specialist"])
    call_command("token", "list", "--user", "tn")
    out = capsys.readouterr().out
    rows = ApiToken.objects.filter(user=people["receiver"]).order_by("pk")
    for t in rows:
        assert f"cqs_{t.prefix}…" in out and str(t.pk) in out
    assert "kiosk" in out and "máy quét" in out and "còn hiệu lực" in out
    assert a not in out and b not in out  # the tokens themselves are never shown
    assert "cv " not in out  # another user's token is not listed with --user
    first = rows[0]
    call_command("token", "revoke", str(first.pk))
    assert "Đã thu hồi" in capsys.readouterr().out
    assert not _works(a) and _works(b)
    call_command("token", "list", "--user", "tn")
    assert f"cqs_{first.prefix}…" not in capsys.readouterr().out
    call_command("token", "list", "--all")
    assert "thu hồi" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Không có mã truy cập số 99999"):
        call_command("token", "revoke", "99999")


def test_role_change_revokes_the_officers_tokens(more_people_admin, people):
    admin = more_people_admin
    token = services.create_token(user=people["receiver"])
    other = services.create_token(user=people["specialist"])
    services.change_officer_role(actor=admin, user=people["receiver"], role="specialist")
    assert not _works(token)
    assert _works(other)
    row = ApiToken.objects.get(user=people["receiver"])
    assert row.revoked and row.revoked_at is not None


def test_password_change_revokes_the_tokens(people):
    token = services.create_token(user=people["receiver"])
    services.change_credentials(user=people["receiver"], password="mot-mat-khau-moi-dai")
    assert not _works(token)
    # `cqs user add` of an existing user with a new password goes through the same rule.
    token = services.create_token(user=people["receiver"])
    call_command(
        "user",
        "add",
        "--username",
        "tn",
        "--role",
        "receiver",
        "--agency",
        people["receiver"].agency.code,
        "--password",
        "mat-khau-khac-dai",
    )
    assert not _works(token)


def test_every_way_of_setting_a_password_revokes_the_tokens(people, monkeypatch):
    """Django's own `changepassword` (`cqs changepassword tn`) and anything else that calls
    set_password() and save(): the tokens end too, and the audit trail says why."""
    token = services.create_token(user=people["receiver"])
    answers = iter(["mat-khau-qua-lenh-dai", "mat-khau-qua-lenh-dai"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("changepassword", "tn")
    assert not _works(token)
    assert AuditRecord.objects.filter(verb="token.revoke", target_id=str(people["receiver"].pk),
                                      data__reason="password").exists()
    token = services.create_token(user=people["receiver"])
    user = people["receiver"]
    user.refresh_from_db()
    user.set_password("mot-mat-khau-nua-dai")
    user.save()
    assert not _works(token)
    # Saving without a new password, or a new account, revokes nothing.
    token = services.create_token(user=people["receiver"])
    user.full_name = "Trần Thị Tiếp Nhận"
    user.save()
    assert _works(token)


def test_unchanged_user_add_keeps_the_tokens(people):
    token = services.create_token(user=people["receiver"])
    services.add_user(
        username="tn", role="receiver", agency=people["receiver"].agency.code, full_name="Tên mới"
    )
    assert _works(token)
    # A set-up run again with the same password (conftest's "x" * 12) keeps them too.
    services.add_user(
        username="tn", role="receiver", agency=people["receiver"].agency.code, password="x" * 12
    )
    assert _works(token)


def test_token_check_is_one_query(people):
    token = services.create_token(user=people["receiver"])
    ApiToken.objects.update(last_used_at=timezone.now())
    with CaptureQueriesContext(connection) as q:
        assert services.user_for_token(token) == people["receiver"]
    assert len(q) == 1
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotAuthenticated):
        services.user_for_token(token)


@pytest.fixture
def more_people_admin(people, agency):
    return services.add_user(username="qt", role="agency_admin", agency=agency.code)
