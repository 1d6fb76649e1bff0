"""FastAPI dependencies that authenticate a request by its signature (medledger_api.signed_request) and
authorise it by the caller's organisation and role. A RequestError they raise becomes a 401 (app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from medledger_api.signed_request import (
    Caller,
    NonceStore,
    VerifiedRequest,
    content_digest,
    verify_request,
)

from .trust import TrustFolders


@dataclass(frozen=True)
class Authenticator:
    """What checks requests for one service; kept in `app.state.authenticator`."""

    audience: str
    trust: TrustFolders
    nonces: NonceStore
    window_ms: int

    def verify(self, request: Request) -> VerifiedRequest:
        headers = {name.lower(): value for name, value in request.headers.items()}
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        return verify_request(
            headers,
            audience=self.audience,
            method=request.method,
            path=raw_path.decode("latin-1"),
            query=request.scope.get("query_string", b"").decode("latin-1"),
            trust=self.trust.current(),
            nonces=self.nonces,
            window_ms=self.window_ms,
        )


def signed_headers(request: Request) -> VerifiedRequest:
    """A request whose signature holds; its body is not read (a streaming route checks the digest itself)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.verify(request)


async def signed_caller(verified: Annotated[VerifiedRequest, Depends(signed_headers)], request: Request) -> Caller:
    """The caller of a request whose signature and body digest hold."""
    verified.check_body(content_digest(await request.body()))
    return verified.caller


def caller_with(*, roles: tuple[str, ...] = (), msp_ids: tuple[str, ...] = ()) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers with one of `roles` (medledger.role) from one of `msp_ids`; an empty
    tuple admits any."""

    async def admitted(caller: Annotated[Caller, Depends(signed_caller)]) -> Caller:
        if msp_ids and caller.msp_id not in msp_ids:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"members of {caller.msp_id} may not do this")
        if roles and caller.role not in roles:
            shown = caller.role or "no role"
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{shown} may not do this; it needs {' or '.join(roles)}")
        return caller

    return admitted
