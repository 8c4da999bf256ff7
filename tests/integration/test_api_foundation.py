"""Health, auth and the master-data admin endpoints through the real API."""

from __future__ import annotations

import pytest

from tests.conftest import uid
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def assert_error(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)


async def test_health_readiness_and_metrics(stack: Stack) -> None:
    assert (await stack.http.get("/healthz")).json() == {"status": "ok"}
    ready = await stack.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "temporal": True}
    metrics = await stack.http.get("/metrics")
    assert "oms_http_requests_total" in metrics.text


async def test_requests_without_a_valid_token_are_refused(stack: Stack) -> None:
    r = await stack.http.get("/v1/admin/locations")
    assert r.status_code == 401
    assert_error(r.json(), "unauthorized")
    r = await stack.http.get("/v1/admin/locations", headers=stack.auth("nope"))
    assert r.status_code == 401


async def test_a_token_is_looked_up_once_then_known_in_memory(stack: Stack) -> None:
    """The API resolves a cached token on its event loop and goes to the database (on a thread)
    only for a token it has not seen lately; an unknown token is never remembered."""
    from adapters.tokens import Principal, TokenRepository
    from tests.integration.conftest import ADMIN

    headers = await stack.token(role="channel", channel="jd")
    raw = headers["Authorization"].split()[1]
    tokens = TokenRepository(stack.engine, admin_token=ADMIN)
    assert tokens.known(ADMIN) == Principal(role="admin")
    assert tokens.known(raw) is None  # issued elsewhere, not yet seen here
    resolved = tokens.resolve(raw)
    assert resolved is not None and (resolved.role, resolved.channel) == ("channel", "jd")
    assert tokens.known(raw) == resolved
    assert tokens.resolve("oms_staff_unknown") is None
    assert tokens.known("oms_staff_unknown") is None


async def test_a_channel_token_cannot_use_admin_endpoints(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    r = await stack.http.put(
        f"/v1/admin/skus/{uid('S')}",
        headers=app,
        json={"name": "x", "category": "dairy", "price_amount": 1},
    )
    assert r.status_code == 403
    assert_error(r.json(), "forbidden")


async def test_tokens_are_stored_only_as_hashes(stack: Stack) -> None:
    from sqlmodel import Session, select

    from adapters.tables import ApiToken

    headers = await stack.token(role="channel", channel="meituan", label="hash-check")
    raw = headers["Authorization"].split()[1]
    with Session(stack.engine) as s:
        rows = s.exec(select(ApiToken).where(ApiToken.label == "hash-check")).all()
    assert rows and all(raw not in r.token_hash for r in rows)


async def test_locations_are_created_then_replaced(stack: Stack) -> None:
    lid = uid("S-HZ-")
    body = {
        "kind": "store",
        "name": "West Lake",
        "province": "Zhejiang",
        "city": "Hangzhou",
        "lat": 30.27,
        "lng": 120.15,
        "ships": True,
        "pickup": True,
        "franchise": True,
        "daily_quota": 100,
        "credit_score": 80,
        "priority": 1,
        "shipping_cost_amount": 500,
    }
    r = await stack.http.put(f"/v1/admin/locations/{lid}", json=body, headers=stack.admin)
    assert r.status_code == 201 and r.json()["daily_quota"] == 100
    r = await stack.http.put(
        f"/v1/admin/locations/{lid}", json=body | {"credit_score": 50}, headers=stack.admin
    )
    assert r.status_code == 200 and r.json()["credit_score"] == 50


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "category": "dairy", "price_amount": -1},
        {"name": "x", "category": "dairy", "price_amount": 1.5},
        {"name": "x", "category": "dairy", "price_amount": 1, "goods_class": "C"},
        {"name": "x", "category": "dairy", "price_amount": 1, "colour": "red"},
        {"category": "dairy", "price_amount": 1},
    ],
)
async def test_bad_sku_bodies_get_422_and_change_nothing(stack: Stack, body: dict) -> None:
    sku = uid("SKU-")
    r = await stack.http.put(f"/v1/admin/skus/{sku}", json=body, headers=stack.admin)
    assert r.status_code == 422
    assert_error(r.json(), "invalid_request")
    assert (await stack.http.get(f"/v1/admin/skus/{sku}", headers=stack.admin)).status_code == 404


