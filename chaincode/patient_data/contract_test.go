package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"medledger/chaincode/entities"
	"medledger/chaincode/internal/stubtest"
	"medledger/chaincode/internal/submitter"
)

const (
	hospitals      = "OrgPatientMSP"
	secondHospital = "OrgSecondHospitalMSP"
	government     = "OrgGovernmentMSP"
	thirdParty     = "OrgThirdPartyMSP"
	patientID      = "pat-0001"
	digest         = "7a123800d83b64f4ba682e61b915e09a30a7e68d14a3037551018d655ef71c07032a800afaeac2d3a2fa3391cbfba93c" // SHA-384 of the encrypted data
)

var staff = map[string]string{"medledger.role": "staff"}

func contract() *PatientDataContract {
	return &PatientDataContract{Organisations: submitter.Organisations{
		Hospitals:   []string{hospitals, secondHospital},
		Governments: []string{government},
	}}
}

// record returns a PatientDataEntity for treatment tid, signed by the patient as the chaincode expects
// and stamped now.
func record(t *testing.T, patient stubtest.Identity, tid string) map[string]any {
	t.Helper()
	return map[string]any{
		"dataMessageDigest":    digest,
		"dataSaveUrl":          "https://storage.xinqiao.lab/records/" + tid,
		"dataSignatureDoctor":  "3045022100aabbccddeeff",
		"dataSignaturePatient": patient.Sign(t, []byte(digest+patient.Certificate.Subject.CommonName)),
		"doctorPseudonymId":    "doc-0001",
		"patientPseudonymId":   patient.Certificate.Subject.CommonName,
		"timestamp":            time.Now().UnixMilli(),
		"treatmentId":          tid,
	}
}

// save has patient save records for the treatments, each in its own transaction.
func save(t *testing.T, stub *stubtest.Stub, patient stubtest.Identity, treatments ...string) {
	t.Helper()
	for _, tid := range treatments {
		if err := contract().SavePatientData(stubtest.Context(t, stub, patient), stubtest.JSON(t, record(t, patient, tid))); err != nil {
			t.Fatal(err)
		}
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
	list, err := contract().ListByPid(ctx, patientID, 10, "")
	if want := `{"records":[` + stored + `],"bookmark":"","fetched":1}`; err != nil || list != want {
		t.Fatalf("list %s (%v), want %s", list, err, want)
	}
	if same, err := contract().VerifyDigest(ctx, patientID, "T-1", digest); err != nil || !same {
		t.Fatalf("VerifyDigest of the stored digest: %v, %v", same, err)
	}
	other := strings.Repeat("0", 96)
	if same, err := contract().VerifyDigest(ctx, patientID, "T-1", other); err != nil || same {
		t.Fatalf("VerifyDigest of another digest: %v, %v", same, err)
	}
}

func TestWritesForOnePatientUseOneKeyEachAndOneBinding(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	for n := range 20 {
		save(t, stub, patient, fmt.Sprintf("T-%02d", n))
	}
	if len(stub.State) != 21 {
		t.Fatalf("%d keys for 20 records; each record must have its own key, plus the PID's binding", len(stub.State))
	}
	binding, _ := stub.CreateCompositeKey(bindingKind, []string{patientID})
	if string(stub.State[binding]) != hospitals {
		t.Fatalf("binding of %s: %q", patientID, stub.State[binding])
	}
	list := stubtest.DecodePage[entities.PatientData](t)(contract().ListByPid(stubtest.Context(t, stub, patient), patientID, 100, ""))
	if len(list.Records) != 20 || list.Records[0].TreatmentID != "T-00" || list.Bookmark != "" {
		t.Fatalf("ListByPid: %d records, bookmark %q", len(list.Records), list.Bookmark)
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
	nurse := stubtest.NewIdentity(t, hospitals, "staff-0001", staff)
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
	now := time.Now()
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
		{"hospital staff submit for a patient", nurse, stubtest.JSON(t, record(t, patient, "T-1")), "submitter staff-0001 is not patient pat-0001"},
		{"same enrolment ID in a non-patient organisation", official, stubtest.JSON(t, record(t, patient, "T-1")), "submitter pat-0001 of OrgGovernmentMSP is not a patient"},
		{"backdated", patient, with("timestamp", now.Add(-6*time.Minute).UnixMilli()), "before the transaction's"},
		{"backdated by a year", patient, with("timestamp", now.AddDate(-1, 0, 0).UnixMilli()), "records are accepted within ±5m0s of it"},
		{"in the future", patient, with("timestamp", now.Add(6*time.Minute).UnixMilli()), "after the transaction's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := stubtest.NewStub()
			err := contract().SavePatientData(stubtest.Context(t, stub, tc.submitter), tc.entity)
			stubtest.RequireError(t, err, tc.want)
			if len(stub.State) != 0 {
				t.Fatalf("a refused record wrote %d keys", len(stub.State))
			}
		})
	}
}

