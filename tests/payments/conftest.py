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

