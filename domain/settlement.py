"""Settlement: how what a member paid for a completed order is shared between legal entities.

Models (configured per channel and location, see `SettlementTerms`):

- `buy_sell`: the fulfilling location's entity sells the goods to the member; it is settled the
  whole amount (role `seller`).
- `exclusive`: the sale belongs to one party (`owner`, by default the fulfilling location), and
  the operator takes a commission of `commission_bp` basis points (roles `owner`, `operator`).
- `shared`: the amount is split between the goods owner, the fulfilling location and the operator
  by the integer ratios `owner_ratio : fulfiller_ratio : operator_ratio`
  (roles `owner`, `fulfiller`, `operator`).
- `distribution`: a distributor who cannot change the price earns `commission_bp` basis points;
  the fulfilling location sells (roles `seller`, `distributor`).

Every split is largest-remainder and adds up exactly. Settlement is cumulative: after a return,
each party's total is the split of the order's new net amount, and the entries recorded are the
differences, so the totals never drift from a fresh split of the final net.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.errors import InvalidRequest
from domain.fulfilment import DONE_STATES, FulfilmentState, handed_lines
from domain.money import split_proportionally
from domain.orders import PricedLine

MODELS = ("buy_sell", "exclusive", "shared", "distribution")
BASIS_POINTS = 10_000
DEFAULT_OPERATOR = "operator"
DEFAULT_OWNER = "chain"
CHINA_TIME = timezone(timedelta(hours=8))


def business_day(at: datetime) -> str:
    """The chain's business day of an instant (China time, no daylight saving): statements are
    per this day."""
    return at.astimezone(CHINA_TIME).date().isoformat()


@dataclass(frozen=True)
class SettlementTerms:
    model: str = "buy_sell"
    commission_bp: int = 0
    owner_ratio: int = 0
    fulfiller_ratio: int = 0
    operator_ratio: int = 0
    owner: str | None = None
    operator: str = DEFAULT_OPERATOR
    distributor: str | None = None

    def validate(self) -> SettlementTerms:
        def bad(message: str) -> InvalidRequest:
            return InvalidRequest(message, details={"model": self.model})

        if self.model not in MODELS:
            raise bad(f"model must be one of {', '.join(MODELS)}")
        if not 0 <= self.commission_bp <= BASIS_POINTS:
            raise bad("commission_bp is in basis points, 0 to 10000")
        if min(self.owner_ratio, self.fulfiller_ratio, self.operator_ratio) < 0:
            raise bad("ratios cannot be negative")
        if self.model in ("exclusive", "distribution") and self.commission_bp == 0:
            raise bad(f"a {self.model} rule needs a commission_bp above 0")
        if self.model == "distribution" and not self.distributor:
            raise bad("a distribution rule names its distributor")
        if self.model == "shared" and (
            self.owner_ratio + self.fulfiller_ratio + self.operator_ratio == 0
        ):
            raise bad("a shared rule needs at least one ratio above 0")
        return self

    def as_params(self) -> dict[str, int | str | None]:
        return {
            "commission_bp": self.commission_bp,
            "owner_ratio": self.owner_ratio,
            "fulfiller_ratio": self.fulfiller_ratio,
            "operator_ratio": self.operator_ratio,
            "owner": self.owner,
            "operator": self.operator,
            "distributor": self.distributor,
        }

    @classmethod
    def from_params(cls, model: str, params: Mapping[str, Any]) -> SettlementTerms:
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(model=model, **known)


@dataclass(frozen=True)
class Share:
    party: str
    role: str
    amount: int


Fulfillers = Sequence[tuple[str, int]]


def split_settlement(
    terms: SettlementTerms, amount: int, *, fulfiller: str, fulfillers: Fulfillers = ()
) -> list[Share]:
    """The parties' shares of `amount` fen (>= 0) under `terms`; they add up to `amount`.

    With several `fulfillers` (party, weight) — an order served by several locations — the share
    that goes to the fulfilling location is split over them by weight (what each handed over),
    largest remainder; `fulfiller` is then just the first of them."""
    if amount < 0:
        raise ValueError("a settled amount is never negative")
    shares = _split(terms, amount, fulfiller=fulfiller)
    if len(fulfillers) < 2:
        return shares
    out: list[Share] = []
    for share in shares:
        if share.party != fulfiller:
            out.append(share)
            continue
        parts = split_proportionally(share.amount, [max(0, w) for _, w in fulfillers])
        out += [Share(p, share.role, a) for (p, _), a in zip(fulfillers, parts, strict=True)]
    return out


def _split(terms: SettlementTerms, amount: int, *, fulfiller: str) -> list[Share]:
    m = terms.model
    if m == "buy_sell":
        return [Share(fulfiller, "seller", amount)]
    if m == "exclusive":
        rest, commission = _commission(amount, terms.commission_bp)
        return [
            Share(terms.owner or fulfiller, "owner", rest),
            Share(terms.operator, "operator", commission),
        ]
    if m == "distribution":
        rest, commission = _commission(amount, terms.commission_bp)
        assert terms.distributor
        return [
            Share(fulfiller, "seller", rest),
            Share(terms.distributor, "distributor", commission),
        ]
    if m == "shared":
        owner, ful, op = split_proportionally(
            amount, [terms.owner_ratio, terms.fulfiller_ratio, terms.operator_ratio]
        )
        return [
            Share(terms.owner or DEFAULT_OWNER, "owner", owner),
            Share(fulfiller, "fulfiller", ful),
            Share(terms.operator, "operator", op),
        ]
    raise ValueError(f"unknown settlement model {m}")


def _commission(amount: int, bp: int) -> tuple[int, int]:
    rest, commission = split_proportionally(amount, [BASIS_POINTS - bp, bp])
    return rest, commission


def settlement_delta(
    terms: SettlementTerms,
    *,
    net_before: int,
    net_after: int,
    fulfiller: str,
    fulfillers: Fulfillers = (),
) -> list[Share]:
    """Entries that move each party from its share of `net_before` to its share of
    `net_after` (zero moves left out). Their sum is `net_after - net_before`."""
    before = _by_key(
        split_settlement(terms, net_before, fulfiller=fulfiller, fulfillers=fulfillers)
    )
    after = _by_key(split_settlement(terms, net_after, fulfiller=fulfiller, fulfillers=fulfillers))
    out = []
    for key in dict.fromkeys([*after, *before]):
        diff = after.get(key, 0) - before.get(key, 0)
        if diff:
            out.append(Share(key[0], key[1], diff))
    return out


def _by_key(shares: list[Share]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for s in shares:
        out[(s.party, s.role)] = out.get((s.party, s.role), 0) + s.amount
    return out


def handed_values(
    priced: list[PricedLine], parts: Iterable[FulfilmentState]
) -> list[tuple[str, int]]:
    """(location, paid value of what it handed over), per location that handed goods over, in
    the order of the parts: the weights a split order's settlement is shared by."""
    lines = {ln.sku: ln for ln in priced if not ln.gift}
    out: dict[str, int] = {}
    for state in parts:
        if state.status in DONE_STATES:
            value = 0
            for ln in handed_lines(state):
                line = lines.get(ln.sku)
                if line is not None and line.qty:
                    value += line.paid_amount * ln.qty // line.qty
            out[state.location_id] = out.get(state.location_id, 0) + value
    return list(out.items())
