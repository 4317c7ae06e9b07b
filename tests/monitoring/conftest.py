import pytest


@pytest.fixture
def monitor_api(api):
    return api("monitor")
