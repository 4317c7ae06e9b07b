"""Browser tests: Debian's Chromium driven by Playwright against a real platform (`cqs serve`
and the payment sandbox as separate processes, PostgreSQL when DATABASE_URL names it).
The Makefile installs Chromium from Debian's packages and axe-core from npm; no browser is
ever downloaded."""

import os
import signal
import time
from pathlib import Path

import pytest

from ..live.conftest import ROOT, Platform, platform_env, start_sandbox

CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
# Chromium as root, headless, with nothing that calls out to Google's services (this
# machine's network is closed: those calls would fail by the dozen).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--no-proxy-server"]


@pytest.fixture(autouse=True)
def clock():
    """These tests drive real servers in other processes: they run on the wall clock (the
    suite's frozen clock would not reach those processes). Check them on other days with
    Debian's faketime, which every child process inherits."""
    yield None


def _need(path: Path, how: str):
    if not path.exists():
        pytest.skip(f"{path} chưa có: {how}")


@pytest.fixture(scope="session")
def web_platform(tmp_path_factory):
    """A platform with the demo accounts (and their demo identities at the local provider)
    and a few hundred demo dossiers, like `make run`, and its payment sandbox."""
    tmp = tmp_path_factory.mktemp("browser")
    with platform_env(tmp, "cqs_web",
                      CQS_TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend"
                      ) as env:
        p = Platform(env)
        p.cqs("init", "--province", "31")
        p.cqs("demo", "--dossiers", "300", "--seed", "7", "--no-progress")
        p.start()
        sandbox = start_sandbox(p, tmp / "sandbox.sqlite3")
        yield p
        os.killpg(sandbox.pid, signal.SIGTERM)
        sandbox.wait(timeout=10)
        p.stop()


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in the
# main thread while it is open, and later tests that call asyncio.run (pyHanko's signature
# validation) must not find one.
@pytest.fixture(scope="module")
def browser():
    _need(Path(CHROMIUM), "make test cài Chromium từ gói Debian (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (360 × 740, touch), Vietnamese locale, CSP enforced."""
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                              has_touch=True, locale="vi-VN", device_scale_factor=2)
    page = ctx.new_page()
    page.csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text
            and page.csp_errors.append(m.text))
    yield page
    ctx.close()


@pytest.fixture
def axe_page(browser):
    """A page in which axe-core is injected (CSP bypassed for the injected script only)."""
    _need(AXE, "make test cài axe-core từ npm (npm ci)")
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True,
                              locale="vi-VN")
    yield ctx.new_page()
    ctx.close()


def axe_violations(page) -> list[dict]:
    """Serious and critical violations of WCAG 2.1 A/AA rules on the current page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in {"serious", "critical"}]


def shot(page, name: str) -> None:
    """A screenshot of the step: into docs/screenshots/ with CQS_SCREENSHOTS=1 (`make
    screenshots`), else into a temporary folder so that a test run leaves the tree clean."""
    import tempfile

    folder = SHOTS if os.environ.get("CQS_SCREENSHOTS") else Path(tempfile.gettempdir()) / (
        "cqs-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


DEMO_TOTP = "DEMODEMODEMODEMODEMODEMODEMODEMO"  # `cqs demo`: public secret of demo accounts
_last_code: dict[str, str] = {}


def totp_code(username: str) -> str:
    """The demo account's current one-time code, never one this run has used already (the
    platform refuses a code twice, as RFC 6238 §5.2 advises)."""
    import pyotp

    while (code := pyotp.TOTP(DEMO_TOTP).now()) == _last_code.get(username):
        time.sleep(1)
    _last_code[username] = code
    return code


def fits_width(page) -> bool:
    """No horizontal scrolling at the current viewport."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def officer_login(page, base: str, username: str, next_path: str = "/can-bo/") -> None:
    """Username, demo password, then the demo account's one-time code."""
    page.goto(f"{base}/can-bo/dang-nhap?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", "demo12345")
    page.click("button[type=submit]")
    page.wait_for_url("**/can-bo/dang-nhap/ma*")
    page.fill("#code", totp_code(username))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}*")


def choose_agency(page, part: str) -> None:
    """Select the receiving agency whose name contains `part`."""
    label = page.evaluate("""(part) => [...document.querySelectorAll('#agency option')]
        .map(o => o.textContent).find(t => t.includes(part))""", part)
    page.select_option("#agency", label=label)
