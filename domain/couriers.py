"""The courier strategy (快递策略): which carrier takes each delivery part, by rules, with the
reasons, the way routing gives its own. A channel that delivers with its own logistics (a
marketplace's riders) always gets them."""

from __future__ import annotations

from dataclasses import dataclass, field

CHANNEL_LOGISTICS = "channel's own logistics"


@dataclass(frozen=True)
class Carrier:
    carrier_id: str
    name: str
    provinces: frozenset[str] = frozenset()  # empty: every province
    cost_amount: int = 0  # fen per parcel
    max_weight_g: int | None = None  # none: no limit
    priority: int = 100  # lower first


@dataclass(frozen=True)
class CarrierChoice:
    carrier_id: str | None  # none: no carrier qualifies (staff give one at shipment)
    reasons: list[str] = field(default_factory=list)


def choose_carrier(
    carriers: list[Carrier],
    *,
    province: str,
    weight_g: int,
    channel_carrier: str | None = None,
) -> CarrierChoice:
    """The carrier for a parcel of `weight_g` grams to `province`:
    1. a channel with its own logistics gets them, whatever the rules say;
    2. else among the carriers that cover the province and take the weight: the lowest
       `priority`, then the lowest `cost_amount`, then the carrier id (so that the same parcel
       always gets the same carrier).
    The reasons say why the chosen one won and why each other did not."""
    if channel_carrier:
        return CarrierChoice(channel_carrier, [f"{channel_carrier}: the {CHANNEL_LOGISTICS}"])
    reasons: list[str] = []
    fit: list[Carrier] = []
    for c in sorted(carriers, key=lambda c: c.carrier_id):
        if c.provinces and province not in c.provinces:
            reasons.append(f"{c.carrier_id}: does not cover {province}")
        elif c.max_weight_g is not None and weight_g > c.max_weight_g:
            reasons.append(f"{c.carrier_id}: {weight_g} g is over its {c.max_weight_g} g limit")
        else:
            fit.append(c)
    if not fit:
        if not carriers:
            return CarrierChoice(None, ["no carriers are set up: staff give one at shipment"])
        return CarrierChoice(None, [*reasons, "no carrier qualifies: staff give one at shipment"])
    fit.sort(key=lambda c: (c.priority, c.cost_amount, c.carrier_id))
    best = fit[0]
    won = [f"{best.carrier_id}: covers {province}, takes {weight_g} g, priority {best.priority}"]
    won[0] += f", {best.cost_amount / 100:.2f} yuan"
    for c in fit[1:]:
        if c.priority != best.priority:
            reasons.append(f"{c.carrier_id}: priority {c.priority} after {best.priority}")
        elif c.cost_amount != best.cost_amount:
            reasons.append(
                f"{c.carrier_id}: costs {c.cost_amount / 100:.2f} yuan, more than "
                f"{best.cost_amount / 100:.2f}"
            )
        else:
            reasons.append(f"{c.carrier_id}: the same priority and cost: by id, after")
    return CarrierChoice(best.carrier_id, won + reasons)
