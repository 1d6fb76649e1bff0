"""The ledger entities, as chaincode/entities/ledger_entities.schema.json defines them for every component.

Python names are the schema's properties in snake_case; on the wire (JSON, chaincode) they keep the
paper's names. A unit test holds the dataclasses and the schema to the same fields.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from jsonschema import Draft7Validator


class Signer(Protocol):
    """Who signs a record: an enrolled identity (the client's Identity), whose enrolment ID is its pseudonym."""

    @property
    def enrolment_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class EntityError(ValueError):
    """An entity that the schema (and so the chaincode) refuses."""


@cache
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("ledger_entities.schema.json").read_text()
    return dict(json.loads(text))


@cache
def validator(definition: str) -> Draft7Validator:
    return Draft7Validator({"$ref": f"#/definitions/{definition}", "definitions": schema()["definitions"]})


def check(definition: str, value: Any) -> None:
    """Raise EntityError listing every way value breaks #/definitions/<definition>."""
    problems = sorted(validator(definition).iter_errors(value), key=lambda error: list(error.absolute_path))
    if problems:
        described = "; ".join(
            f"{'.'.join(map(str, problem.absolute_path)) or '(root)'}: {shortened(problem.message)}"
            for problem in problems
        )
        raise EntityError(f"invalid {definition}: {described}")


def shortened(message: str, limit: int = 160) -> str:
    """jsonschema quotes the offending value; an oversized one must not flood logs and replies."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


class Entity:
    """A record of the ledger; subclasses are dataclasses named as the schema's definitions."""

    definition: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        return {camel(field.name): getattr(self, field.name) for field in dataclasses.fields(self)}  # type: ignore[arg-type]

    def to_json(self) -> str:
        """The JSON text the chaincode receives, checked against the schema and its size limit first."""
        wire = self.to_wire()
        text = json.dumps(wire, separators=(",", ":"))
        limit = int(schema()["maxEntityBytes"])
        if len(text.encode()) > limit:
            raise EntityError(f"{self.definition} is {len(text.encode())} bytes; at most {limit} are accepted")
        check(self.definition, wire)
        return text

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Self:
        check(cls.definition, wire)
        names = {camel(field.name): field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{names[key]: value for key, value in wire.items()})


@dataclasses.dataclass(frozen=True)
class PatientDataEntity(Entity):
    """Index record of one piece of medical data on the Patient Channel (the paper's Fig. 7)."""

    definition: ClassVar[str] = "PatientDataEntity"
    data_message_digest: str
    data_save_url: str
    data_signature_doctor: str
    data_signature_patient: str
    doctor_pseudonym_id: str
    patient_pseudonym_id: str
    timestamp: int
    treatment_id: str

    @classmethod
    def signed_by(
        cls, patient: Signer, *, treatment: str, digest: str, url: str, doctor: str, doctor_signature: str
    ) -> PatientDataEntity:
        """Algorithm 1's record of one piece of (encrypted) data: its digest (data_digest, file_digest),
        signed by the patient whose enrolment ID is the PID, stamped now."""
        pid = patient.enrolment_id
        return cls(
            data_message_digest=digest,
            data_save_url=url,
            data_signature_doctor=doctor_signature,
            data_signature_patient=patient.sign(patient_signature_message(digest, pid)).hex(),
            doctor_pseudonym_id=doctor,
            patient_pseudonym_id=pid,
            timestamp=now_ms(),
            treatment_id=treatment,
        )


@dataclasses.dataclass(frozen=True)
class DataUsageEntity(Entity):
    """Record of one share of medical data on the Data Usage Channel (the paper's Fig. 8)."""

    definition: ClassVar[str] = "DataUsageEntity"
    treatment_id: str
    sender_pseudonym_id: str
    receiver_pseudonym_id: str
    timestamp: int
    data_message_digest: str


def now_ms() -> int:
    """A timestamp as the entities carry it: milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


def data_digest(data: bytes) -> str:
    """dataMessageDigest: SHA-384 of the (encrypted) data, lowercase hex."""
    return hashlib.sha384(data).hexdigest()


def file_digest(path: Path) -> str:
    """data_digest of a file's content, read in chunks (a record may be larger than memory)."""
    with path.open("rb") as content:
        return hashlib.file_digest(content, "sha384").hexdigest()


def patient_signature_message(digest: str, patient_pseudonym_id: str) -> bytes:
    """What dataSignaturePatient signs: the digest's hex text followed by the patient's PID."""
    return (digest + patient_pseudonym_id).encode()
