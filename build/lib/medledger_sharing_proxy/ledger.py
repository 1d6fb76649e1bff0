"""What the proxy reads and writes on the ledger, and the storage grant it makes, through its own identity."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol

from medledger_api.entities import DataUsageEntity, PatientDataEntity
from medledger_api.storage import Grant
from medledger_client import storage
from medledger_client.gateway import Endpoint, Gateway, GatewayError
from medledger_client.identity import from_msp_folder
from medledger_client.service_client import ServiceClient

from .settings import SharingProxySettings

# The chaincode's answer for a key it does not have (chaincode/internal/ledger, Store.Read).
_ABSENT = re.compile(r"\bno \w+ record for\b")


class LedgerError(Exception):
    """The ledger refused or could not be reached; one line."""


class Ledger(Protocol):
    def index_record(self, pid: str, treatment: str) -> PatientDataEntity | None: ...

    def record_usage(self, usage: DataUsageEntity) -> str:
        """The committed transaction's ID; LedgerError when it did not commit."""
        ...


class Grants(Protocol):
    def grant(self, sha384: str, receiver: str, receiver_msp_id: str) -> None: ...


class GatewayLedger:
    def __init__(self, settings: SharingProxySettings) -> None:
        peer = settings.peer
        endpoint = Endpoint.from_files(peer.address, peer.tls_ca, peer.tls_certificate, peer.tls_key)
        self.gateway = Gateway(endpoint, from_msp_folder(settings.identity, settings.msp_id))
        self.records = self.gateway.contract(peer.patient_channel, peer.patient_chaincode)
        self.usage = self.gateway.contract(peer.usage_channel, peer.usage_chaincode)

    def index_record(self, pid: str, treatment: str) -> PatientDataEntity | None:
        try:
            answer = self.records.evaluate("QueryByPidAndTid", pid, treatment)
        except GatewayError as error:
            if _ABSENT.search(str(error)):
                return None
            raise LedgerError(f"the Patient Channel: {error}") from None
        return PatientDataEntity.from_wire(json.loads(answer)) if answer else None

    def record_usage(self, usage: DataUsageEntity) -> str:
        try:
            return self.usage.submit("SaveDataUsage", usage.to_json()).transaction_id
        except Exception as error:  # GatewayError, CommitError: either way it did not commit
            raise LedgerError(f"the usage record did not commit: {error}") from None


class StorageGrants:
    def __init__(self, settings: SharingProxySettings) -> None:
        chain = b"".join(Path(path).read_bytes() for path in settings.storage.tls_ca_files)
        signer = from_msp_folder(settings.identity, settings.msp_id)
        self.storage = ServiceClient(settings.storage.address, storage.AUDIENCE, signer, chain)

    def grant(self, sha384: str, receiver: str, receiver_msp_id: str) -> None:
        body = Grant(receiver=receiver, receiver_msp_id=receiver_msp_id)
        self.storage.call("POST", f"/objects/{sha384}/grants", body)
