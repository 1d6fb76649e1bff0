"""The data client's time for each phase of the paper's flow at 1 MB, through the deployed services, printed beside
the paper's Table 5 (its client with RSA over the whole file; ours with AES-256-GCM and Umbral).

  uv run python bench/services.py [--runs 5] [--size-kb 1024] [--out bench/results]

Phases, each timed from the client's first call to its last answer:
  register   a manager asks, the SA approves, the manager collects the secret, the person enrols (its key and a
             TLS client certificate) and publishes its Umbral keys
  appoint    the patient books, the doctor lists its appointments and opens the TSK
  upload     EMR and SHR sealed (AES-256-GCM, data key wrapped to the patient with Umbral), stored, and the index
             record signed by doctor and patient and committed on the Patient Channel
  query      the index record read back, both signatures checked, the ciphertext fetched, checked and opened
  share      the patient shares with a third-party user through the proxy (usage record committed first), who
             collects it, fetches, checks and opens the record

Writes bench/results/services.json (every run, and mean, median, min and max per phase).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cli

from medledger_api.common import Role
from medledger_api.entities import PatientDataEntity, patient_signature_message
from medledger_api.signed_request import check_signature
from medledger_client import appointments, registration, sharing, storage
from medledger_client.records import open_record, seal_record
from medledger_client.sharing_keys import unwrap_own
from medledger_tools.lab_clients import Ledger, LedgerClient, lab_topology
from medledger_tools.lab_services import Person, Services

# The paper's Table 5 (ms): its phases and the one of ours each corresponds to.
PAPER_MS = {
    "appoint": ("data collection", 6401.0),
    "upload": ("upload", 3547.0),
    "query": ("query", 37131.0),
    "share": ("sharing", 2148.0),
}
PHASES = ("register", "appoint", "upload", "query", "share")
PATIENT_CHANNEL = "patientchannel"


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = action()
    return result, round((time.perf_counter() - start) * 1000, 1)


class Run:
    """One pass through the five phases, each with a fresh patient, doctor and receiver."""

    def __init__(self, services: Services, staff: dict[str, LedgerClient], folder: Path, size: int) -> None:
        self.services, self.staff, self.folder, self.size = services, staff, folder, size
        self.ledger = services.ledger

    def register(self, organisation: str, role: Role, manager: str = "manager") -> Person:
        return self.services.register(self.staff[manager], self.staff["sa"], organisation, role)

    def go(self) -> dict[str, float]:
        times: dict[str, float] = {}
        patient, times["register"] = timed(lambda: self.register("OrgPatient", Role.PATIENT))
        doctor = self.register("OrgPatient", Role.DOCTOR)
        receiver = self.register("OrgThirdParty", Role.THIRD_PARTY, "thirdparty_manager")
        treatment, times["appoint"] = timed(lambda: self.appoint(patient, doctor))
        sealed, times["upload"] = timed(lambda: self.upload(patient, doctor, treatment))
        _, times["query"] = timed(lambda: self.query(patient, doctor, treatment, sealed))
        _, times["share"] = timed(lambda: self.share(patient, receiver, treatment, sealed))
        return times

    def appoint(self, patient: Person, doctor: Person) -> str:
        host = self.ledger.topology.members("hospital_manager")[0]
        booked = appointments.book(
            self.services.client("hospital_manager", patient.identity, host), doctor.pid, "bench"
        )
        mine = appointments.mine(self.services.client("hospital_manager", doctor.identity, host))
        return appointments.open_tsk(doctor.identity.private_key, next(a for a in mine if a.tid == booked.tid)).tid

    def upload(self, patient: Person, doctor: Person, treatment: str) -> Any:
        emr, shr, ciphertext = self.folder / "emr", self.folder / "shr", self.folder / "sealed"
        emr.write_bytes(os.urandom(self.size // 2))
        shr.write_bytes(os.urandom(self.size - self.size // 2))
        sealed = seal_record(emr, shr, ciphertext, patient.keys.public_key)
        self.services.store_and_index(patient, doctor, treatment, ciphertext, sealed.digest)
        return sealed

    def query(self, patient: Person, doctor: Person, treatment: str, sealed: Any) -> None:
        with patient.gateway(self.ledger.channel_peers(PATIENT_CHANNEL)[0]) as gateway:
            answer = gateway.contract(PATIENT_CHANNEL, self.ledger.chaincode_on(PATIENT_CHANNEL)).evaluate(
                "QueryByPidAndTid", patient.pid, treatment
            )
        record = PatientDataEntity.from_wire(json.loads(answer))
        sharing.check_record_signature(record, patient.identity.certificate)
        message = patient_signature_message(record.data_message_digest, patient.pid)
        check_signature(
            doctor.identity.certificate, base64.b64encode(bytes.fromhex(record.data_signature_doctor)).decode(), message
        )
        fetched = storage.fetch(
            self.services.client("storage", patient.identity), record.data_message_digest, self.folder / "fetched"
        )
        open_record(
            fetched,
            unwrap_own(patient.keys.secret_key, sealed.wrapped_key),
            self.folder / "emr.out",
            self.folder / "shr.out",
        )

    def share(self, patient: Person, receiver: Person, treatment: str, sealed: Any) -> None:
        entry = registration.look_up(self.services.client("registry", patient.identity), receiver.pid)
        made = sharing.share(
            self.services.client("sharing_proxy", patient.identity), patient.keys, entry, treatment, sealed.wrapped_key
        )
        patient_entry = registration.look_up(self.services.client("registry", receiver.identity), patient.pid)
        received = sharing.receive(
            self.services.client("sharing_proxy", receiver.identity), made.share_id, receiver.keys, patient_entry
        )
        fetched = storage.fetch(
            self.services.client("storage", receiver.identity),
            received.record.data_message_digest,
            self.folder / "shared",
        )
        sharing.check_ciphertext(received.record, fetched)
        open_record(fetched, received.data_key, self.folder / "emr.shared", self.folder / "shr.shared")


def summary(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    return {
        phase: {
            "mean_ms": round(statistics.fmean(run[phase] for run in runs), 1),
            "median_ms": round(statistics.median(run[phase] for run in runs), 1),
            "min_ms": min(run[phase] for run in runs),
            "max_ms": max(run[phase] for run in runs),
        }
        for phase in PHASES
    }


def table(figures: dict[str, dict[str, float]], size_kb: int) -> str:
    lines = [f"{'phase':10}  {'MedLedger median (min-max)':>28}  {'paper (Table 5)':>24}  ({size_kb} KB)"]
    for phase in PHASES:
        ours = figures[phase]
        paper = f"{PAPER_MS[phase][0]} {PAPER_MS[phase][1]:,.0f} ms" if phase in PAPER_MS else "-"
        spread = f"{ours['median_ms']:,.0f} ms ({ours['min_ms']:,.0f}-{ours['max_ms']:,.0f})"
        lines.append(f"{phase:10}  {spread:>28}  {paper:>24}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-kb", type=int, default=1024)
    args = parser.parse_args(argv)
    deployed = lab_topology()
    services = Services(Ledger(deployed))
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        progress("registering the managers and the SA at their CAs")
        staff = services.staff(Path(folder))
        for number in range(1, args.runs + 1):
            times = Run(services, staff, Path(folder), args.size_kb * 1024).go()
            progress(f"run {number}/{args.runs}: " + ", ".join(f"{phase} {ms:,.0f} ms" for phase, ms in times.items()))
            runs.append(times)
    figures = summary(runs)
    results = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "size_kb": args.size_kb,
        "consensus": deployed.global_var("medledger_consensus"),
        "machine": {
            "cpus": os.cpu_count(),
            "note": "all seven lab hosts, the services and the client share this machine",
        },
        "runs": runs,
        "phases": figures,
        "paper_ms": {phase: value for phase, (_, value) in PAPER_MS.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "services.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(figures, args.size_kb))
    progress(f"written {args.out / 'services.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
