"""Threshold sharing on the lab (inventories/threshold-proxies, which `make test` deploys): the sharing proxy on
three hosts, each the government's, beside a peer of its own. A patient shares a record 2 of 3: one proxy's
capsule fragment opens nothing, two open it while the third proxy is down, and each proxy that released a
fragment recorded the share on the Data Usage Channel first."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from medledger_api.common import Role
from medledger_client import registration, sharing, storage
from medledger_client.identity import Identity
from medledger_client.records import open_record
from medledger_client.service_client import ServiceClient
from medledger_client.sharing_keys import SharingError
from medledger_tools.lab_clients import Ledger
from medledger_tools.lab_services import USAGE_CHANNEL, Services, sealed_record

from ..waiting import wait_until
from .conftest import deployed, lab_host

SERVICES = Services(Ledger(deployed()))
PROXY_HOSTS = deployed().members("sharing_proxy")

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        len(PROXY_HOSTS) < 3,
        reason="the inventory runs the sharing proxy on fewer than three hosts; make test adds "
        "inventories/threshold-proxies",
    ),
]


def proxies_as(signer: Identity) -> list[ServiceClient]:
    return [SERVICES.client("sharing_proxy", signer, host) for host in PROXY_HOSTS]


def test_a_two_of_three_share_opens_with_two_proxies_while_the_third_is_down_and_not_with_one(
    tmp_path: Path,
) -> None:
    staff = SERVICES.staff(tmp_path / "staff")
    patient = SERVICES.register(staff["manager"], staff["sa"], "OrgPatient", Role.PATIENT)
    doctor = SERVICES.register(staff["manager"], staff["sa"], "OrgPatient", Role.DOCTOR)
    receiver = SERVICES.register(staff["thirdparty_manager"], staff["sa"], "OrgThirdParty", Role.THIRD_PARTY)
    treatment = f"t-{secrets.token_hex(4)}"
    ciphertext, plaintext, sealed = sealed_record(patient, tmp_path, size=64 << 10)
    SERVICES.store_and_index(patient, doctor, treatment, ciphertext, sealed.digest)

    receiver_entry = registration.look_up(SERVICES.client("registry", patient.identity), receiver.pid)
    made = sharing.share_among(
        proxies_as(patient.identity), patient.keys, receiver_entry, treatment, sealed.wrapped_key, threshold=2
    )
    (grant,) = {share.grant for share in made}
    assert grant is not None and len(made) == len(PROXY_HOSTS)
    patient_entry = registration.look_up(SERVICES.client("registry", receiver.identity), patient.pid)
    receiving = proxies_as(receiver.identity)

    with pytest.raises(SharingError, match="1 capsule fragment"):
        sharing.receive_grant(receiving[:1], grant, receiver.keys, patient_entry)

    down = lab_host(PROXY_HOSTS[-1])
    down.check_output("systemctl stop medledger-sharing-proxy")
    try:
        received = sharing.receive_grant(receiving, grant, receiver.keys, patient_entry)
    finally:
        down.check_output("systemctl start medledger-sharing-proxy")
    storage.fetch(SERVICES.client("storage", receiver.identity), sealed.digest, tmp_path / "shared.sealed")
    sharing.check_ciphertext(received.record, tmp_path / "shared.sealed")
    open_record(tmp_path / "shared.sealed", received.data_key, tmp_path / "emr", tmp_path / "shr")
    assert (tmp_path / "emr").read_bytes() + (tmp_path / "shr").read_bytes() == plaintext

    # The two proxies that released a fragment each wrote the share's usage record; the one that was down did not.
    peer = SERVICES.ledger.channel_peers(USAGE_CHANNEL)[0]

    def usage() -> list[dict[str, object]]:
        return SERVICES.usage_records(patient, peer, patient.pid, treatment)

    recorded = wait_until(usage, lambda found: len(found) >= 2, seconds=60)
    assert [entry["receiverPseudonymId"] for entry in recorded] == [receiver.pid] * 2
