"""Every citizen page on a 360 px phone: no horizontal scrolling, touch targets of 44 px,
under 300 kB, first load under a second locally, no serious or critical axe-core violation,
and no Content-Security-Policy violation."""

import urllib.error
import urllib.request

import pytest

from .conftest import axe_violations, fits_width

PUBLIC_PAGES = ["/", "/thu-tuc?q=dang+ky+khai+sinh", "/thu-tuc/1.001193", "/tra-cuu",
                "/tra-cuu?ma=KHONG-CO", "/dang-nhap", "/phan-anh/"]
CITIZEN_PAGES = ["/ca-nhan/ho-so", "/ho-so/nop/1.001193", "/ca-nhan/thong-bao"]


def sign_in_citizen(page, base: str, id_number="001099012345", password="demo12345",
                    next_path="/ca-nhan/ho-so"):
    """Through the portal's button and the identity provider's own sign-in page."""
    page.goto(f"{base}/dang-nhap?next={next_path}")
    page.click("#dang-nhap-vneid")
    page.wait_for_url("**/idp/dang-nhap**")
    page.fill("#id_number", id_number)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}*")


def _weight_and_time(page, url: str) -> tuple[int, float]:
    """Bytes of the page and everything it loaded (decoded sizes, so compression does not
    flatter it) and the load time, both as the browser's own timing APIs report them."""
    page.goto(url, wait_until="load")
    weight, ms = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const res = performance.getEntriesByType('resource');
        const bytes = [nav, ...res].reduce((s, e) => s + (e.decodedBodySize || 0), 0);
        return [bytes, nav.loadEventEnd - nav.startTime]; }""")
    return weight, ms / 1000


def warm(base: str, paths) -> None:
    """Each request on a new connection, so that every server worker has loaded its code and
    templates before a page is timed (a cold worker answers its first request slowly)."""
    for path in list(paths) * 4:
        try:
            with urllib.request.urlopen(base + path) as r:
                r.read()
        except urllib.error.HTTPError as exc:  # the look-up of an unknown code is a 404
            exc.read()


def _small_targets(page) -> list[str]:
    """Links and controls smaller than 44 × 44 px (text links inside a paragraph excepted,
    as WCAG 2.5.5 does)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        'button, input:not([type=hidden]), select, textarea, a.button, nav a, .counts a')]
      .filter(e => e.offsetParent !== null)
      .filter(e => { const r = e.getBoundingClientRect();
                     const small = r.height < 44 ||
                        (r.width < 44 && !['checkbox','radio'].includes(e.type));
                     return small && !(e.type === 'checkbox' || e.type === 'radio'); })
      .map(e => e.outerHTML.slice(0, 80))""")


def check_phone_pages(phone, base: str, paths) -> None:
    for path in paths:
        weight, seconds = _weight_and_time(phone, base + path)
        print(f"{path}: {weight / 1000:.1f} kB, {seconds * 1000:.0f} ms")
        assert weight < 300_000, (path, weight)
        assert seconds < 1.0, (path, seconds)
        assert fits_width(phone), path
        assert _small_targets(phone) == [], path
    assert phone.csp_errors == []


@pytest.mark.slow
def test_public_pages_on_a_phone(web_platform, phone):
    base = f"http://127.0.0.1:{web_platform.port}"
    warm(base, PUBLIC_PAGES)
    check_phone_pages(phone, base, PUBLIC_PAGES)


@pytest.mark.slow
def test_signed_in_pages_on_a_phone(web_platform, phone):
    base = f"http://127.0.0.1:{web_platform.port}"
    sign_in_citizen(phone, base)
    check_phone_pages(phone, base, CITIZEN_PAGES)


@pytest.mark.slow
def test_no_serious_accessibility_violation(web_platform, axe_page):
    base = f"http://127.0.0.1:{web_platform.port}"
    found = {}
    for path in PUBLIC_PAGES:
        axe_page.goto(base + path)
        found[path] = axe_violations(axe_page)
    axe_page.goto(f"{base}/dang-nhap/vneid")  # the identity provider's own sign-in page
    found["/idp/dang-nhap"] = axe_violations(axe_page)
    sign_in_citizen(axe_page, base)
    for path in CITIZEN_PAGES:
        axe_page.goto(base + path)
        found[path] = axe_violations(axe_page)
    # One of the demo citizen's dossiers: its page, its receipt, the summary of a new one.
    axe_page.goto(f"{base}/ca-nhan/ho-so")
    code = axe_page.locator("ul.list li a").first.inner_text().strip()
    for path in (f"/ca-nhan/ho-so/{code}", f"/ho-so/{code}/bien-nhan", f"/tra-cuu?ma={code}"):
        axe_page.goto(base + path)
        found[path] = axe_violations(axe_page)
    axe_page.goto(f"{base}/ho-so/nop/1.001193")
    axe_page.click("button[value=xem-lai]")  # an empty form: every error shown at once
    found["/ho-so/nop (lỗi)"] = axe_violations(axe_page)
    assert {p: v for p, v in found.items() if v} == {}
