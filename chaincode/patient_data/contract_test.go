package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"medledger/chaincode/entities"
	"medledger/chaincode/internal/stubtest"
)

const (
	hospitals  = "OrgPatientMSP"
	government = "OrgGovernmentMSP"
	patientID  = "pat-0001"
	digest     = "7a123800d83b64f4ba682e61b915e09a30a7e68d14a3037551018d655ef71c07032a800afaeac2d3a2fa3391cbfba93c" // SHA-384 of the encrypted data
)

func contract() *PatientDataContract {
	return &PatientDataContract{PatientMSPs: []string{hospitals}}
}

// record returns a PatientDataEntity for treatment tid, signed by the patient as the chaincode expects.
func record(t *testing.T, patient stubtest.Identity, tid string) map[string]any {
	t.Helper()
	return map[string]any{
		"dataMessageDigest":    digest,
		"dataSaveUrl":          "https://storage.xinqiao.lab/records/" + tid,
		"dataSignatureDoctor":  "3045022100aabbccddeeff",
		"dataSignaturePatient": patient.Sign(t, []byte(digest+patient.Certificate.Subject.CommonName)),
		"doctorPseudonymId":    "doc-0001",
		"patientPseudonymId":   patient.Certificate.Subject.CommonName,
		"timestamp":            1607157260372,
		"treatmentId":          tid,
	}
}

func requireError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want an error containing %q, got %v", want, err)
	}
}

func TestThePatientSavesASignedRecordAndEveryQueryFindsIt(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	ctx := stubtest.Context(t, stub, patient)
	entity := record(t, patient, "T-1")

	if err := contract().SavePatientData(ctx, stubtest.JSON(t, entity)); err != nil {
		t.Fatal(err)
	}

	stored, err := contract().QueryByPidAndTid(ctx, patientID, "T-1")
	if err != nil {
		t.Fatal(err)
	}
	if stored != stubtest.JSON(t, entity) {
		t.Fatalf("stored %s, want %s", stored, stubtest.JSON(t, entity))
	}
	list, err := contract().ListByPid(ctx, patientID)
	if err != nil || list != "["+stored+"]" {
		t.Fatalf("list %s (%v)", list, err)
	}
	if same, err := contract().VerifyDigest(ctx, patientID, "T-1", digest); err != nil || !same {
		t.Fatalf("VerifyDigest of the stored digest: %v, %v", same, err)
	}
	other := strings.Repeat("0", 96)
	if same, err := contract().VerifyDigest(ctx, patientID, "T-1", other); err != nil || same {
		t.Fatalf("VerifyDigest of another digest: %v, %v", same, err)
	}
}

func TestWritesForOnePatientUseOneKeyEach(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	ctx := stubtest.Context(t, stub, patient)
	for n := range 20 {
		if err := contract().SavePatientData(ctx, stubtest.JSON(t, record(t, patient, fmt.Sprintf("T-%02d", n)))); err != nil {
			t.Fatal(err)
		}
	}
	if len(stub.State) != 20 {
		t.Fatalf("%d keys for 20 records; each record must have its own key", len(stub.State))
	}
	var list []entities.PatientData
	text, _ := contract().ListByPid(ctx, patientID)
	if err := json.Unmarshal([]byte(text), &list); err != nil || len(list) != 20 || list[0].TreatmentID != "T-00" {
		t.Fatalf("ListByPid: %d records (%v)", len(list), err)
	}
}

