"""The codec endpoint: Temporal UI (and `temporal workflow show --codec-endpoint`) read an
order's payloads through it, decrypted for admins only. The protocol is Temporal's remote codec:
`POST <endpoint>/decode` and `/encode` with `{"payloads": [...]}` (Payload protos as JSON)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from adapters.codec import EncryptionCodec
from api import answers
from api.deps import Services, services
from api.errors import error_response
from api.schemas import ErrorOut
from domain.errors import InvalidRequest, Unauthorized

router = APIRouter(prefix="/v1/codec", tags=["operations"])
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def cors(svc: Services, request: Request, response: Response) -> None:
    """Temporal UI's origin (and only it) may call the codec, with credentials."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") == svc.settings.ui_origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Vary"] = "Origin"


def require_operator(svc: Services, request: Request) -> None:
    """The admin token as a bearer token, or an admin's signed-in console session."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    admin = svc.settings.secret("admin_token")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), admin):
        return
    who = svc.staff_accounts.session(request.cookies.get("oms_console"))
    if who is not None and who.role == "admin":
        return
    raise Unauthorized(
        "the codec decodes for operations only: send the admin token "
        "(Authorization: Bearer ...), or sign in to /console as an admin in this browser"
    )


@router.options("/decode", include_in_schema=False)
@router.options("/encode", include_in_schema=False)
async def preflight(request: Request, svc: Services = Depends(services)) -> Response:
    response = Response(status_code=204)
    cors(svc, request, response)
    return response


@router.post(
    "/decode",
    response_model=answers.Payloads,
    responses={
        401: {"model": ErrorOut, "description": "not an operator: no admin token or session"}
    },
)
async def decode(request: Request, svc: Services = Depends(services)) -> Response:
    """Sealed payloads in, readable ones out (Temporal's remote codec protocol)."""
    return await codec("decode", request, svc)


@router.post(
    "/encode",
    response_model=answers.Payloads,
    responses={
        401: {"model": ErrorOut, "description": "not an operator: no admin token or session"}
    },
)
async def encode(request: Request, svc: Services = Depends(services)) -> Response:
    """Readable payloads in, sealed ones out (Temporal's remote codec protocol)."""
    return await codec("encode", request, svc)


async def codec(operation: str, request: Request, svc: Services) -> Response:
    try:
        require_operator(svc, request)
        payloads = parse(await request.body())
        codec = EncryptionCodec(svc.key_ring)
        done = await (codec.decode if operation == "decode" else codec.encode)(payloads.payloads)
        body: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=done))
        response: Response = JSONResponse({"payloads": body.get("payloads", [])})
    except (Unauthorized, InvalidRequest) as err:
        response = error_response(err.code, err.message, err.details)
    cors(svc, request, response)
    return response


def parse(raw: bytes) -> Payloads:
    try:
        return json_format.Parse(raw or b"{}", Payloads())
    except (json_format.ParseError, ValueError) as exc:
        raise InvalidRequest(
            'the body must be {"payloads": [{"metadata": {...}, "data": "<base64>"}]}',
            details={"reason": str(exc)[:200]},
        ) from None
