"""The store console, served by the API process: staff work their location's online orders in a
browser (a counter PC, or a handheld scanner about 360 px wide) and hand over pickups at the
till; admins see the exceptions. Pages are rendered on the server (Jinja2); htmx refreshes the
work list; every action goes through the same path as the API's staff routes."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from adapters import labels
from adapters.staff import ConsoleUser
from adapters.tokens import Principal
from api.console.attempts import Attempts
from api.console.i18n import LANGS, translator
from api.deps import Services, services
from api.routes.fresh import propose
from api.routes.staff import act, ship_part
from api.schemas import SubstitutionIn
from domain.errors import DomainError, InvalidRequest
from domain.fulfilment import code_hash, heaviest_pick
from domain.orders import LineRequest
from domain.policy import PICKUP_ATTEMPTS, PICKUP_LOCKOUT_S
from domain.refunds import unit_share
from workflows.messages import StaffAction
from workflows.operations import yuan

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "oms_console"
STAGES = {
    "dispatched": "to_accept",
    "accepted": "to_pick",
    "ready_for_pickup": "to_hand_over",
    "picked": "to_ship",
}


class NotSignedIn(Exception):
    pass


class Refused(Exception):
    """A console request that must not be served: the page to show instead."""

    def __init__(self, status: int, key: str) -> None:
        self.status, self.key = status, key


def lang_of(request: Request) -> str:
    """The page's language: `?lang=en` for English, Chinese otherwise. Every link and form
    carries it on, so nothing else remembers it."""
    lang = request.query_params.get("lang") or "zh"
    return lang if lang in LANGS else "zh"


def user(request: Request, svc: Services = Depends(services)) -> ConsoleUser:
    found = svc.staff_accounts.session(request.cookies.get(COOKIE))
    if found is None:
        raise NotSignedIn()
    return found


def principal(who: ConsoleUser) -> Principal:
    if who.role == "admin":
        return Principal(role="admin")
    return Principal(role="staff", location_id=who.location_id)


def origin_of(request: Request, svc: Services) -> str:
    """The console's own origin: the configured public one (behind a TLS proxy), else what
    the request was addressed to."""
    public = svc.settings.public_origin
    return public.rstrip("/") if public else f"{request.url.scheme}://{request.url.netloc}"


def same_site(request: Request, svc: Services) -> bool:
    """Whether the browser says the request comes from the console itself (or says nothing,
    as machines do). A form posted from another site carries that site's Origin."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != origin_of(request, svc):
        return False
    return request.headers.get("sec-fetch-site", "same-origin") != "cross-site"


async def check_form(request: Request, who: ConsoleUser) -> dict[str, Any]:
    """The form of a state-changing request, refused unless it comes from the console itself
    and carries the session's token."""
    if not same_site(request, request.app.state.services):
        raise Refused(403, "csrf")
    form = dict(await request.form())
    token = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
    if not hmac.compare_digest(token, who.csrf):
        raise Refused(403, "csrf")
    return form


def location_of(request: Request, who: ConsoleUser) -> str | None:
    """Staff work their own location; an admin picks one (`?location=`)."""
    if who.role == "staff":
        return who.location_id
    return request.query_params.get("location") or None


def page_url(path: str, request: Request, who: ConsoleUser | None, **query: str) -> str:
    """A console address in the page's language (and, for an admin, at the location in view)."""
    params = {"lang": lang_of(request)}
    if who is not None and who.role == "admin" and request.query_params.get("location"):
        params["location"] = request.query_params["location"]
    return f"{path}?{urlencode(params | query)}"


