"""The store console in a real browser (Playwright driving Debian's Chromium) against the real
stack: staff sign in, accept, pick with a scanner and a shortage, ship one part and several,
hand over at the till (and are locked out by wrong codes); another store's staff see nothing of
it; a cross-site form post is refused; every page works 360 px wide. Each page's screenshot is
written (under docs/console/ with OMS_SCREENSHOTS=1, `make screenshots`)."""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from domain.barcodes import ean13
from tests.conftest import uid
from tests.integration.conftest import HZ_ADDRESS, Stack, running_stack
from tests.integration.test_order_flow import act, wait_for_status

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
WIDTH = 360


@pytest.fixture(scope="module")
async def site(
    sqlite_engine: Engine,
    dev_env: WorkflowEnvironment,
    gateway_url: str,
    tmp_path_factory: Any,
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine, dev_env.client, gateway_url, tmp_path_factory.mktemp("console")
    ) as s:
        yield s


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: .ci/run installs Debian's chromium package")
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        await b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: Any) -> Path:
    if os.environ.get("OMS_SCREENSHOTS") == "1":
        out = ROOT / "docs" / "console"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return Path(tmp_path_factory.mktemp("screenshots"))


async def snap(page: Page, shots: Path, name: str) -> None:
    """A screenshot, and the page is usable 360 px wide: nothing runs off to the side."""
    await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} is {overflow} px wider than the screen"


async def new_page(browser: Browser) -> Page:
    """A page in a context of its own (its own cookies), 360 px wide."""
    context = await browser.new_context(viewport={"width": WIDTH, "height": 780})
    return await context.new_page()


async def signed_in(browser: Browser, site: Stack, *, username: str, password: str) -> Page:
    page = await new_page(browser)
    await page.goto(f"{site.settings.api_base_url}/console")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("[data-testid=sign-in]")
    await page.wait_for_selector("[data-testid=worklist]")
    return page


async def submitted(page: Page, button: str) -> int:
    """Click a form's button: the status the page that follows came with."""
    async with page.expect_navigation() as navigation:
        await page.click(button)
    response = await navigation.value
    assert response is not None
    return response.status


async def store(site: Stack, *, on_hand: int = 20) -> tuple[str, str, str, str]:
    """A store with two SKUs in stock and a staff account: (location, sku, sku2, username)."""
    loc, sku = await site.store_with_stock(on_hand=on_hand, price=1000)
    from tests import factories as f

    sku2 = f.sku(site.engine, price=500)
    f.stock(site.engine, loc, sku2, on_hand)
    r = await site.http.put(  # its barcode, for the scanner
        f"/v1/admin/skus/{sku2}",
        headers=site.admin,
        json={
            "name": "Yoghurt 450 g",
            "category": "dairy",
            "price_amount": 500,
            "barcode": barcode(sku2),
        },
    )
    assert r.status_code == 200, r.text
    username = uid("staff-").lower()
    r = await site.http.post(
        "/v1/admin/staff-accounts",
        headers=site.admin,
        json={"username": username, "password": "correct horse", "location_id": loc},
    )
    assert r.status_code == 201, r.text
    return loc, sku, sku2, username


def barcode(sku: str) -> str:
    """A 13-digit barcode of this SKU's own."""
    return ean13(f"69{zlib.crc32(sku.encode()) % 10**10:010d}")


