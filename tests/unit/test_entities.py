"""The Python ledger entities follow the one schema the chaincode also embeds."""

from __future__ import annotations

import dataclasses
import json

import pytest

from medledger_api import entities
from medledger_api.entities import DataUsageEntity, EntityError, PatientDataEntity

DIGEST = entities.data_digest(b"encrypted medical data")


def patient_record(**changes: object) -> PatientDataEntity:
    record = PatientDataEntity(
        data_message_digest=DIGEST,
        data_save_url="https://storage.xinqiao.lab/records/T-1",
        data_signature_doctor="3045022100aabbccddeeff",
        data_signature_patient="3045022100ffeeddccbbaa",
        doctor_pseudonym_id="doc-0001",
        patient_pseudonym_id="pat-0001",
        timestamp=1607157260372,
        treatment_id="T-1",
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("entity", [PatientDataEntity, DataUsageEntity])
def test_the_dataclass_has_exactly_the_schemas_fields(entity: type[entities.Entity]) -> None:
    definition = entities.schema()["definitions"][entity.definition]
    fields = [entities.camel(field.name) for field in dataclasses.fields(entity)]  # type: ignore[arg-type]
    assert sorted(fields) == sorted(definition["properties"]) == sorted(definition["required"])


def test_the_paper_field_names_are_kept_on_the_wire() -> None:
    wire = json.loads(patient_record().to_json())
    assert list(wire) == [
        "dataMessageDigest",
        "dataSaveUrl",
        "dataSignatureDoctor",
        "dataSignaturePatient",
        "doctorPseudonymId",
        "patientPseudonymId",
        "timestamp",
        "treatmentId",
    ]
    assert PatientDataEntity.from_wire(wire) == patient_record()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data_message_digest": "AF1ACD6AFCA06AB0D2790048FFB90AD9593FB8C2"}, "dataMessageDigest: 'AF1ACD6A"),
        ({"timestamp": "1607157260372"}, "timestamp: '1607157260372' is not of type 'integer'"),
        ({"data_save_url": "http://storage/x"}, "dataSaveUrl: 'http://storage/x' does not match"),
        ({"patient_pseudonym_id": "Alice Smith"}, "patientPseudonymId: 'Alice Smith' does not match"),
    ],
)
def test_a_record_the_chaincode_would_refuse_is_refused_here(changes: dict[str, object], message: str) -> None:
    with pytest.raises(EntityError, match=r"^invalid PatientDataEntity: ") as error:
        patient_record(**changes).to_json()
    assert message in str(error.value)


def test_an_oversized_record_is_refused_with_its_size() -> None:
    with pytest.raises(EntityError, match=r"PatientDataEntity is 8\d\d\d bytes; at most 8192 are accepted"):
        patient_record(data_signature_doctor="ab" * 4000).to_json()


def test_unknown_fields_on_the_wire_are_refused() -> None:
    wire = json.loads(patient_record().to_json()) | {"realName": "Alice"}
    with pytest.raises(EntityError, match="Additional properties are not allowed"):
        PatientDataEntity.from_wire(wire)


def test_the_patient_signs_the_digest_followed_by_the_pid() -> None:
    assert entities.patient_signature_message(DIGEST, "pat-0001") == f"{DIGEST}pat-0001".encode()


def test_an_overlong_value_is_not_quoted_whole_in_the_error() -> None:
    with pytest.raises(EntityError) as error:
        patient_record(data_save_url="http://" + "x" * 1000).to_json()
    assert len(str(error.value)) < 300