def render(
    request: Request, name: str, who: ConsoleUser | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """A page. Its language switch reloads the same page, or, for the answer to a form, the
    page the form belongs to (`here`)."""
    lang = lang_of(request)
    other = "en" if lang == "zh" else "zh"
    if request.method == "GET":
        other_lang_url = (
            f"{request.url.path}?{urlencode(dict(request.query_params) | {'lang': other})}"
        )
    else:
        here = ctx.pop("here", "/console")
        keep = {"location": request.query_params.get("location", "")}
        keep = {k: v for k, v in keep.items() if v and who is not None and who.role == "admin"}
        other_lang_url = f"{here}?{urlencode(keep | {'lang': other})}"
    ctx = {
        "lang": lang,
        "t": translator(lang),
        "who": who,
        "csrf": who.csrf if who else "",
        "other_lang_url": other_lang_url,
        "location": location_of(request, who) if who else None,
    } | ctx
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


# --- signing in and out -------------------------------------------------------------------------

# Wrong sign-ins are slowed down per name (or token) and address, and per address alone, so
# that nobody can lock a colleague out from elsewhere, nor try many names or tokens from one
# place.
SIGN_IN = Attempts(window_s=900)
SLOW_AFTER = 3  # wrong sign-ins of one name from one address before each next one waits
SLOW_AFTER_ADDRESS = 20  # wrong sign-ins from one address, whatever the names
SLOWEST_S = 60.0


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
async def login(request: Request, svc: Services = Depends(services)) -> Response:
    t = translator(lang_of(request))
    if not same_site(request, svc):
        return render(request, "login.html", None, 403, problem=t("csrf"), here="/console/login")
    form = dict(await request.form())
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    token = str(form.get("token") or "").strip()
    address = request.client.host if request.client else "-"
    who_tries = f"token:{hashlib.sha256(token.encode()).hexdigest()[:16]}" if token else username
    keys = (f"{who_tries}@{address}", f"@{address}")
    wait = max(
        SIGN_IN.backoff(keys[0], free=SLOW_AFTER, longest_s=SLOWEST_S),
        SIGN_IN.backoff(keys[1], free=SLOW_AFTER_ADDRESS, longest_s=SLOWEST_S),
    )
    if wait:
        problem = t("slowed", s=int(wait) + 1)
        return render(request, "login.html", None, 429, problem=problem, here="/console/login")
    for key in keys:  # counted before it is checked: parallel tries cannot all slip through
        SIGN_IN.add(key)
    role, name, location = await run_in_threadpool(_authenticate, svc, username, password, token)
    if role is None:
        problem = t("bad_sign_in")
        return render(request, "login.html", None, 401, problem=problem, here="/console/login")
    SIGN_IN.clear(keys[0])
    SIGN_IN.take_back(keys[1])
    secret = await run_in_threadpool(
        lambda: svc.staff_accounts.open_session(role=role, name=name, location_id=location)
    )
    response = RedirectResponse(f"/console?lang={lang_of(request)}", status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        path="/",
        max_age=12 * 3600,
        secure=origin_of(request, svc).startswith("https:"),
    )
    return response


def _authenticate(
    svc: Services, username: str, password: str, token: str
) -> tuple[str | None, str, str | None]:
    """(role, name, location) of whoever the form names; (None, ...) when nobody."""
    if token:
        p = svc.tokens.resolve(token)
        if p is not None and p.role in ("staff", "admin"):
            return p.role, p.role if p.role == "admin" else f"staff@{p.location_id}", p.location_id
        return None, "", None
    location = svc.staff_accounts.check(username, password) if username and password else None
    return ("staff", username, location) if location else (None, "", None)


@router.post("/logout")
async def logout(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    await check_form(request, who)
    await run_in_threadpool(svc.staff_accounts.close_session, request.cookies.get(COOKIE))
    response = RedirectResponse(f"/console/login?lang={lang_of(request)}", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# --- the work list ---------------------------------------------------------------------------


def _left(seconds: float, t: Any) -> str:
    if seconds <= 0:
        return str(t("overdue"))
    minutes = int(seconds // 60)
    if minutes < 60:
        return str(t("minutes", m=max(1, minutes)))
    return str(t("hours", h=minutes // 60, m=minutes % 60))


def stages(svc: Services, location_id: str, lang: str) -> dict[str, list[dict[str, Any]]]:
    t = translator(lang)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in STAGES.values()}
    now = datetime.now(UTC)
    s = svc.settings
    for part in svc.read_model.console_parts(location_id, statuses=tuple(STAGES)):
        if part["status"] == "picked" and part["mode"] != "delivery":
            continue
        changed = part["changed_at"]
        changed = changed if changed.tzinfo else changed.replace(tzinfo=UTC)
        since = (now - changed).total_seconds()
        limit = {"dispatched": s.accept_timeout_s, "ready_for_pickup": s.pickup_expiry_s}
        if part["status"] in limit:
            left = limit[part["status"]] - since
            part["left"] = _left(left, t)
            part["urgent"] = left < 120 if part["status"] == "dispatched" else left < 3600
        part["new"] = part["status"] == "dispatched" and since < 30
        out[STAGES[part["status"]]].append(part)
    return out


def _chooser(request: Request, who: ConsoleUser, svc: Services, name: str) -> HTMLResponse:
    """An admin's page with no location in view: choose one first."""
    return render(request, name, who, choose=svc.catalog.list_locations())


def _notice(request: Request) -> str | None:
    """What the last action did, from the address it redirected to (so that reloading the
    page shows it again instead of doing it again)."""
    t = translator(lang_of(request))
    done = request.query_params.get("done")
    if done not in ("picked", "shipped", "accepted", "rejected"):
        return None
    words = [t(f"{done}_done")]
    refund = request.query_params.get("refund", "")
    if done == "picked" and refund.isdigit() and int(refund):
        words.append(t("refunded", amount=yuan(int(refund))))
    return " ".join(words)


@router.get("", response_class=HTMLResponse)
def worklist(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    location = location_of(request, who)
    if location is None:
        return _chooser(request, who, svc, "worklist.html")
    row = svc.catalog.get_location(location)
    if row is None:
        raise Refused(404, "not_found")
    return render(
        request,
        "worklist.html",
        who,
        location_name=row.name,
        stages=stages(svc, location, lang_of(request)),
        notice=_notice(request),
    )


@router.get("/worklist", response_class=HTMLResponse)
def worklist_fragment(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    """The stages alone, for the page to refresh itself (every 3 s)."""
    location = location_of(request, who)
    if location is None:
        raise Refused(404, "not_found")
    return render(
        request, "worklist_stages.html", who, stages=stages(svc, location, lang_of(request))
    )


def _part(svc: Services, who: ConsoleUser, fid: str) -> dict[str, Any]:
    """A part the signed-in person may work on (another location's is `not found`); each line
    with the most it may be picked at (10 % over a weighed line's grams)."""
    part = svc.read_model.console_part(fid)
    if part is None or (who.role == "staff" and part["location_id"] != who.location_id):
        raise Refused(404, "not_found")
    for ln in part["lines"]:
        ln["weighed"] = ln.get("sold_by") == "weight"
        ln["most"] = heaviest_pick(ln["qty"]) if ln["weighed"] else ln["qty"]
    return part


def _back(request: Request, who: ConsoleUser, part: dict[str, Any] | None, **query: str) -> str:
    """The work list the part belongs to."""
    params = {"lang": lang_of(request)} | query
    if who.role == "admin" and part is not None:
        params["location"] = part["location_id"]
    return f"/console?{urlencode(params)}"


async def _act(svc: Services, who: ConsoleUser, fid: str, action: StaffAction) -> dict[str, Any]:
    try:
        return await act(svc, principal(who), fid, action)
    except DomainError as err:
        raise Problem(err) from None


async def _ship(
    svc: Services, who: ConsoleUser, fid: str, carrier: str, tracking: str
) -> dict[str, Any]:
    """A part shipped, with the parts that travel with it."""
    try:
        return await ship_part(svc, principal(who), fid, carrier, tracking)
    except DomainError as err:
        raise Problem(err) from None


class Problem(Exception):
    """An action the order refused: the page says why."""

    def __init__(self, err: DomainError) -> None:
        from api.errors import STATUS_BY_CODE

        self.status = STATUS_BY_CODE.get(err.code, 422)
        self.code, self.message = err.code, err.message


@router.post("/parts/{fid}/accept")
async def accept(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    await _act(svc, who, fid, StaffAction(action="accept"))
    return RedirectResponse(_back(request, who, part, done="accepted"), status_code=303)


@router.post("/parts/{fid}/reject")
async def reject(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    reason = str(form.get("reason") or "").strip()[:200]
    await _act(svc, who, fid, StaffAction(action="reject", reason=reason))
    return RedirectResponse(_back(request, who, part, done="rejected"), status_code=303)


# --- picking ---------------------------------------------------------------------------------


@router.get("/parts/{fid}/pick", response_class=HTMLResponse)
def pick_page(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    part = _part(svc, who, fid)
    return _pick_form(request, who, part)


def _pick_form(
    request: Request, who: ConsoleUser, part: dict[str, Any], status: int = 200, **ctx: Any
) -> HTMLResponse:
    """The picking page: what the scan box recognises is each line's SKU and barcode."""
    codes = {ln["sku"].upper(): ln["sku"] for ln in part["lines"]}
    codes |= {ln["barcode"]: ln["sku"] for ln in part["lines"] if ln.get("barcode")}
    svc: Services = request.app.state.services
    view = svc.read_model.order_view(part["order_id"]) or {}
    subs = [x for x in view.get("substitutions", []) if x["fulfilment_id"] == part["fulfilment_id"]]
    return render(
        request,
        "pick.html",
        who,
        status,
        part=part,
        substitutions=subs,
        waiting=any(x["status"] == "proposed" for x in subs),
        codes_json=json.dumps(codes),
        back=_back(request, who, part),
        here=f"/console/parts/{part['fulfilment_id']}/pick",
        **ctx,
    )


@router.post("/parts/{fid}/picked", response_class=HTMLResponse)
async def picked(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    counts = {
        ln["sku"]: max(0, min(ln["most"], _number(form, f"qty-{ln['sku']}")))
        for ln in part["lines"]
    }
    short = [ln | {"short": max(0, ln["qty"] - counts[ln["sku"]])} for ln in part["lines"]]
    short = [ln for ln in short if ln["short"] > 0]
    refunds = await run_in_threadpool(_shortage_refunds, svc, part["order_id"], short)
    if short and not form.get("confirm_short"):
        for ln in short:
            ln["refund"] = yuan(refunds.get(ln["sku"], 0))
        total = yuan(sum(refunds.values()))
        return _pick_form(request, who, part, picked=counts, shortage=short, refund_total=total)
    lines = [LineRequest(sku=s, qty=q) for s, q in counts.items()]
    await _act(svc, who, fid, StaffAction(action="picked", lines=lines))
    refund = str(sum(refunds.values())) if short else "0"
    return RedirectResponse(_back(request, who, part, done="picked", refund=refund), 303)


def _number(form: dict[str, Any], name: str) -> int:
    """A whole number typed in a form (0 when it is not one)."""
    try:
        return int(str(form.get(name) or "0"))
    except ValueError:
        return 0


@router.post("/parts/{fid}/substitute", response_class=HTMLResponse)
async def substitute(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    """Staff short of a line propose a replacement; the member's channel is asked."""
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    sku = str(form.get("sku") or "")
    line = next((ln for ln in part["lines"] if ln["sku"] == sku), None)
    with_sku = str(form.get("with_sku") or "").strip().upper()[:64]
    qty = _number(form, "qty")
    if line is None or not with_sku or not 1 <= qty <= line["qty"]:
        raise Problem(
            InvalidRequest("name the replacement's SKU and how many are missing (1 or more)")
        )
    body = SubstitutionIn(sku=sku, with_sku=with_sku, qty=qty)
    try:
        await propose(fid, body, principal(who), svc)
    except DomainError as err:
        raise Problem(err) from None
    here = f"/console/parts/{fid}/pick?{urlencode({'lang': lang_of(request)})}"
    return RedirectResponse(here, status_code=303)


def _shortage_refunds(svc: Services, order_id: str, short: list[dict[str, Any]]) -> dict[str, int]:
    """What the member gets back for the units short: each unit's share of what was paid."""
    view = svc.read_model.order_view(order_id)
    if view is None:
        return {}
    paid = {ln["sku"]: ln for ln in view["pricing"]["lines"] if not ln["gift"]}
    done: dict[str, int] = {}
    for r in view["refunds"]:
        for ln in r["lines"]:
            done[ln["sku"]] = done.get(ln["sku"], 0) + ln["qty"]
    out = {}
    for ln in short:
        line = paid.get(ln["sku"])
        if line is not None and line["qty"]:
            out[ln["sku"]] = unit_share(
                line["paid_amount"], line["qty"], done=done.get(ln["sku"], 0), more=ln["short"]
            )
    return out


# --- shipping --------------------------------------------------------------------------------


@router.get("/parts/{fid}/ship", response_class=HTMLResponse)
def ship_page(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    part = _part(svc, who, fid)
    return render(request, "ship.html", who, part=part, back=_back(request, who, part))


@router.post("/parts/{fid}/ship", response_class=HTMLResponse)
async def ship(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    carrier = str(form.get("carrier") or "").strip()[:64] or (part["carrier"] or "")
    tracking = str(form.get("tracking") or "").strip()[:64]
    t = translator(lang_of(request))
    if not carrier:  # no carrier rule gave the part one: staff name it
        return render(
            request,
            "ship.html",
            who,
            422,
            part=part,
            problem=t("missing", what=t("carrier")),
            carrier=carrier,
            tracking=tracking,
            back=_back(request, who, part),
            here=f"/console/parts/{fid}/ship",
        )
    await _ship(svc, who, fid, carrier, tracking)
    return RedirectResponse(_back(request, who, part, done="shipped"), status_code=303)


@router.post("/ship-batch", response_class=HTMLResponse)
async def ship_batch(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    """Several parts at once, each with its tracking number, one carrier: every part is
    checked before any is shipped; each then ships or says why not."""
    form = await check_form(request, who)
    raw = await request.form()
    fids = list(dict.fromkeys(str(f) for f in raw.getlist("fids")))[:100]
    carrier = str(form.get("carrier") or "").strip()[:64]
    t = translator(lang_of(request))
    parts = [await run_in_threadpool(_part, svc, who, fid) for fid in fids]
    back = _back(request, who, parts[0] if parts else None)
    if not parts:
        return render(
            request, "done.html", who, 422, message=t("nothing_selected"), lines=[], back=back
        )
    done, problems = [], []
    for part in parts:
        fid = part["fulfilment_id"]
        tracking = str(form.get(f"tracking-{fid}") or "").strip()[:64]
        by = carrier or part["carrier"] or ""
        if not by:
            problems.append(f"{fid}: {t('missing', what=t('carrier'))}")
            continue
        try:
            shipped = await _ship(svc, who, fid, by, tracking)
            done.append(f"{fid}: {shipped['carrier']} {shipped['tracking_no']}")
        except Problem as err:
            problems.append(f"{fid}: {explain(t, err)}")
    return render(
        request,
        "done.html",
        who,
        422 if problems and not done else 200,
        message=t("shipped_n", n=len(done), of=len(parts)),
        lines=done + problems,
        back=back,
    )


@router.get("/parts/{fid}/label")
def shipping_label(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    """The part's shipping label (PDF), to print."""
    part = _part(svc, who, fid)
    if part["mode"] != "delivery" or not part["tracking_no"]:
        raise Refused(409, "no_waybill")
    pdf = labels.render(svc.read_model.label_data(fid))
    return Response(pdf, media_type="application/pdf")


@router.get("/parts/{fid}/picking-slip", response_class=HTMLResponse)
def picking_slip(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    return _slip(request, who, svc, fid, "picking")


@router.get("/parts/{fid}/shipping-slip", response_class=HTMLResponse)
def shipping_slip(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    return _slip(request, who, svc, fid, "shipping")


def _slip(request: Request, who: ConsoleUser, svc: Services, fid: str, kind: str) -> HTMLResponse:
    part = _part(svc, who, fid)
    row = svc.catalog.get_location(part["location_id"])
    t = translator(lang_of(request))
    return render(
        request,
        "slip.html",
        who,
        part=part,
        kind=kind,
        heading=t(f"{kind}_slip"),
        location_name=row.name if row else part["location_id"],
    )


# --- the till: handing over pickups ----------------------------------------------------------

# Wrong codes typed at a location's till lock it as the API locks a part: five in a row lock
# code entry there for 15 minutes (by location, in this process).
WRONG_CODES = Attempts(window_s=PICKUP_LOCKOUT_S)


@router.get("/handover", response_class=HTMLResponse)
def handover_page(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    """The till: a code box; after a hand-over, what was handed over."""
    location = location_of(request, who)
    if location is None:
        return _chooser(request, who, svc, "handover.html")
    handed = None
    fid = request.query_params.get("done")
    if fid:
        handed = svc.read_model.console_part(fid)
        if handed is None or handed["location_id"] != location:
            handed = None
    t = translator(lang_of(request))
    notice = t("handed_over") if handed else None
    return render(request, "handover.html", who, handed=handed, notice=notice)


@router.post("/handover", response_class=HTMLResponse)
async def handover(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    """The member's code finds the part waiting for them here. `Find` shows it, to confirm;
    `Confirm the hand-over` hands it over (and shows what was handed over)."""
    form = await check_form(request, who)
    location = location_of(request, who)
    t = translator(lang_of(request))
    if location is None:
        raise Refused(404, "not_found")
    code = str(form.get("code") or "").strip()[:16]

    def page(status: int, **ctx: Any) -> HTMLResponse:
        return render(request, "handover.html", who, status, here="/console/handover", **ctx)

    if not code:
        return page(422, problem=t("enter_code"))
    locked = WRONG_CODES.locked(location, limit=PICKUP_ATTEMPTS)
    if locked:
        return page(429, problem=t("locked", m=int(locked // 60) + 1))
    part = await run_in_threadpool(_waiting_with_code, svc, location, code)
    if part is None:
        tries = WRONG_CODES.add(location)
        left = PICKUP_ATTEMPTS - tries
        if left > 0:
            return page(409, problem=t("no_such_code", n=left), code=code)
        return page(429, problem=t("locked", m=PICKUP_LOCKOUT_S // 60))
    WRONG_CODES.clear(location)
    if form.get("do") == "find":
        return page(200, part=part, code=code)
    fid = part["fulfilment_id"]
    await _act(svc, who, fid, StaffAction(action="pickup", code=code))
    return RedirectResponse(page_url("/console/handover", request, who, done=fid), 303)


def _waiting_with_code(svc: Services, location: str, code: str) -> dict[str, Any] | None:
    """The part waiting for pickup here whose code this is."""
    waiting = svc.read_model.console_parts(location, statuses=("ready_for_pickup",))
    hashes = svc.read_model.code_hashes([p["fulfilment_id"] for p in waiting])
    return next(
        (
            p
            for p in waiting
            if hmac.compare_digest(
                hashes.get(p["fulfilment_id"], ""), code_hash(p["fulfilment_id"], code)
            )
        ),
        None,
    )


# --- operations (admins) ---------------------------------------------------------------------


@router.get("/ops", response_class=HTMLResponse)
def ops(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    if who.role != "admin":
        raise Refused(403, "forbidden")
    return render(
        request,
        "ops.html",
        who,
        sections=exceptions(svc, translator(lang_of(request))),
        temporal_url=f"{svc.settings.ui_origin}/namespaces/{svc.settings.temporal_namespace}",
    )


def exceptions(svc: Services, t: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    s = svc.settings
    now = datetime.now(UTC)
    near = []
    for loc in svc.catalog.list_locations():
        for part in svc.read_model.console_parts(loc.location_id, statuses=("dispatched",)):
            changed = part["changed_at"]
            changed = changed if changed.tzinfo else changed.replace(tzinfo=UTC)
            left = s.accept_timeout_s - (now - changed).total_seconds()
            if left < 120:
                what = t("part_at", fid=part["fulfilment_id"], at=loc.location_id)
                near.append({"what": f"{what}: {_left(left, t)}", "order_id": part["order_id"]})
    unserved = [
        {"what": e["detail"], "order_id": e["order_id"]}
        for e in svc.read_model.timeline_events("unserved", limit=100)
    ]
    refunds = {
        status: [
            {
                "what": f"{r['refund_id']} {yuan(r['amount'])}: {r['reason']} {r['detail']}",
                "order_id": r["order_id"],
            }
            for r in svc.read_model.refunds(status)
        ]
        for status in ("pending", "failed")
    }
    conflicts = [
        {"what": f"{c['member_id']} ({c['channel']}): {c['field']}", "order_id": None}
        for c in svc.members.conflicts(resolved=False)
    ]
    low = [
        {
            "what": f"{loc.location_id} {loc.name}: {t('credit')} {loc.credit_score}",
            "order_id": None,
        }
        for loc in svc.catalog.list_locations()
        if loc.credit_score < s.min_credit_score
    ]
    return [
        ("near_deadline", near),
        ("unserved", unserved),
        ("refunds_pending", refunds["pending"]),
        ("refunds_failed", refunds["failed"]),
        ("member_conflicts", conflicts),
        ("low_credit", low),
    ]


def explain(t: Any, err: Problem) -> str:
    """A refusal in the page's language: known refusals have their own words; any other shows
    the order's own message."""
    known = t(f"error_{err.code}")
    return known if known != f"error_{err.code}" else err.message


def install(app: Any) -> None:
    """The console's routes, its static files and what it answers when refused."""
    from fastapi.staticfiles import StaticFiles

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

    def refusal_page(request: Request, status: int, message: str) -> Response:
        """A refusal, on a page with the signed-in person's navigation, pointing back to the
        work list they came from."""
        svc: Services = request.app.state.services
        who = svc.staff_accounts.session(request.cookies.get(COOKIE))
        back = page_url("/console", request, who) if who else "/console"
        return render(request, "done.html", who, status, message=message, lines=[], back=back)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
        return RedirectResponse(f"/console/login?lang={lang_of(request)}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, err: Refused) -> Response:
        t = translator(lang_of(request))
        return await run_in_threadpool(refusal_page, request, err.status, t(err.key))

    @app.exception_handler(Problem)
    async def problem(request: Request, err: Problem) -> Response:
        t = translator(lang_of(request))
        message = t("refused", why=explain(t, err))
        return await run_in_threadpool(refusal_page, request, err.status, message)