async def test_malformed_json_and_bad_ids_get_4xx(stack: Stack) -> None:
    r = await stack.http.put(
        "/v1/admin/skus/OK",
        content=b"{nope",
        headers=stack.admin | {"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert_error(r.json(), "malformed_request")
    r = await stack.http.put("/v1/admin/skus/OK", headers=stack.admin)  # no body at all
    assert r.status_code == 422
    assert_error(r.json(), "invalid_request")
    assert r.json()["error"]["message"] == (
        "this request needs a JSON body: send its fields (they are in /docs)"
    )
    r = await stack.http.put(
        "/v1/admin/skus/bad%20id",
        headers=stack.admin,
        json={"name": "x", "category": "c", "price_amount": 1},
    )
    assert r.status_code == 422


async def test_counted_stock_keeps_reservations_and_receipts_are_idempotent(stack: Stack) -> None:
    loc, sku = await stack.store_with_stock(on_hand=5)
    path = f"/v1/admin/stock/{loc}/{sku}"
    r = await stack.http.put(path, json={"on_hand": 12, "safety_stock": 2}, headers=stack.admin)
    assert r.json() | {} == r.json() and r.json()["available"] == 10
    for _ in range(2):
        r = await stack.http.post(
            f"{path}/receipts", json={"qty": 5, "receipt_id": "GRN-1"}, headers=stack.admin
        )
        assert r.status_code == 200
    got = (await stack.http.get(path, headers=stack.admin)).json()
    assert (got["on_hand"], got["reserved"], got["available"]) == (17, 0, 15)


async def test_stock_of_an_unknown_location_is_404(stack: Stack) -> None:
    r = await stack.http.put("/v1/admin/stock/NOPE/NOPE", json={"on_hand": 1}, headers=stack.admin)
    assert r.status_code == 404
    assert_error(r.json(), "not_found")


async def test_promotions_and_coupons_are_kept_and_validated(stack: Stack) -> None:
    pid = uid("P-")
    r = await stack.http.put(
        f"/v1/admin/promotions/{pid}",
        headers=stack.admin,
        json={"kind": "amount_off", "amount": 500, "coupon_required": True},
    )
    assert r.status_code == 201
    r = await stack.http.put(
        f"/v1/admin/promotions/{uid('P-')}", headers=stack.admin, json={"kind": "percent_off"}
    )
    assert r.status_code == 422
    code = uid("C-")
    r = await stack.http.post(
        "/v1/admin/coupons",
        headers=stack.admin,
        json={"promotion_id": pid, "code": code, "uses": 3},
    )
    assert r.status_code == 201 and r.json()["remaining"] == 3
    r = await stack.http.post(
        "/v1/admin/coupons",
        headers=stack.admin,
        json={"promotion_id": pid, "code": code, "uses": 3},
    )
    assert r.status_code == 409
    r = await stack.http.post(f"/v1/admin/promotions/{pid}/deactivate", headers=stack.admin)
    assert r.json()["active"] is False


async def test_members_have_tiers_and_a_points_ledger_that_never_goes_negative(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    phone = f"139{uid()[:8].encode().hex()[:8]}"
    phone = "139" + "".join(c for c in phone if c.isdigit())[-8:].rjust(8, "0")
    r = await stack.http.post(
        "/v1/members", headers=app, json={"phone": phone, "name": "Li", "external_id": "U1"}
    )
    assert r.status_code == 201
    mid = r.json()["member_id"]
    r = await stack.http.patch(
        f"/v1/admin/members/{mid}", json={"tier": "gold"}, headers=stack.admin
    )
    assert r.json()["tier"] == "gold"
    r = await stack.http.post(
        f"/v1/admin/members/{mid}/points",
        headers=stack.admin,
        json={"delta": 100, "reason": "welcome"},
    )
    assert r.json()["points"] == 100
    r = await stack.http.post(
        f"/v1/admin/members/{mid}/points",
        headers=stack.admin,
        json={"delta": -101, "reason": "too much"},
    )
    assert r.status_code == 422
    got = await stack.http.get(f"/v1/members/{mid}", headers=app)
    assert got.json()["points"] == 100
