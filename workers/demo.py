"""Demo data: a believable regional chain in Zhejiang and Jiangsu, with tokens for every channel
and location. Loading is idempotent: an already-seeded database is left as it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from adapters.catalog import CatalogRepository
from adapters.db import session_scope
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.promotions import PromotionRepository
from adapters.tables import ChannelConfig, Location
from adapters.tokens import Principal, TokenRepository
from domain.barcodes import ean13

CHANNELS = ("app", "miniprogram", "pos", "tmall", "jd", "meituan")

# id, kind, name, province, city, lat, lng, ships, pickup, franchise, quota, priority, cost
LOCATIONS: list[tuple[Any, ...]] = [
    (
        "W-JX-CENTRAL",
        "central_warehouse",
        "Jiaxing central warehouse",
        "Zhejiang",
        "Jiaxing",
        30.7522,
        120.7585,
        True,
        False,
        False,
        None,
        20,
        800,
    ),
    (
        "W-CZ-REGIONAL",
        "regional_warehouse",
        "Changzhou regional warehouse",
        "Jiangsu",
        "Changzhou",
        31.8107,
        119.9741,
        True,
        False,
        False,
        None,
        20,
        700,
    ),
    (
        "F-HZ-GONGSHU",
        "front_warehouse",
        "Gongshu front warehouse",
        "Zhejiang",
        "Hangzhou",
        30.3190,
        120.1418,
        True,
        False,
        False,
        None,
        10,
        300,
    ),
    (
        "S-HZ-01",
        "store",
        "West Lake store",
        "Zhejiang",
        "Hangzhou",
        30.2741,
        120.1551,
        True,
        True,
        False,
        None,
        10,
        500,
    ),
    (
        "S-HZ-02",
        "store",
        "Binjiang store",
        "Zhejiang",
        "Hangzhou",
        30.2084,
        120.2106,
        True,
        True,
        True,
        200,
        10,
        500,
    ),
    (
        "S-NB-01",
        "store",
        "Tianyi Square store",
        "Zhejiang",
        "Ningbo",
        29.8683,
        121.5440,
        True,
        True,
        False,
        None,
        10,
        500,
    ),
    (
        "S-SZ-01",
        "store",
        "Guanqian Street store",
        "Jiangsu",
        "Suzhou",
        31.2990,
        120.5853,
        True,
        True,
        False,
        None,
        10,
        500,
    ),
    (
        "S-NJ-01",
        "store",
        "Xinjiekou store",
        "Jiangsu",
        "Nanjing",
        32.0415,
        118.7781,
        True,
        True,
        False,
        None,
        10,
        500,
    ),
    (
        "S-NJ-02",
        "store",
        "Hexi store",
        "Jiangsu",
        "Nanjing",
        32.0058,
        118.7262,
        True,
        True,
        True,
        150,
        10,
        500,
    ),
    (
        "S-WX-01",
        "store",
        "Nanchang Street store",
        "Jiangsu",
        "Wuxi",
        31.5700,
        120.3000,
        False,
        True,
        True,
        100,
        10,
        500,
    ),
]

# sku, name, category, price (fen), goods class
SKUS: list[tuple[str, str, str, int, str]] = [
    ("MILK-1L", "Fresh milk 1 L", "dairy", 1290, "B"),
    ("MILK-250", "Fresh milk 250 ml", "dairy", 450, "B"),
    ("YOGURT-4", "Plain yogurt 4-pack", "dairy", 1590, "B"),
    ("CHEESE-200", "Cheddar slices 200 g", "dairy", 2890, "B"),
    ("BUTTER-227", "Butter 227 g", "dairy", 3290, "B"),
    ("EGGS-10", "Free-range eggs x10", "dairy", 1890, "B"),
    ("BREAD-WHITE", "White toast loaf", "bakery", 890, "B"),
    ("BREAD-WHOLE", "Wholemeal loaf", "bakery", 1090, "B"),
    ("CROISSANT-4", "Croissants x4", "bakery", 1590, "B"),
    ("MOONCAKE-6", "Mooncake gift box x6", "bakery", 12800, "A"),
    ("APPLE-1KG", "Fuji apples 1 kg", "produce", 1590, "B"),
    ("BANANA-1KG", "Bananas 1 kg", "produce", 890, "B"),
    ("ORANGE-1KG", "Gannan navel oranges 1 kg", "produce", 1290, "B"),
    ("BOKCHOY-500", "Bok choy 500 g", "produce", 490, "B"),
    ("TOMATO-500", "Tomatoes 500 g", "produce", 690, "B"),
    ("POTATO-1KG", "Potatoes 1 kg", "produce", 590, "B"),
    ("WATER-550", "Mineral water 550 ml", "beverages", 200, "B"),
    ("WATER-24", "Mineral water 24 x 550 ml", "beverages", 3990, "B"),
    ("COLA-330", "Cola 330 ml", "beverages", 350, "B"),
    ("TEA-GREEN-500", "Iced green tea 500 ml", "beverages", 450, "B"),
    ("JUICE-1L", "Orange juice 1 L", "beverages", 1590, "B"),
    ("COFFEE-BEANS", "Coffee beans 500 g", "beverages", 8900, "A"),
    ("CHIPS-70", "Potato chips 70 g", "snacks", 790, "B"),
    ("NUTS-MIX", "Mixed nuts 500 g", "snacks", 5990, "A"),
    ("CHOC-100", "Dark chocolate 100 g", "snacks", 1290, "B"),
    ("COOKIES-200", "Butter cookies 200 g", "snacks", 990, "B"),
    ("SEAWEED-10", "Roasted seaweed x10", "snacks", 1190, "B"),
    ("DUMPLING-1KG", "Pork dumplings 1 kg", "frozen", 2590, "B"),
    ("ICECREAM-4", "Ice cream bars x4", "frozen", 1990, "B"),
    ("TANGYUAN-500", "Sesame tangyuan 500 g", "frozen", 1290, "B"),
    ("SHRIMP-500", "Frozen shrimp 500 g", "frozen", 4990, "B"),
    ("TISSUE-12", "Facial tissue x12", "household", 2590, "B"),
    ("DETERGENT-2L", "Laundry detergent 2 L", "household", 3990, "A"),
    ("DISH-SOAP", "Dish soap 1.5 L", "household", 1590, "B"),
    ("BAG-REUSABLE", "Reusable shopping bag", "household", 300, "B"),
    ("TRASHBAG-50", "Trash bags x50", "household", 990, "B"),
    ("SHAMPOO-750", "Shampoo 750 ml", "personal_care", 4590, "A"),
    ("TOOTHPASTE", "Toothpaste 120 g", "personal_care", 1290, "B"),
    ("TOOTHBRUSH-2", "Toothbrushes x2", "personal_care", 990, "B"),
    ("SOAP-3", "Hand soap x3", "personal_care", 1190, "B"),
    ("RICE-5KG", "Northeast rice 5 kg", "grain_oil", 4990, "B"),
    ("OIL-5L", "Peanut oil 5 L", "grain_oil", 9990, "A"),
    ("NOODLES-1KG", "Dried noodles 1 kg", "grain_oil", 890, "B"),
    ("SOYSAUCE-500", "Light soy sauce 500 ml", "grain_oil", 1090, "B"),
    # sold by weight: the price is per kilogram, quantities in grams
    ("PORK-BELLY", "Pork belly (per kg)", "fresh_meat", 3980, "B"),
    ("APPLE-LOOSE", "Loose Fuji apples (per kg)", "produce", 1280, "B"),
    ("SALMON-FILLET", "Salmon fillet (per kg)", "seafood", 16800, "A"),
]

# goods sold by weight, with the item code (plu) their shelf scales print in labels
WEIGHED = {"PORK-BELLY": "00101", "APPLE-LOOSE": "00102", "SALMON-FILLET": "00103"}

# bulky goods sold online from the central warehouse only (its execution system ships them)
CENTRAL_ONLY = {"WATER-24"}

# one unit's weight (g), for the carrier rules: by category, and where a SKU differs
CATEGORY_WEIGHT_G = {
    "dairy": 500,
    "bakery": 400,
    "produce": 1000,
    "beverages": 600,
    "snacks": 250,
    "frozen": 800,
    "household": 800,
    "personal_care": 300,
    "grain_oil": 1000,
    "fresh_meat": 1,
    "seafood": 1,
}
WEIGHT_G = {
    "MILK-1L": 1050,
    "MILK-250": 270,
    "WATER-550": 570,
    "WATER-24": 13800,
    "RICE-5KG": 5050,
    "OIL-5L": 4700,
    "DETERGENT-2L": 2100,
    "MOONCAKE-6": 1300,
    "BAG-REUSABLE": 60,
    "BOKCHOY-500": 500,
    "TOMATO-500": 500,
}

# carrier, name, provinces (none: all), cost per parcel (fen), weight limit (g), priority
CARRIERS: list[tuple[str, str, list[str], int, int | None, int]] = [
    ("YTO", "YTO Express", ["Zhejiang", "Jiangsu", "Shanghai", "Anhui"], 600, 20_000, 10),
    ("SF", "SF Express", [], 1500, 30_000, 20),
    ("JD", "JD Logistics", [], 1200, 50_000, 30),
]

# phone, name, tier, points, stored value (fen)
MEMBERS = [
    ("13800000001", "Li Na", "normal", 0, 0),
    ("13800000002", "Wang Fang", "silver", 1200, 5000),
    ("13800000003", "Zhang Wei", "gold", 5000, 20000),
    ("13800000004", "Chen Jing", "platinum", 20000, 100000),
]

PROMOTIONS: dict[str, dict[str, Any]] = {
    "TIER-SILVER": {"kind": "tier_discount", "percent": 2, "scope": {"tiers": ["silver"]}},
    "TIER-GOLD": {"kind": "tier_discount", "percent": 5, "scope": {"tiers": ["gold"]}},
    "TIER-PLATINUM": {"kind": "tier_discount", "percent": 8, "scope": {"tiers": ["platinum"]}},
    "DAIRY-10": {"kind": "percent_off", "percent": 10, "scope": {"categories": ["dairy"]}},
    "SPEND100-SAVE10": {
        "kind": "threshold_amount_off",
        "threshold_amount": 10000,
        "amount": 1000,
        "repeat": True,
    },
    "SPEND88-GIFT-BAG": {
        "kind": "threshold_gift",
        "threshold_amount": 8800,
        "gift_sku": "BAG-REUSABLE",
        "gift_qty": 1,
        "stackable": True,
    },
    "WECHAT-5": {"kind": "payment_method_discount", "amount": 500, "payment_methods": ["wechat"]},
    "NEW10": {"kind": "amount_off", "amount": 1000, "coupon_required": True},
}


def _promotion(data: dict[str, Any]) -> dict[str, Any]:
    scope: dict[str, list[str]] = {
        "skus": [],
        "categories": [],
        "channels": [],
        "locations": [],
        "tiers": [],
    }
    scope.update(data.get("scope", {}))
    base: dict[str, Any] = {
        "percent": 0,
        "amount": 0,
        "threshold_amount": 0,
        "repeat": False,
        "gift_sku": None,
        "gift_qty": 0,
        "payment_methods": [],
        "coupon_required": False,
        "stackable": False,
        "priority": 100,
        "starts_at": None,
        "ends_at": None,
        "active": True,
    }
    return base | data | {"scope": scope}


def _stock_level(location_kind: str, index: int) -> int:
    if location_kind in ("central_warehouse", "regional_warehouse"):
        return 500 + 10 * index
    if location_kind == "front_warehouse":
        return 60 + index
    return 20 + (index * 7) % 30


def seed_demo(engine: Engine, home: Path) -> bool:
    """Load the demo chain unless it is there; write tokens to `home/tokens.json`."""
    catalog = CatalogRepository(engine)
    with session_scope(engine) as s:
        if s.get(Location, LOCATIONS[0][0]) is not None:
            return False
    for row in LOCATIONS:
        lid, kind, name, prov, city, lat, lng, ships, pickup, franchise, quota, prio, cost = row
        catalog.put_location(
            lid,
            {
                "kind": kind,
                "name": name,
                "province": prov,
                "city": city,
                "lat": lat,
                "lng": lng,
                "ships": ships,
                "pickup": pickup,
                "franchise": franchise,
                "daily_quota": quota,
                "credit_score": 90 if franchise else 100,
                "priority": prio,
                "shipping_cost_amount": cost,
                # the central warehouse runs an execution system; the rest are run by staff
                "execution": "wms" if kind == "central_warehouse" else "staff",
            },
        )
    for carrier_id, cname, provinces, ccost, max_g, cprio in CARRIERS:
        catalog.put_carrier(
            carrier_id,
            {
                "name": cname,
                "provinces": provinces,
                "cost_amount": ccost,
                "max_weight_g": max_g,
                "priority": cprio,
            },
        )
    for n, (sku, name, category, price, cls) in enumerate(SKUS):
        barcode = ean13(f"6970000{n + 1:05d}")  # the demo chain's own codes
        data = {"name": name, "category": category, "price_amount": price, "goods_class": cls}
        weight = WEIGHT_G.get(sku, CATEGORY_WEIGHT_G[category])
        if sku in WEIGHED:  # a gram weighs a gram
            data |= {"sold_by": "weight", "plu": WEIGHED[sku], "weight_g": 1}
            catalog.put_sku(sku, data | {"barcode": None})
            continue
        catalog.put_sku(sku, data | {"barcode": barcode, "weight_g": weight})
    inventory = InventoryRepository(engine)
    for lid, kind, *_ in LOCATIONS:
        for i, (sku, *_rest) in enumerate(SKUS):
            if sku in CENTRAL_ONLY and kind != "central_warehouse":
                continue
            grams = 1000 if sku in WEIGHED else 1  # weighed goods are counted in grams
            inventory.set_counted(
                lid,
                sku,
                on_hand=_stock_level(kind, i) * grams,
                safety_stock=(2 if kind == "store" else 0) * grams,
            )
    members = MemberRepository(engine)
    for phone, name, tier, points, stored in MEMBERS:
        member, _ = members.ensure(phone, name=name, tier=tier)
        if points:
            members.adjust_points(
                member.member_id, points, reason="welcome points", key=f"demo:points:{phone}"
            )
        if stored:
            members.top_up(member.member_id, stored, key=f"demo:topup:{phone}")
    promos = PromotionRepository(engine)
    for pid, data in PROMOTIONS.items():
        promos.put(pid, _promotion(data))
    promos.create_coupon(
        {"promotion_id": "NEW10", "code": "NEW10", "member_phone": None, "uses": 1000}
    )
    promos.create_coupon(
        {"promotion_id": "NEW10", "code": "WELCOME-LINA", "member_phone": "13800000001", "uses": 1}
    )
    with session_scope(engine) as s:
        s.add(
            ChannelConfig(  # Meituan's own riders deliver its orders
                channel="meituan",
                location_kinds=["store", "front_warehouse"],
                radius_km=5.0,
                logistics_carrier="MEITUAN-RIDERS",
            )
        )
        s.add(
            ChannelConfig(
                channel="tmall", location_kinds=["central_warehouse", "regional_warehouse"]
            )
        )
    return True


def issue_demo_tokens(tokens: TokenRepository, home: Path) -> Path:
    """One token per seeded channel and location, written once to `home/tokens.json`."""
    path = home / "tokens.json"
    if path.exists():
        return path
    data = {
        "channels": {
            ch: tokens.issue(Principal(role="channel", channel=ch), label="demo")[0]
            for ch in CHANNELS
        },
        "staff": {
            row[0]: tokens.issue(Principal(role="staff", location_id=row[0]), label="demo")[0]
            for row in LOCATIONS
        },
    }
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return path


def subscribe_demo_channels(engine: Engine, home: Path, sim_url: str) -> dict[str, str]:
    """Every demo channel's events go to the simulated channels' receiver (`workers/
    channel_sim.py`), each signed with its own secret, made once under `home`: the secrets."""
    import json
    import secrets

    from adapters.events import EventStore

    path = home / "channel_secrets.json"
    if not path.exists():
        path.write_text(json.dumps({ch: secrets.token_urlsafe(24) for ch in CHANNELS}))
        path.chmod(0o600)
    keys: dict[str, str] = json.loads(path.read_text())
    store = EventStore(engine)
    for channel, secret in keys.items():
        store.subscribe(channel, url=f"{sim_url}/hooks/{channel}", secret=secret, events=["*"])
    return keys


def create_demo_staff(engine: Engine, home: Path) -> dict[str, str]:
    """A console account for every demo store (username: the location id in lower case), with
    passwords made once under `home`: {username: password}."""
    import json
    import secrets

    from adapters.staff import StaffAccounts

    path = home / "staff_accounts.json"
    if not path.exists():
        stores = [row[0] for row in LOCATIONS if row[1] == "store"]
        path.write_text(json.dumps({loc.lower(): secrets.token_urlsafe(9) for loc in stores}))
        path.chmod(0o600)
    accounts: dict[str, str] = json.loads(path.read_text())
    staff = StaffAccounts(engine)
    for username, password in accounts.items():
        if staff.check(username, password) is None:  # new, or the file was made afresh
            staff.put(username, password, location_id=username.upper())
    return accounts