func TestTimestampsUpToFiveMinutesFromTheTransactionsAreAccepted(t *testing.T) {
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	stamped := time.UnixMilli(1607157260372)
	for tid, offset := range map[string]time.Duration{"early": -5 * time.Minute, "late": 5 * time.Minute, "too-early": -5*time.Minute - time.Millisecond} {
		stub := stubtest.NewStub()
		ctx := stubtest.Context(t, stub, patient)
		stub.TxTime = stamped.Add(-offset) // the record, stamped `stamped`, is `offset` from the transaction
		entity := record(t, patient, tid)
		entity["timestamp"] = stamped.UnixMilli()
		err := contract().SavePatientData(ctx, stubtest.JSON(t, entity))
		if tid == "too-early" {
			stubtest.RequireError(t, err, "timestamp 1607157260372 (2020-12-05T08:34:20.372Z) is 5m0.001s before the transaction's (2020-12-05T08:39:20.373Z): records are accepted within ±5m0s of it")
		} else if err != nil {
			t.Fatalf("%s: %v", tid, err)
		}
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
	stubtest.RequireError(t, contract().SavePatientData(stubtest.Context(t, stub, patient), stubtest.JSON(t, second)), "a patientdata record for pat-0001, T-1 already exists")
	if stored, _ := contract().QueryByPidAndTid(ctx, patientID, "T-1"); stored != first {
		t.Fatalf("the first record was replaced: %s", stored)
	}
}

// A second hospital's CA can issue a certificate whose enrolment ID is any PID: the PID's binding to
// the hospital of its first record keeps that certificate from writing or reading the PID's records.
func TestAnotherHospitalsCertificateWithThePatientsPidCannotWriteOrRead(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	impostor := stubtest.NewIdentity(t, secondHospital, patientID, nil)
	save(t, stub, patient, "T-1")
	keys := len(stub.State)

	err := contract().SavePatientData(stubtest.Context(t, stub, impostor), stubtest.JSON(t, record(t, impostor, "T-2")))

	stubtest.RequireError(t, err, "patient pat-0001 is bound to OrgPatientMSP, where their first record came from: a record for them from OrgSecondHospitalMSP is refused")
	if len(stub.State) != keys {
		t.Fatalf("a refused record wrote %d keys", len(stub.State)-keys)
	}
	ctx := stubtest.Context(t, stub, impostor)
	_, err = contract().ListByPid(ctx, patientID, 10, "")
	stubtest.RequireError(t, err, "submitter pat-0001 of OrgSecondHospitalMSP may not read patient pat-0001's records")
	_, err = contract().QueryByPidAndTid(ctx, patientID, "T-1")
	stubtest.RequireError(t, err, "may not read patient pat-0001's records")
}

// Records written before the binding existed have none: the patient's next write binds the PID.
func TestARecordWrittenBeforeBindingsGetsItsBindingOnTheNextWrite(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	legacy, _ := stub.CreateCompositeKey(recordKind, []string{patientID, "T-0"})
	stub.State[legacy] = []byte(stubtest.JSON(t, record(t, patient, "T-0")))
	impostor := stubtest.NewIdentity(t, secondHospital, patientID, nil)
	nurse := stubtest.NewIdentity(t, hospitals, "staff-0001", staff)
	_, err := contract().ListByPid(stubtest.Context(t, stub, nurse), patientID, 10, "")
	stubtest.RequireError(t, err, "may not read patient pat-0001's records")

	save(t, stub, patient, "T-1")

	stubtest.RequireError(t, contract().SavePatientData(stubtest.Context(t, stub, impostor), stubtest.JSON(t, record(t, impostor, "T-2"))), "is bound to OrgPatientMSP")
	list := stubtest.DecodePage[entities.PatientData](t)(contract().ListByPid(stubtest.Context(t, stub, nurse), patientID, 10, ""))
	if len(list.Records) != 2 {
		t.Fatalf("%d records, want the legacy one and the new one", len(list.Records))
	}
}

func TestReadsPerRole(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	save(t, stub, patient, "T-1")
	readers := []struct {
		name   string
		reader stubtest.Identity
		allow  bool
	}{
		{"the patient", patient, true},
		{"the patient, another certificate of the same hospital", stubtest.NewIdentity(t, hospitals, patientID, nil), true},
		{"staff of the patient's hospital", stubtest.NewIdentity(t, hospitals, "staff-0001", staff), true},
		{"the government", stubtest.NewIdentity(t, government, "gov-auditor", nil), true},
		{"the sharing proxy (government)", stubtest.NewIdentity(t, government, "svc-proxy", map[string]string{"medledger.proxy": "true"}), true},
		{"another patient", stubtest.NewIdentity(t, hospitals, "pat-0002", nil), false},
		{"a hospital member with another role", stubtest.NewIdentity(t, hospitals, "svc-storage", map[string]string{"medledger.role": "storage"}), false},
		{"staff of another hospital", stubtest.NewIdentity(t, secondHospital, "staff-0002", staff), false},
		{"a third party", stubtest.NewIdentity(t, thirdParty, "cqu-researcher", nil), false},
		{"a third party claiming staff", stubtest.NewIdentity(t, thirdParty, "cqu-staff", staff), false},
	}
	for _, tc := range readers {
		t.Run(tc.name, func(t *testing.T) {
			ctx := stubtest.Context(t, stub, tc.reader)
			_, listed := contract().ListByPid(ctx, patientID, 10, "")
			_, queried := contract().QueryByPidAndTid(ctx, patientID, "T-1")
			_, verified := contract().VerifyDigest(ctx, patientID, "T-1", digest)
			for name, err := range map[string]error{"ListByPid": listed, "QueryByPidAndTid": queried, "VerifyDigest": verified} {
				if tc.allow && err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if !tc.allow {
					want := fmt.Sprintf("submitter %s of %s may not read patient pat-0001's records", tc.reader.Certificate.Subject.CommonName, tc.reader.MSPID)
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s: want %q, got %v", name, want, err)
					}
				}
			}
		})
	}
}