async def pickup_order(site: Stack, loc: str, sku: str, sku2: str) -> dict[str, Any]:
    pos = await site.token(role="channel", channel="pos")
    r = await site.http.post(
        "/v1/orders",
        headers=pos,
        json={
            "channel_order_id": uid(),
            "payment_method": "cash",
            "lines": [{"sku": sku, "qty": 2}, {"sku": sku2, "qty": 1}],
            "fulfilment": {"mode": "pickup", "location_id": loc},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def delivery_order(site: Stack, sku: str) -> dict[str, Any]:
    address = HZ_ADDRESS | {"line1": "8 Hubin Rd"}
    return await site.member_order(
        [{"sku": sku, "qty": 1}], {"mode": "delivery", "address": address}
    )


async def test_staff_take_a_pickup_from_arrival_to_hand_over_with_a_scanner_and_a_shortage(
    site: Stack, browser: Browser, shots: Path
) -> None:
    loc, sku, sku2, username = await store(site)
    page = await new_page(browser)
    await page.goto(f"{site.settings.api_base_url}/console/login")
    await snap(page, shots, "login")
    page = await signed_in(browser, site, username=username, password="correct horse")
    order = await pickup_order(site, loc, sku, sku2)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await page.wait_for_selector(f"[data-testid=part-{fid}]", timeout=10_000)  # it arrives live
    await snap(page, shots, "worklist")
    await page.click(f"[data-testid=accept-{fid}]")
    await page.click(f"[data-testid=pick-{fid}]")
    await page.wait_for_selector("[data-testid=scan]")
    scan = page.locator("[data-testid=scan]")
    for code in (sku, sku.lower(), "NOT-HERE", barcode(sku2)):  # a scanner types, then Enter
        await scan.fill(code)
        await scan.press("Enter")
    assert await page.input_value(f"[data-testid=qty-{sku}]") == "2"
    assert await page.input_value(f"[data-testid=qty-{sku2}]") == "1"  # by its barcode
    assert "NOT-HERE" in await page.inner_text("#scan-note")
    await page.click(f"[data-testid=plus-{sku2}]")  # no more than ordered
    await page.click(f"[data-testid=minus-{sku2}]")  # one item short of its only unit
    assert await page.input_value(f"[data-testid=qty-{sku2}]") == "0"
    await snap(page, shots, "pick")
    await page.click("[data-testid=confirm-pick]")
    await page.wait_for_selector("[data-testid=shortage]")
    assert "5.00" in await page.inner_text("[data-testid=refund-total]")
    await snap(page, shots, "shortage")
    await page.click("[data-testid=confirm-short]")
    await page.wait_for_selector("[data-testid=notice]")  # back on the work list
    assert "5.00" in await page.inner_text("[data-testid=notice]")
    pos = await site.token(role="channel", channel="pos")
    view = (await site.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
    assert view["fulfilments"][0]["status"] == "ready_for_pickup"
    assert [r["amount"] for r in view["refunds"]] == [500]  # refunded when the pick was recorded
    code = view["fulfilments"][0]["pickup_code"]
    await page.goto(f"{site.settings.api_base_url}/console/handover")
    await snap(page, shots, "handover")
    await page.fill("[data-testid=code]", code)
    await page.click("[data-testid=find-code]")  # what to hand over, first
    await page.wait_for_selector("[data-testid=handover-preview]")
    assert "test " + sku in await page.inner_text("[data-testid=handover-preview]")
    await snap(page, shots, "handover-confirm")
    assert await submitted(page, "[data-testid=confirm-handover]") == 200
    assert sku in await page.inner_text("[data-testid=handed-over]")
    await snap(page, shots, "handed-over")
    await wait_for_status(site, pos, order["order_id"], "completed")
    await page.reload()  # the result again, not the hand-over again
    assert sku in await page.inner_text("[data-testid=handed-over]")
    # The code and straight to confirm, in one step, as a till in a hurry does it.
    second = await pickup_order(site, loc, sku, sku2)
    fid2 = second["fulfilments"][0]["fulfilment_id"]
    staff = await site.token(role="staff", location_id=loc)
    await act(site, staff, fid2, "accept")
    await act(site, staff, fid2, "picked")
    got = (await site.http.get(f"/v1/orders/{second['order_id']}", headers=pos)).json()
    await page.goto(f"{site.settings.api_base_url}/console/handover")
    await page.fill("[data-testid=code]", got["fulfilments"][0]["pickup_code"])
    await page.click("[data-testid=confirm-handover]")
    await page.wait_for_selector("[data-testid=handed-over]")
    await wait_for_status(site, pos, second["order_id"], "completed")


async def test_staff_weigh_fresh_food_with_scale_labels_and_ask_for_a_replacement(
    site: Stack, browser: Browser, shots: Path
) -> None:
    from domain.barcodes import scale_code
    from tests import factories as f

    loc, milk, other, username = await store(site)
    plu = f"{zlib.crc32(loc.encode()) % 100_000:05d}"
    pork = f.sku(site.engine, price=3980, category="fresh", sold_by="weight", plu=plu)
    f.stock(site.engine, loc, pork, 20_000)
    order = await site.member_order(
        [{"sku": pork, "qty": 1000}, {"sku": milk, "qty": 1}],
        {"mode": "pickup", "location_id": loc},
    )
    app = await site.token(role="channel", channel="app")
    fid = order["fulfilments"][0]["fulfilment_id"]
    page = await signed_in(browser, site, username=username, password="correct horse")
    await page.wait_for_selector(f"[data-testid=accept-{fid}]", timeout=10_000)
    await page.click(f"[data-testid=accept-{fid}]")
    await page.click(f"[data-testid=pick-{fid}]")
    await page.wait_for_selector("[data-testid=scan]")
    # The milk is gone from the shelf: ask the member about the yoghurt instead.
    await page.click("[data-testid=propose-substitution] summary")
    await page.select_option("[data-testid=substitute-sku]", milk)
    await page.fill("[data-testid=substitute-with]", other)
    await page.fill("[data-testid=substitute-qty]", "1")
    assert await submitted(page, "[data-testid=confirm-substitute]") == 200
    assert await page.is_visible("[data-testid=waiting-answer]")
    await snap(page, shots, "substitution")
    sid = f"{fid}-S1"
    r = await site.http.post(
        f"/v1/orders/{order['order_id']}/substitutions/{sid}",
        headers=app,
        json={"decision": "approve"},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    await page.reload()
    assert await page.get_attribute(f"[data-testid=substitution-{sid}]", "data-status") == (
        "approved"
    )
    scan = page.locator("[data-testid=scan]")
    for code in (scale_code(plu, grams=600), scale_code(plu, price_amount=1074), other):
        await scan.fill(code)  # two labels off the scale (600 g, then 10.74 yuan = 270 g)
        await scan.press("Enter")
    assert await page.input_value(f"[data-testid=qty-{pork}]") == "870"
    assert await page.input_value(f"[data-testid=qty-{other}]") == "1"
    await snap(page, shots, "pick-weighed")
    await page.click("[data-testid=confirm-pick]")
    await page.wait_for_selector("[data-testid=shortage]")  # 130 g short
    await page.click("[data-testid=confirm-short]")
    await page.wait_for_selector("[data-testid=notice]")
    view = (await site.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
    assert view["fulfilments"][0]["lines"] == [
        {"sku": pork, "qty": 1000, "picked_qty": 870},
        {"sku": other, "qty": 1, "picked_qty": 1},
    ]
    paid = {ln["sku"]: ln["paid_amount"] for ln in view["pricing"]["lines"]}
    # the yoghurt costs 5.00 less than the milk it replaces; 130 g of pork were short
    assert [x["amount"] for x in view["refunds"]] == [
        paid[milk] - 500,
        paid[pork] * 130 // 1000,
    ]


async def test_staff_ship_a_delivery_alone_and_two_at_once_and_print_their_slips(
    site: Stack, browser: Browser, shots: Path
) -> None:
    loc, sku, _, username = await store(site)
    page = await signed_in(browser, site, username=username, password="correct horse")
    orders = [await delivery_order(site, sku) for _ in range(3)]
    fids = [o["fulfilments"][0]["fulfilment_id"] for o in orders]
    staff = await site.token(role="staff", location_id=loc)
    for fid in fids:
        await act(site, staff, fid, "accept")
        await act(site, staff, fid, "picked")
    await page.reload()
    await page.wait_for_selector(f"[data-testid=ship-{fids[0]}]")
    slip = await page.context.new_page()
    await slip.goto(f"{site.settings.api_base_url}/console/parts/{fids[0]}/shipping-slip")
    assert "8 Hubin Rd" in await slip.inner_text("body")
    await snap(slip, shots, "shipping-slip")
    await slip.goto(f"{site.settings.api_base_url}/console/parts/{fids[0]}/picking-slip")
    await snap(slip, shots, "picking-slip")
    await page.click(f"[data-testid=ship-{fids[0]}]")
    await page.fill("[data-testid=carrier]", "SF Express")
    await page.fill("[data-testid=tracking]", "SF1001")
    await snap(page, shots, "ship")
    await page.click("[data-testid=confirm-ship]")
    await page.wait_for_selector("[data-testid=notice]")  # back on the work list
    assert await submitted(page, "[data-testid=ship-batch]") == 422  # nothing ticked yet
    assert "勾选" in await page.inner_text("[data-testid=done]")
    await page.click("[data-testid=back]")
    for fid in fids[1:]:
        await page.check(f"[data-testid=select-{fid}]")
        await page.fill(f"[data-testid=batch-tracking-{fid}]", f"YT-{fid[-6:]}")
    await page.fill("[data-testid=batch-carrier]", "YTO")
    await snap(page, shots, "batch-ship")
    assert await submitted(page, "[data-testid=ship-batch]") == 200
    assert "2 / 2" in await page.inner_text("[data-testid=done]")
    app = await site.token(role="channel", channel="app")
    for order, carrier in zip(orders, ["SF Express", "YTO", "YTO"], strict=True):
        got = (await site.http.get(f"/v1/orders/{order['order_id']}", headers=app)).json()
        part = got["fulfilments"][0]
        assert (part["status"], part["carrier"]) == ("shipped", carrier)


async def test_five_wrong_codes_lock_the_till_and_a_rejection_takes_a_reason(
    site: Stack, browser: Browser, shots: Path
) -> None:
    loc, sku, sku2, username = await store(site)
    page = await signed_in(browser, site, username=username, password="correct horse")
    order = await pickup_order(site, loc, sku, sku2)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await page.goto(f"{site.settings.api_base_url}/console/handover?lang=en")
    assert await submitted(page, "[data-testid=find-code]") == 422  # no code: nothing counted
    statuses = []
    for n in range(6):
        await page.fill("[data-testid=code]", f"{n:06d}")
        statuses.append(await submitted(page, "[data-testid=find-code]"))
    assert statuses[:4] == [409] * 4 and statuses[4:] == [429, 429]
    assert "Too many wrong codes" in await page.inner_text("main")
    await snap(page, shots, "handover-locked")
    await page.click("a.lang")  # the answer to a form switches language on the till's page
    assert page.url.endswith("/console/handover?lang=zh") and await page.is_visible("#code")
    await page.goto(f"{site.settings.api_base_url}/console?lang=en")
    await page.fill(f"[data-testid=reason-{fid}]", "freezer broken")
    await page.click(f"[data-testid=reject-{fid}]")
    await page.wait_for_load_state()
    pos = await site.token(role="channel", channel="pos")
    got = (await site.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
    assert got["fulfilments"][0]["status"] == "rejected"
    assert any("freezer broken" in t["detail"] for t in got["timeline"])


async def test_staff_of_one_store_neither_see_nor_touch_another_stores_parts(
    site: Stack, browser: Browser
) -> None:
    loc_a, sku_a, sku2_a, user_a = await store(site)
    loc_b, sku_b, sku2_b, _ = await store(site)
    theirs = await pickup_order(site, loc_b, sku_b, sku2_b)
    fid_b = theirs["fulfilments"][0]["fulfilment_id"]
    page = await signed_in(browser, site, username=user_a, password="correct horse")
    assert await page.locator(f"[data-testid=part-{fid_b}]").count() == 0
    csrf = await page.evaluate("document.body.getAttribute('hx-headers') || ''")
    token = csrf.split('"')[3] if csrf else ""
    for path in (f"/console/parts/{fid_b}/pick", f"/console/parts/{fid_b}/shipping-slip"):
        response = await page.goto(f"{site.settings.api_base_url}{path}")
        assert response is not None and response.status == 404
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=site.settings.api_base_url, cookies=cookies) as http:
        r = await http.post(f"/console/parts/{fid_b}/accept", data={"csrf": token})
        assert r.status_code == 404  # another store's part, even with a good form
        mine = await pickup_order(site, loc_a, sku_a, sku2_a)
        fid_a = mine["fulfilments"][0]["fulfilment_id"]
        forged = await http.post(
            f"/console/parts/{fid_a}/accept",
            data={"csrf": token},
            headers={"Origin": "http://evil.example"},
        )
        assert forged.status_code == 403  # a form posted from another site
        stale = await http.post(f"/console/parts/{fid_a}/accept", data={"csrf": "guess"})
        assert stale.status_code == 403  # a form without the session's token
    async with httpx.AsyncClient(base_url=site.settings.api_base_url) as http:
        staff = await site.token(role="staff", location_id=loc_a)
        secret = staff["Authorization"].split()[1]
        forged = await http.post(
            "/console/login", data={"token": secret}, headers={"Origin": "http://evil.example"}
        )
        assert forged.status_code == 403 and "oms_console" not in forged.cookies
        machine = await http.post("/console/login", data={"token": secret})
        assert machine.status_code == 303 and "oms_console" in machine.cookies
    pos = await site.token(role="channel", channel="pos")
    for order in (theirs, mine):
        got = (await site.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
        assert got["fulfilments"][0]["status"] == "dispatched"  # nothing was accepted


async def test_a_wrong_password_is_refused_and_repeated_ones_are_slowed_down(
    site: Stack, browser: Browser
) -> None:
    _, _, _, username = await store(site)
    page = await new_page(browser)
    for field, wrong in (("#password", "wrong horse"), ("[data-testid=token]", "not-a-token")):
        codes, said = [], []
        for _ in range(5):  # wrong passwords of one name, then wrong tokens
            await page.goto(f"{site.settings.api_base_url}/console/login?lang=en")
            await page.fill("#username", username)
            await page.fill(field, wrong)
            codes.append(await submitted(page, "[data-testid=sign-in]"))
            said.append(await page.inner_text("main"))
        assert codes[:3] == [401] * 3 and 429 in codes[3:]
        assert "try again in" in said[codes.index(429)]


async def test_admins_see_the_exceptions_with_links_to_temporal_and_read_english(
    site: Stack, browser: Browser, shots: Path
) -> None:
    page = await new_page(browser)
    await page.goto(f"{site.settings.api_base_url}/console/login?lang=en")
    await page.fill("[data-testid=token]", site.admin["Authorization"].split()[1])
    assert await submitted(page, "[data-testid=sign-in]") == 200
    assert "Choose a location" in await page.content(), await page.content()
    await page.goto(f"{site.settings.api_base_url}/console/handover?lang=en")
    assert await page.locator("[data-testid=choose-location]").count() == 1  # not a code box
    await page.goto(f"{site.settings.api_base_url}/console/ops?lang=en")
    for key in (
        "near_deadline",
        "unserved",
        "refunds_pending",
        "refunds_failed",
        "member_conflicts",
        "low_credit",
    ):
        assert await page.locator(f"[data-testid=ops-{key}]").count() == 1
    await snap(page, shots, "ops")
    _, _, _, username = await store(site)
    staff_page = await signed_in(browser, site, username=username, password="correct horse")
    response = await staff_page.goto(f"{site.settings.api_base_url}/console/ops")
    assert response is not None and response.status == 403


async def test_the_api_docs_work_with_no_internet(site: Stack, browser: Browser) -> None:
    """`/docs` and `/redoc` load everything from the stack: a network that reaches no CDN
    (every request elsewhere is refused here) still shows every operation."""
    page = await new_page(browser)
    elsewhere: list[str] = []

    async def only_the_stack(route: Any) -> None:
        if route.request.url.startswith(site.settings.api_base_url):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_the_stack)
    await page.goto(f"{site.settings.api_base_url}/docs")
    await page.wait_for_selector(".opblock", timeout=20_000)
    assert await page.locator(".opblock").count() > 40
    await page.goto(f"{site.settings.api_base_url}/redoc")
    await page.wait_for_selector("text=Omni OMS", timeout=20_000)
    assert elsewhere == []
