"""The store console, served by the API process: staff work their location's online orders in a
browser (a counter PC, or a handheld scanner about 360 px wide) and hand over pickups at the
till; admins see the exceptions. Pages are rendered on the server (Jinja2); htmx refreshes the
work list; every action goes through the same path as the API's staff routes."""

from __future__ import annotations

import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from adapters.staff import ConsoleUser
from adapters.tokens import Principal
from api.console.i18n import LANGS, translator
from api.deps import Services, services
from api.routes.staff import act
from domain.errors import DomainError
from domain.fulfilment import code_hash
from domain.orders import LineRequest
from domain.policy import PICKUP_ATTEMPTS, PICKUP_LOCKOUT_S
from domain.refunds import unit_share
from workflows.messages import StaffAction
from workflows.operations import yuan

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "oms_console"
LOGIN_CSRF = "oms_login_csrf"
STAGES = {
    "dispatched": "to_accept",
    "accepted": "to_pick",
    "ready_for_pickup": "to_hand_over",
    "picked": "to_ship",
}
SLOW_AFTER = 3  # wrong sign-ins (per username) before each next answer is slowed down


class NotSignedIn(Exception):
    pass


class Refused(Exception):
    """A console request that must not be served: the page to show instead."""

    def __init__(self, status: int, key: str) -> None:
        self.status, self.key = status, key


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("oms_lang") or "zh"
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


