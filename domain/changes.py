"""An order changed after it was placed: its new plan set against the parts it has, so that a
location that serves it still keeps its part (with new lines), a location no longer needed
loses its part, and a new one gets a new part; and the stock moves that take the reservation
from the old plan to the new one without ever holding less than the order still owes (every
increase is held first, every decrease let go only once the change stands)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from domain.orders import LineRequest, PlannedPart


@dataclass(frozen=True)
class Hold:
    """A change of what a part holds of one SKU at its location. `first`: the part did not
    hold that SKU before (the hold is then the part's own reservation of it)."""

    location_id: str
    fulfilment_id: str
    sku: str
    qty: int
    first: bool = False


@dataclass
class Replan:
    parts: list[PlannedPart]  # the new plan: kept parts under their own ids, new parts under new
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    increases: list[Hold] = field(default_factory=list)
    decreases: list[Hold] = field(default_factory=list)

    def changed(self, old: list[PlannedPart]) -> bool:
        """Whether the parts change at all (lines, locations)."""
        before = {p.fulfilment_id: _qty(p.lines) for p in old}
        return bool(self.dropped or self.added) or any(
            before.get(p.fulfilment_id) != _qty(p.lines) for p in self.parts
        )


def replan(old: list[PlannedPart], new: list[PlannedPart]) -> Replan:
    """`new` (planned afresh) against the order's open parts `old`: a new part at the location
    (and mode) of an old one keeps the old part's id."""
    free: dict[tuple[str, str], list[PlannedPart]] = {}
    for p in old:
        free.setdefault((p.location_id, p.mode), []).append(p)
    out = Replan(parts=[])
    for part in new:
        same = free.get((part.location_id, part.mode))
        was = same.pop(0) if same else None
        if was is None:
            out.parts.append(part)
            out.added.append(part.fulfilment_id)
            out.increases += [
                Hold(part.location_id, part.fulfilment_id, ln.sku, ln.qty, first=True)
                for ln in part.lines
            ]
            continue
        kept = replace(part, fulfilment_id=was.fulfilment_id)
        out.parts.append(kept)
        out.kept.append(was.fulfilment_id)
        before, after = _qty(was.lines), _qty(part.lines)
        for sku in sorted(before.keys() | after.keys()):
            delta = after.get(sku, 0) - before.get(sku, 0)
            hold = Hold(part.location_id, was.fulfilment_id, sku, abs(delta), sku not in before)
            if delta > 0:
                out.increases.append(hold)
            elif delta < 0:
                out.decreases.append(hold)
    out.dropped = sorted(p.fulfilment_id for left in free.values() for p in left)
    return out


def _qty(lines: list[LineRequest]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in lines:
        out[ln.sku] = out.get(ln.sku, 0) + ln.qty
    return out
