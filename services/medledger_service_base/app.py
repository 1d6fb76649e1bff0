"""The FastAPI application every service starts from: authentication wired in, bodies bounded, and every
refusal a 4xx with a one-line reason (`{"detail": "..."}`), never a stack trace."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medledger_api.common import Problem
from medledger_api.signed_request import NonceStore, RequestError

from .auth import Authenticator
from .settings import ServiceSettings
from .trust import TrustFolders


def create_app(settings: ServiceSettings, nonces: NonceStore, routers: Iterable[APIRouter], *, title: str) -> FastAPI:
    app = FastAPI(title=title, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.authenticator = Authenticator(
        settings.audience,
        TrustFolders(settings.organisations),
        nonces,
        settings.request_window_seconds * 1000,
    )
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(RequestError, _unauthenticated)  # type: ignore[arg-type]  # as below
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]  # Starlette types handlers by Exception
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def from_state(name: str) -> Any:
    """A dependency giving what the service's `build` put in `app.state.<name>` (its store, its clients):
    `Store = Annotated[RegistryStore, from_state("store")]`."""

    def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return Depends(dependency)


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A route's OpenAPI `responses` for its refusals, each a Problem; 401 (unauthenticated), 413 and 422
    (the body) are every signed route's."""
    return {code: {"model": Problem} for code in sorted({401, 413, 422, *codes})}


async def _unauthenticated(request: Request, error: RequestError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status.HTTP_401_UNAUTHORIZED)


async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ())) or "request"
    return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid')}"}, status.HTTP_422_UNPROCESSABLE_CONTENT)


class BodyLimit:
    """Refuses a body longer than `max_bytes` with 413, by its Content-Length when it gives one and by
    counting otherwise (a chunked upload), before the route sees more than the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _refuse(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await _refuse(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _refuse(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"the request body is larger than {max_bytes} bytes"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status.HTTP_413_CONTENT_TOO_LARGE, "headers": headers})
    await send({"type": "http.response.body", "body": body})