func TestAP384KeySignsWithSHA384(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentityOnCurve(t, elliptic.P384(), hospitals, patientID, nil)
	entity := record(t, patient, "T-1")
	hash := sha512.Sum384([]byte(digest + patientID))
	signature, err := ecdsa.SignASN1(rand.Reader, patient.Key, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	entity["dataSignaturePatient"] = hex.EncodeToString(signature)
	if err := contract().SavePatientData(stubtest.Context(t, stub, patient), stubtest.JSON(t, entity)); err != nil {
		t.Fatal(err)
	}
}

func TestBadRecordsAreRefusedAndWriteNothing(t *testing.T) {
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	stranger := stubtest.NewIdentity(t, hospitals, "pat-0002", nil)
	official := stubtest.NewIdentity(t, government, patientID, nil)
	with := func(field string, value any) string {
		entity := record(t, patient, "T-1")
		entity[field] = value
		return stubtest.JSON(t, entity)
	}
	without := func(field string) string {
		entity := record(t, patient, "T-1")
		delete(entity, field)
		return stubtest.JSON(t, entity)
	}
	cases := []struct {
		name      string
		submitter stubtest.Identity
		entity    string
		want      string
	}{
		{"malformed JSON", patient, `{"treatmentId": `, "PatientDataEntity is not valid JSON"},
		{"not an object", patient, `[]`, "invalid PatientDataEntity: (root): Invalid type. Expected: object, given: array"},
		{"wrong type", patient, with("timestamp", "1607157260372"), "timestamp: Invalid type. Expected: integer, given: string"},
		{"missing field", patient, without("dataSaveUrl"), "(root): dataSaveUrl is required"},
		{"unknown field", patient, with("realName", "Alice"), "(root): Additional property realName is not allowed"},
		{"SHA-1 digest, as in the paper's sample", patient, with("dataMessageDigest", "af1acd6afca06ab0d2790048ffb90ad9593fb8c2"), "dataMessageDigest: Does not match pattern"},
		{"plain HTTP storage", patient, with("dataSaveUrl", "http://storage/x"), "dataSaveUrl: Does not match pattern"},
		{"oversized field", patient, with("dataSaveUrl", "https://s/"+strings.Repeat("a", 3000)), "dataSaveUrl: String length must be less than or equal to 2048"},
		{"oversized entity", patient, with("dataSignatureDoctor", strings.Repeat("ab", 5000)), "PatientDataEntity is 10"},
		{"signature by someone else", patient, with("dataSignaturePatient", stranger.Sign(t, []byte(digest+patientID))), "dataSignaturePatient: signature does not verify with the certificate of pat-0001"},
		{"signature over another message", patient, with("dataSignaturePatient", patient.Sign(t, []byte(digest))), "dataSignaturePatient: signature does not verify"},
		{"another patient submits", stranger, stubtest.JSON(t, record(t, patient, "T-1")), "submitter pat-0002 is not patient pat-0001: a patient writes only their own records"},
		{"same enrolment ID in a non-patient organisation", official, stubtest.JSON(t, record(t, patient, "T-1")), "submitter pat-0001 of OrgGovernmentMSP is not a patient"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := stubtest.NewStub()
			err := contract().SavePatientData(stubtest.Context(t, stub, tc.submitter), tc.entity)
			requireError(t, err, tc.want)
			if len(stub.State) != 0 {
				t.Fatalf("a refused record wrote %d keys", len(stub.State))
			}
		})
	}
}

func TestADuplicateTreatmentIsRefusedAndTheFirstRecordKept(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	ctx := stubtest.Context(t, stub, patient)
	first := stubtest.JSON(t, record(t, patient, "T-1"))
	if err := contract().SavePatientData(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := record(t, patient, "T-1")
	second["dataSaveUrl"] = "https://storage.xinqiao.lab/records/other"
	requireError(t, contract().SavePatientData(ctx, stubtest.JSON(t, second)), "a patientdata record for pat-0001, T-1 already exists")
	if stored, _ := contract().QueryByPidAndTid(ctx, patientID, "T-1"); stored != first {
		t.Fatalf("the first record was replaced: %s", stored)
	}
}

func TestQueriesCheckTheirArguments(t *testing.T) {
	stub := stubtest.NewStub()
	ctx := stubtest.Context(t, stub, stubtest.NewIdentity(t, government, "gov-auditor", nil))
	_, err := contract().QueryByPidAndTid(ctx, patientID, "T-404")
	requireError(t, err, "no patientdata record for pat-0001, T-404")
	_, err = contract().ListByPid(ctx, "bad pid with spaces")
	requireError(t, err, `"bad pid with spaces" is not a valid pseudonymId`)
	_, err = contract().VerifyDigest(ctx, patientID, "T-1", "xyz")
	requireError(t, err, `"xyz" is not a valid sha384Hex`)
	if list, err := contract().ListByPid(ctx, patientID); err != nil || list != "[]" {
		t.Fatalf("a patient without records: %s (%v)", list, err)
	}
}

// Clients call functions without a contract prefix, which the contract API routes to the default contract.
func TestTheContractAPIAcceptsTheContractAsDefault(t *testing.T) {
	chaincode, err := contractapi.NewChaincode(contract())
	if err != nil {
		t.Fatal(err)
	}
	if chaincode.DefaultContract != "PatientDataContract" {
		t.Fatalf("default contract %q", chaincode.DefaultContract)
	}
}