async def check_form(request: Request, who: ConsoleUser) -> dict[str, Any]:
    """The form of a state-changing request, refused unless it carries the session's token and,
    when the browser says where it comes from, comes from the console itself."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
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


def render(
    request: Request, name: str, who: ConsoleUser | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    lang = lang_of(request)
    params = dict(request.query_params) | {"lang": "en" if lang == "zh" else "zh"}
    ctx = {
        "lang": lang,
        "t": translator(lang),
        "who": who,
        "csrf": who.csrf if who else "",
        "other_lang_url": f"{request.url.path}?{urlencode(params)}",
    } | ctx
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.set_cookie("oms_lang", lang, samesite="strict", httponly=True)
    return response


# --- signing in and out -------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(16)
    response = render(request, "login.html", None, login_csrf=token)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", path="/console")
    return response


_failures: dict[str, list[float]] = {}


@router.post("/login")
async def login(request: Request, svc: Services = Depends(services)) -> Response:
    form = dict(await request.form())
    t = translator(lang_of(request))
    sent = str(form.get("login_csrf") or "")
    if not sent or not hmac.compare_digest(sent, request.cookies.get(LOGIN_CSRF, "")):
        return render(request, "login.html", None, 403, login_csrf=sent, problem=t("csrf"))
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    token = str(form.get("token") or "").strip()
    wait = _slowed(username)
    if wait:
        problem = t("slowed", s=int(wait) + 1)
        return render(request, "login.html", None, 429, login_csrf=sent, problem=problem)
    role, name, location = await run_in_threadpool(_authenticate, svc, username, password, token)
    if role is None:
        _failures.setdefault(username or token[:8], []).append(time.monotonic())
        return render(request, "login.html", None, 401, login_csrf=sent, problem=t("bad_sign_in"))
    _failures.pop(username, None)
    secret = await run_in_threadpool(
        lambda: svc.staff_accounts.open_session(role=role, name=name, location_id=location)
    )
    response = RedirectResponse(f"/console?lang={lang_of(request)}", status_code=303)
    response.set_cookie(
        COOKIE, secret, httponly=True, samesite="strict", path="/", max_age=12 * 3600
    )
    response.delete_cookie(LOGIN_CSRF, path="/console")
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


def _slowed(username: str) -> float:
    """Seconds to wait before another sign-in of this name: none for the first few failures,
    then doubling (1, 2, 4, ... 60 s) after the last one."""
    now = time.monotonic()
    recent = [at for at in _failures.get(username, []) if now - at < 900]
    _failures[username] = recent
    if len(recent) < SLOW_AFTER:
        return 0.0
    wait = min(60.0, 2.0 ** (len(recent) - SLOW_AFTER))
    return max(0.0, recent[-1] + wait - now)


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


@router.get("", response_class=HTMLResponse)
def worklist(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    location = location_of(request, who)
    if location is None:
        return render(request, "worklist.html", who, choose=svc.catalog.list_locations())
    row = svc.catalog.get_location(location)
    if row is None:
        raise Refused(404, "not_found")
    return render(
        request,
        "worklist.html",
        who,
        location=location,
        location_name=row.name,
        stages=stages(svc, location, lang_of(request)),
        notice=request.query_params.get("done"),
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
        request,
        "worklist_stages.html",
        who,
        location=location,
        stages=stages(svc, location, lang_of(request)),
    )


def _part(svc: Services, who: ConsoleUser, fid: str) -> dict[str, Any]:
    """A part the signed-in person may work on (another location's is `not found`)."""
    part = svc.read_model.console_part(fid)
    if part is None or (who.role == "staff" and part["location_id"] != who.location_id):
        raise Refused(404, "not_found")
    return part


def _back(request: Request, who: ConsoleUser, part: dict[str, Any] | None = None) -> str:
    query = {"lang": lang_of(request)}
    if who.role == "admin" and part is not None:
        query["location"] = part["location_id"]
    return f"/console?{urlencode(query)}"


async def _act(svc: Services, who: ConsoleUser, fid: str, action: StaffAction) -> dict[str, Any]:
    try:
        return await act(svc, principal(who), fid, action)
    except DomainError as err:
        raise Problem(err) from None


class Problem(Exception):
    """An action the order refused: the page says why, in the words of the refusal."""

    def __init__(self, err: DomainError) -> None:
        from api.errors import STATUS_BY_CODE

        self.status = STATUS_BY_CODE.get(err.code, 422)
        self.message = err.message


@router.post("/parts/{fid}/accept")
async def accept(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    await _act(svc, who, fid, StaffAction(action="accept"))
    return RedirectResponse(_back(request, who, part), status_code=303)


@router.post("/parts/{fid}/reject")
async def reject(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    reason = str(form.get("reason") or "")[:200]
    await _act(svc, who, fid, StaffAction(action="reject", reason=reason))
    return RedirectResponse(_back(request, who, part), status_code=303)


# --- picking ---------------------------------------------------------------------------------


@router.get("/parts/{fid}/pick", response_class=HTMLResponse)
def pick_page(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    part = _part(svc, who, fid)
    codes = {ln["sku"].upper(): ln["sku"] for ln in part["lines"]}
    return render(request, "pick.html", who, part=part, codes_json=json.dumps(codes))


@router.post("/parts/{fid}/picked", response_class=HTMLResponse)
async def picked(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    t = translator(lang_of(request))
    counts = {}
    for ln in part["lines"]:
        try:
            n = int(str(form.get(f"qty-{ln['sku']}", "0")))
        except ValueError:
            n = 0
        counts[ln["sku"]] = max(0, min(ln["qty"], n))
    short = [ln | {"short": ln["qty"] - counts[ln["sku"]]} for ln in part["lines"]]
    short = [ln for ln in short if ln["short"] > 0]
    refunds = await run_in_threadpool(_shortage_refunds, svc, part["order_id"], short)
    total = yuan(sum(refunds.values()))
    if short and not form.get("confirm_short"):
        for ln in short:
            ln["refund"] = yuan(refunds.get(ln["sku"], 0))
        return render(
            request,
            "pick.html",
            who,
            part=part,
            picked=counts,
            shortage=short,
            refund_total=total,
        )
    lines = [LineRequest(sku=s, qty=q) for s, q in counts.items()]
    await _act(svc, who, fid, StaffAction(action="picked", lines=lines))
    note = [str(t("refunded", amount=total))] if short else []
    return render(
        request,
        "done.html",
        who,
        message=t("picked_done"),
        lines=note,
        back=_back(request, who, part),
    )


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
    return render(request, "ship.html", who, part=_part(svc, who, fid))


@router.post("/parts/{fid}/ship", response_class=HTMLResponse)
async def ship(
    fid: str, request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    part = await run_in_threadpool(_part, svc, who, fid)
    carrier = str(form.get("carrier") or "").strip()[:64]
    tracking = str(form.get("tracking") or "").strip()[:64]
    t = translator(lang_of(request))
    if not carrier or not tracking:
        problem = t("refused", why=f"{t('carrier')} / {t('tracking')}")
        return render(request, "ship.html", who, 422, part=part, problem=problem, carrier=carrier)
    await _act(svc, who, fid, StaffAction(action="ship", carrier=carrier, tracking_no=tracking))
    return render(
        request,
        "done.html",
        who,
        message=t("shipped_done"),
        lines=[],
        back=_back(request, who, part),
    )


@router.post("/ship-batch", response_class=HTMLResponse)
async def ship_batch(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> Response:
    form = await check_form(request, who)
    raw = await request.form()
    fids = [str(f) for f in raw.getlist("fids")][:100]
    carrier = str(form.get("carrier") or "").strip()[:64]
    t = translator(lang_of(request))
    done, problems, part = [], [], None
    for fid in fids:
        tracking = str(form.get(f"tracking-{fid}") or "").strip()[:64]
        part = await run_in_threadpool(_part, svc, who, fid)
        if not carrier or not tracking:
            problems.append(f"{fid}: {t('carrier')} / {t('tracking')}")
            continue
        try:
            await _act(
                svc, who, fid, StaffAction(action="ship", carrier=carrier, tracking_no=tracking)
            )
            done.append(f"{fid}: {carrier} {tracking}")
        except Problem as err:
            problems.append(f"{fid}: {err.message}")
    return render(
        request,
        "done.html",
        who,
        422 if problems and not done else 200,
        message=t("shipped_done") if done else t("refused", why=""),
        lines=done + problems,
        back=_back(request, who, part),
    )


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

# Wrong codes typed at a location's till, to lock it as the API locks a part (5 in a row lock
# code entry for 15 minutes): by location, in this process.
_wrong_codes: dict[str, list[float]] = {}


def _locked_for(location: str) -> float:
    now = time.monotonic()
    recent = [at for at in _wrong_codes.get(location, []) if now - at < PICKUP_LOCKOUT_S]
    _wrong_codes[location] = recent
    if len(recent) >= PICKUP_ATTEMPTS:
        return recent[-PICKUP_ATTEMPTS] + PICKUP_LOCKOUT_S - now
    return 0.0


@router.get("/handover", response_class=HTMLResponse)
def handover_page(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    return render(request, "handover.html", who, location=location_of(request, who))


@router.post("/handover", response_class=HTMLResponse)
async def find_code(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    """The member's code finds the part waiting for them here: shown, to confirm."""
    form = await check_form(request, who)
    location = location_of(request, who)
    t = translator(lang_of(request))
    if location is None:
        raise Refused(404, "not_found")
    locked = _locked_for(location)
    if locked:
        problem = t("locked", m=int(locked // 60) + 1)
        return render(request, "handover.html", who, 429, location=location, problem=problem)
    code = str(form.get("code") or "").strip()[:16]
    waiting = await run_in_threadpool(
        svc.read_model.console_parts, location, statuses=("ready_for_pickup",)
    )
    hashes = await run_in_threadpool(
        svc.read_model.code_hashes, [p["fulfilment_id"] for p in waiting]
    )
    part = next(
        (
            p
            for p in waiting
            if code and hashes.get(p["fulfilment_id"]) == code_hash(p["fulfilment_id"], code)
        ),
        None,
    )
    if part is None:
        _wrong_codes.setdefault(location, []).append(time.monotonic())
        left = PICKUP_ATTEMPTS - len(_wrong_codes[location])
        problem = (
            t("no_such_code", n=max(0, left)) if left > 0 else t("locked", m=PICKUP_LOCKOUT_S // 60)
        )
        return render(
            request,
            "handover.html",
            who,
            409 if left > 0 else 429,
            location=location,
            problem=problem,
        )
    _wrong_codes.pop(location, None)
    return render(request, "handover.html", who, location=location, part=part, code=code)


@router.post("/handover/confirm", response_class=HTMLResponse)
async def confirm_handover(
    request: Request, who: ConsoleUser = Depends(user), svc: Services = Depends(services)
) -> HTMLResponse:
    form = await check_form(request, who)
    fid = str(form.get("fid") or "")[:80]
    part = await run_in_threadpool(_part, svc, who, fid)
    await _act(svc, who, fid, StaffAction(action="pickup", code=str(form.get("code") or "")[:16]))
    t = translator(lang_of(request))
    back = f"/console/handover?lang={lang_of(request)}"
    if who.role == "admin":
        back += f"&location={part['location_id']}"
    return render(request, "done.html", who, message=t("handed_over"), lines=[], back=back)


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
        temporal_url=svc.settings.ui_origin,
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
                what = f"{part['fulfilment_id']} at {loc.location_id}: {_left(left, t)}"
                near.append({"what": what, "order_id": part["order_id"]})
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


def install(app: Any) -> None:
    """The console's routes, its static files and what it answers when refused."""
    from fastapi.staticfiles import StaticFiles

    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
        return RedirectResponse(f"/console/login?lang={lang_of(request)}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, err: Refused) -> Response:
        t = translator(lang_of(request))
        return render(
            request, "done.html", None, err.status, message=t(err.key), lines=[], back="/console"
        )

    @app.exception_handler(Problem)
    async def problem(request: Request, err: Problem) -> Response:
        t = translator(lang_of(request))
        message = t("refused", why=err.message)
        return render(
            request, "done.html", None, err.status, message=message, lines=[], back="/console"
        )
