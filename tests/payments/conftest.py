"""Fixtures of the payments tests: a procedure with a fee and a dossier of it."""

import pytest

from tests.conftest import birth_body

FEE = 50_000


@pytest.fixture
def fee_procedure(procedure):
    procedure.fee = FEE
    procedure.save()
    return procedure


@pytest.fixture
def dossier_code(api, agency, fee_procedure):
    return api("citizen").post("/dossiers", birth_body(agency)).json()["code"]


@pytest.fixture(autouse=True)
def _audit_flush_in_thread(settings):
    """Chain the IPN's audit links in the request's own thread (no background flusher
    outliving the test's database)."""
    settings.CQS_PAYMENTS_AUDIT_FLUSH_ASYNC = False
