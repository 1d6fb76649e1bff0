"""The Kubernetes API as a pod's own service account: its namespace's Secrets and the cluster's
CertificateSigningRequests, the two things our init containers keep identities with."""

from __future__ import annotations

import base64
import json
import os
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ApiError(Exception):
    """One line for the pod's log: what failed, never a key."""


class SecretStore(Protocol):
    def read(self, name: str) -> dict[str, bytes] | None: ...

    def create(self, name: str, data: dict[str, bytes]) -> bool:
        """False if the Secret exists already (another start of the same pod made it first)."""
        ...


class SigningRequests(Protocol):
    def submit(self, name: str, request_pem: bytes, signer: str, usages: list[str]) -> None:
        """Create the CertificateSigningRequest, or leave the one of that name in place."""
        ...

    def answer(self, name: str) -> tuple[bytes | None, str | None]:
        """The issued certificate (PEM, possibly a chain), or why it was denied; (None, None) while pending."""
        ...


def stored_or_created(
    store: SecretStore, name: str, make: Callable[[], dict[str, bytes]]
) -> tuple[dict[str, bytes], bool]:
    """The Secret's data and whether this call created it: the stored Secret, else `make()` stored now, else
    (another start stored one first) that one. Secrets are immutable: the first stored wins."""
    stored = store.read(name)
    if stored is not None:
        return stored, False
    made = make()
    if store.create(name, made):
        return made, True
    stored = store.read(name)
    if stored is None:
        raise ApiError(f"Secret {name} exists and cannot be read")
    return stored, False


def awaited_secret(store: SecretStore, name: str, key: str, timeout: float, *, maker: str, pause: float = 2.0) -> bytes:
    """`key` of the Secret `name`, which `maker` (a Job) stores: waited for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (stored := store.read(name)) is None:
        if time.monotonic() >= deadline:
            raise ApiError(f"no Secret {name} after {timeout:.0f} s: has the {maker} run?")
        time.sleep(pause)
    if key not in stored:
        raise ApiError(f"Secret {name} holds no {key}")
    return stored[key]


@dataclass(frozen=True)
class InCluster:
    server: str
    namespace: str
    token: str
    context: ssl.SSLContext

    @classmethod
    def from_pod(cls, folder: Path = SERVICE_ACCOUNT) -> InCluster:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
        context = ssl.create_default_context(cafile=str(folder / "ca.crt"))
        namespace = (folder / "namespace").read_text().strip()
        return cls(f"https://{host}:{port}", namespace, (folder / "token").read_text().strip(), context)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 (https: the API server)
            f"{self.server}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as answer:  # noqa: S310 (the API)
                return int(answer.status), json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return int(error.code), {}
        except (urllib.error.URLError, OSError) as error:
            raise ApiError(f"the Kubernetes API at {self.server}: {error}") from None

    # Secrets of the pod's namespace.

    def read(self, name: str) -> dict[str, bytes] | None:
        status, secret = self.call("GET", f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
        if status == 404:
            return None
        if status != 200:
            raise ApiError(f"reading Secret {name}: HTTP {status}")
        return {key: base64.b64decode(value) for key, value in secret.get("data", {}).items()}

    def create(self, name: str, data: dict[str, bytes]) -> bool:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "medledger"}},
            "type": "Opaque",
            "immutable": True,
            "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
        }
        status, _ = self.call("POST", f"/api/v1/namespaces/{self.namespace}/secrets", secret)
        if status == 409:
            return False
        if status != 201:
            raise ApiError(f"creating Secret {name}: HTTP {status}")
        return True

    # CertificateSigningRequests (cluster-wide).

    def submit(self, name: str, request_pem: bytes, signer: str, usages: list[str]) -> None:
        csr = {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": base64.b64encode(request_pem).decode(), "signerName": signer, "usages": usages},
        }
        status, _ = self.call("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr)
        if status not in (201, 409):
            raise ApiError(f"asking for certificate {name}: HTTP {status}")

    def answer(self, name: str) -> tuple[bytes | None, str | None]:
        status, csr = self.call("GET", f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}")
        if status != 200:
            raise ApiError(f"reading certificate request {name}: HTTP {status}")
        state = csr.get("status") or {}
        for condition in state.get("conditions", []):
            if condition.get("type") in ("Denied", "Failed"):
                return None, str(condition.get("message") or condition.get("reason") or "denied")
        certificate = state.get("certificate")
        return (base64.b64decode(certificate) if certificate else None), None
