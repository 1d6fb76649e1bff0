"""Calls to the MedLedger services: HTTPS to a server whose certificate chains to its organisation's TLS CA, each
request signed by the caller's enrolment key (medledger_api.signed_request)."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from medledger_api.signed_request import Signer, content_digest, sign_request

TIMEOUT_SECONDS = 60


class ServiceError(Exception):
    """A service refused a request (its status and one-line reason), or could not be reached (status 0)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}" if status else detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class ServiceClient:
    address: str  # host:port
    audience: str
    signer: Signer
    ca_pem: bytes  # the TLS CA chain of the service's organisation

    def call(self, method: str, path: str, body: BaseModel | None = None, *, query: str = "") -> Any:
        """The decoded JSON answer (None for 204); ServiceError for anything but 2xx."""
        content = b"" if body is None else body.model_dump_json().encode()
        headers = sign_request(
            self.signer, audience=self.audience, method=method, path=path, query=query, digest=content_digest(content)
        )
        headers["content-type"] = "application/json"
        target = f"{path}?{query}" if query else path
        status, answer = self._send(method, target, content, headers)
        if not 200 <= status < 300:
            raise ServiceError(status, _detail(answer))
        return json.loads(answer) if answer else None

    def _send(self, method: str, target: str, content: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        host, port = self.address.rsplit(":", 1)
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=TIMEOUT_SECONDS)
        try:
            connection.request(method, target, body=content, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise ServiceError(0, f"{self.audience} at {self.address}: {error}") from None
        finally:
            connection.close()


def path_segment(value: str) -> str:
    return quote(value, safe="")


def _detail(answer: bytes) -> str:
    try:
        return str(json.loads(answer)["detail"])
    except (ValueError, KeyError, TypeError):
        return answer.decode(errors="replace")[:200]
