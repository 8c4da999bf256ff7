"""Members through the API: one member per phone across channels, conflicts kept for review."""

from __future__ import annotations

import pytest

from tests.factories import phone
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


async def test_one_phone_in_two_channels_is_one_member_and_a_name_conflict_is_kept(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    pos = await stack.token(role="channel", channel="pos")
    number = phone()
    first = await stack.http.post(
        "/v1/members", headers=app, json={"phone": number, "name": "Li Na", "external_id": "A1"}
    )
    spaced = f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    second = await stack.http.post(
        "/v1/members", headers=pos, json={"phone": spaced, "name": "Li Na2", "external_id": "P9"}
    )
    assert (first.status_code, second.status_code) == (201, 200)
    member = second.json()
    assert member["member_id"] == first.json()["member_id"] and member["name"] == "Li Na"
    assert {c["channel"] for c in member["channels"]} == {"app", "pos"}
    [conflict] = member["conflicts"]
    assert (conflict["existing"], conflict["incoming"]) == ("Li Na", "Li Na2")

    listed = (
        await stack.http.get("/v1/admin/member-conflicts?resolved=false", headers=stack.admin)
    ).json()["conflicts"]
    assert conflict["id"] in {c["id"] for c in listed}
    r = await stack.http.post(
        f"/v1/admin/member-conflicts/{conflict['id']}/resolve",
        headers=stack.admin,
        json={"keep": "incoming"},
    )
    assert r.status_code == 200
    got = (await stack.http.get(f"/v1/members/{member['member_id']}", headers=app)).json()
    assert got["name"] == "Li Na2" and got["conflicts"][0]["resolved"] is True
    for bad in ("0", "99999999999", "x"):
        r = await stack.http.post(
            f"/v1/admin/member-conflicts/{bad}/resolve",
            headers=stack.admin,
            json={"keep": "existing"},
        )
        assert r.status_code == 422
    r = await stack.http.post(
        "/v1/admin/member-conflicts/2147483000/resolve",
        headers=stack.admin,
        json={"keep": "existing"},
    )
    assert r.status_code == 404