func TestAListOfMoreThanOnePageIsCompleteThroughItsBookmark(t *testing.T) {
	for _, count := range []int{25, 20} { // the last page part full, and exactly full
		stub := stubtest.NewStub()
		patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
		neighbour := stubtest.NewIdentity(t, hospitals, "pat-0002", nil)
		save(t, stub, neighbour, "N-1") // keys after the patient's: never in the patient's pages
		want := []string{}
		for n := range count {
			want = append(want, fmt.Sprintf("T-%02d", n))
		}
		save(t, stub, patient, want...)
		ctx := stubtest.Context(t, stub, patient)
		got, bookmark, pages := []string{}, "", 0
		for {
			list := stubtest.DecodePage[entities.PatientData](t)(contract().ListByPid(ctx, patientID, 10, bookmark))
			pages++
			for _, stored := range list.Records {
				got = append(got, stored.TreatmentID)
			}
			if bookmark = list.Bookmark; bookmark == "" {
				break
			}
			if list.Fetched != 10 || pages > 3 {
				t.Fatalf("page %d: %d records and a bookmark", pages, list.Fetched)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || pages != (count+9)/10 {
			t.Fatalf("%d records: %d pages: %v", count, pages, got)
		}
	}
}

func TestPageSizesOutsideOneToAHundredAreRefused(t *testing.T) {
	stub := stubtest.NewStub()
	ctx := stubtest.Context(t, stub, stubtest.NewIdentity(t, government, "gov-auditor", nil))
	for _, size := range []int{0, -1, 101} {
		_, err := contract().ListByPid(ctx, patientID, size, "")
		stubtest.RequireError(t, err, fmt.Sprintf("page size %d is outside 1..100", size))
	}
	if _, err := contract().ListByPid(ctx, patientID, 100, ""); err != nil {
		t.Fatal(err)
	}
}

// The peer starts a paged range at the bookmark without checking it: a bookmark that is not a position
// in the PID's own records would list other patients' records.
func TestABookmarkOutsideThePidsRecordsIsRefused(t *testing.T) {
	stub := stubtest.NewStub()
	patient := stubtest.NewIdentity(t, hospitals, patientID, nil)
	save(t, stub, stubtest.NewIdentity(t, hospitals, "pat-0000", nil), "T-1")
	save(t, stub, patient, "T-1")
	other, _ := stub.CreateCompositeKey(recordKind, []string{"pat-0000", "T-1"})
	ctx := stubtest.Context(t, stub, patient)
	for _, bookmark := range []string{base64.RawURLEncoding.EncodeToString([]byte(other)), "not base64!", "AAAA"} {
		_, err := contract().ListByPid(ctx, patientID, 10, bookmark)
		stubtest.RequireError(t, err, "is not one of a list of patientdata records of pat-0001")
	}
}

func TestQueriesCheckTheirArguments(t *testing.T) {
	stub := stubtest.NewStub()
	ctx := stubtest.Context(t, stub, stubtest.NewIdentity(t, government, "gov-auditor", nil))
	_, err := contract().QueryByPidAndTid(ctx, patientID, "T-404")
	stubtest.RequireError(t, err, "no patientdata record for pat-0001, T-404")
	_, err = contract().ListByPid(ctx, "bad pid with spaces", 10, "")
	stubtest.RequireError(t, err, `"bad pid with spaces" is not a valid pseudonymId`)
	_, err = contract().VerifyDigest(ctx, patientID, "T-1", "xyz")
	stubtest.RequireError(t, err, `"xyz" is not a valid sha384Hex`)
	if list, err := contract().ListByPid(ctx, patientID, 10, ""); err != nil || list != `{"records":[],"bookmark":"","fetched":0}` {
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
