"""Calls to the MedLedger services: HTTPS to a server whose certificate chains to its organisation's TLS CA, each
request signed by the caller's enrolment key (medledger_api.signed_request)."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from pydantic import BaseModel

from medledger_api.signed_request import Signer, content_digest, sign_request

from .files import atomic_file

TIMEOUT_SECONDS = 60
CHUNK_BYTES = 1 << 16


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
        headers = self._signed(method, path, query, content_digest(content), "application/json")
        target = f"{path}?{query}" if query else path
        with self._exchange(method, target, content, headers) as response:
            answer = response.read()
        return json.loads(answer) if answer else None

    def upload(self, path: str, source: Path, digest: str) -> Any:
        """PUT a file's bytes, streamed from disk; `digest` is their SHA-384 (content_digest), which the request
        signs. The decoded JSON answer."""
        headers = self._signed("PUT", path, "", digest, "application/octet-stream")
        headers["content-length"] = str(source.stat().st_size)
        with source.open("rb") as content, self._exchange("PUT", path, content, headers) as response:
            return json.loads(response.read())

    def download(self, path: str, destination: Path) -> None:
        """GET a body into `destination`, streamed, written all or nothing."""
        headers = self._signed("GET", path, "", content_digest(b""), "application/json")
        with self._exchange("GET", path, b"", headers) as response, atomic_file(destination) as out:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)

    def _signed(self, method: str, path: str, query: str, digest: str, content_type: str) -> dict[str, str]:
        headers = sign_request(
            self.signer, audience=self.audience, method=method, path=path, query=query, digest=digest
        )
        headers["content-type"] = content_type
        return headers

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        # Built once per client: a service's long-lived clients (the directory, the proxy's storage) call on
        # every request, and parsing the chain each time is CPU the service needs for its requests.
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    @contextmanager
    def _exchange(
        self, method: str, target: str, body: bytes | BinaryIO, headers: dict[str, str]
    ) -> Iterator[http.client.HTTPResponse]:
        """A 2xx response, its body unread; ServiceError otherwise."""
        host, port = self.address.rsplit(":", 1)
        connection = http.client.HTTPSConnection(host, int(port), context=self._tls, timeout=TIMEOUT_SECONDS)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            if not 200 <= response.status < 300:
                raise ServiceError(response.status, _detail(response.read()))
            yield response
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
