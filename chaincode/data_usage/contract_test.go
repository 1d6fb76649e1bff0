package main

import (
	"encoding/json"
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
	hospitals    = "OrgPatientMSP"
	government   = "OrgGovernmentMSP"
	thirdParty   = "OrgThirdPartyMSP"
	patientID    = "pat-0001"
	receiverID   = "cqu-researcher"
	dataDigest   = "f61b4bb7d39e174d97724bcb19ba1ff928087eff25bfcbeadf26a3bd3354a0e2de7614b09c696f1f4d5023723fab3e36"
	sharingProxy = "svc-proxy"
)

var proxyAttribute = map[string]string{"medledger.proxy": "true"}

func contract() *DataUsageContract {
	return &DataUsageContract{Organisations: submitter.Organisations{
		Hospitals:   []string{hospitals},
		Governments: []string{government},
	}}
}

func proxy(t *testing.T) stubtest.Identity {
	return stubtest.NewIdentity(t, government, sharingProxy, proxyAttribute)
}

// usage returns a DataUsageEntity stamped now.
func usage(tid, sender, receiver string) map[string]any {
	return map[string]any{
		"treatmentId":         tid,
		"senderPseudonymId":   sender,
		"receiverPseudonymId": receiver,
		"timestamp":           time.Now().UnixMilli(),
		"dataMessageDigest":   dataDigest,
	}
}

// share has the proxy record shares, each in its own transaction.
func share(t *testing.T, stub *stubtest.Stub, records ...map[string]any) {
	t.Helper()
	for _, record := range records {
		if err := contract().SaveDataUsage(stubtest.Context(t, stub, proxy(t)), stubtest.JSON(t, record)); err != nil {
			t.Fatal(err)
		}
	}
}

// decodeList reads a JSON array of usage records: decodeList(t)(contract().QueryByPidAndTid(ctx, pid, tid)).
func decodeList(t *testing.T) func(string, error) []entities.DataUsage {
	return func(text string, err error) []entities.DataUsage {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var list []entities.DataUsage
		if err := json.Unmarshal([]byte(text), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
}

func TestTheProxysRecordIsFoundUnderSenderAndReceiver(t *testing.T) {
	stub := stubtest.NewStub()
	share(t, stub, usage("T-1", patientID, receiverID))
	ctx := stubtest.Context(t, stub, proxy(t))

	for _, pid := range []string{patientID, receiverID} {
		list := stubtest.DecodePage[entities.DataUsage](t)(contract().ListByPid(ctx, pid, 10, ""))
		if len(list.Records) != 1 || list.Records[0].ReceiverPseudonymID != receiverID || list.Records[0].DataMessageDigest != dataDigest || list.Bookmark != "" {
			t.Fatalf("ListByPid(%s) = %+v", pid, list)
		}
		if byTid := decodeList(t)(contract().QueryByPidAndTid(ctx, pid, "T-1")); len(byTid) != 1 {
			t.Fatalf("QueryByPidAndTid(%s, T-1) = %+v", pid, byTid)
		}
	}
	if none := decodeList(t)(contract().QueryByPidAndTid(ctx, patientID, "T-2")); len(none) != 0 {
		t.Fatalf("another treatment: %+v", none)
	}
}

func TestSharesBothWaysForOneTreatmentAreDifferentRecords(t *testing.T) {
	stub := stubtest.NewStub()
	share(t, stub, usage("T-1", patientID, receiverID), usage("T-1", receiverID, patientID))
	if list := stubtest.DecodePage[entities.DataUsage](t)(contract().ListByPid(stubtest.Context(t, stub, proxy(t)), patientID, 10, "")); len(list.Records) != 2 {
		t.Fatalf("%d records for the patient, want 2", len(list.Records))
	}
}

// Every access is in the audit trail: sharing one record with one receiver again is another record.
func TestASecondShareOfOneRecordIsASecondRecord(t *testing.T) {
	stub := stubtest.NewStub()
	record := usage("T-1", patientID, receiverID)
	share(t, stub, record, record)
	if len(stub.State) != 4 {
		t.Fatalf("%d keys for two shares, want 4 (sender's and receiver's each)", len(stub.State))
	}
	requireTwoRecordsOfT1ForBothParties(t, stub)
}

// Records written before the transaction ID was in the key have four attributes; the same partial-key
// queries find them beside the new ones.
func TestRecordsUnderFourAttributeKeysAreStillFound(t *testing.T) {
	stub := stubtest.NewStub()
	old := usage("T-1", patientID, receiverID)
	for _, attributes := range [][]string{{patientID, "T-1", sent, receiverID}, {receiverID, "T-1", received, patientID}} {
		key, _ := stub.CreateCompositeKey(usageKind, attributes)
		stub.State[key] = []byte(stubtest.JSON(t, old))
	}
	share(t, stub, usage("T-1", patientID, receiverID))
	requireTwoRecordsOfT1ForBothParties(t, stub)
}

func TestBadUsageRecordsAreRefusedAndWriteNothing(t *testing.T) {
	researcher := stubtest.NewIdentity(t, thirdParty, receiverID, nil)
	notProxy := stubtest.NewIdentity(t, government, sharingProxy, map[string]string{"medledger.proxy": "false"})
	hospitalProxy := stubtest.NewIdentity(t, hospitals, "svc-storage", proxyAttribute)
	thirdPartyProxy := stubtest.NewIdentity(t, thirdParty, sharingProxy, proxyAttribute)
	withDigest := usage("T-1", patientID, receiverID)
	withDigest["dataMessageDigest"] = "af1acd6afca06ab0d2790048ffb90ad9593fb8c2"
	stamped := func(offset time.Duration) string {
		record := usage("T-1", patientID, receiverID)
		record["timestamp"] = time.Now().Add(offset).UnixMilli()
		return stubtest.JSON(t, record)
	}
	cases := []struct {
		name      string
		submitter stubtest.Identity
		entity    string
		want      string
	}{
		{"not the proxy", researcher, stubtest.JSON(t, usage("T-1", patientID, receiverID)), "submitter cqu-researcher of OrgThirdPartyMSP is not the sharing proxy: the proxy belongs to a government's organisation [OrgGovernmentMSP]"},
		{"proxy attribute false", notProxy, stubtest.JSON(t, usage("T-1", patientID, receiverID)), "submitter svc-proxy of OrgGovernmentMSP is not the sharing proxy (no medledger.proxy=true in its certificate)"},
		{"proxy attribute from a hospital's CA", hospitalProxy, stubtest.JSON(t, usage("T-1", patientID, receiverID)), "submitter svc-storage of OrgPatientMSP is not the sharing proxy: the proxy belongs to a government's organisation"},
		{"proxy attribute from a third party's CA", thirdPartyProxy, stubtest.JSON(t, usage("T-1", patientID, receiverID)), "submitter svc-proxy of OrgThirdPartyMSP is not the sharing proxy: the proxy belongs to a government's organisation"},
		{"sender is receiver", proxy(t), stubtest.JSON(t, usage("T-1", patientID, patientID)), "sender and receiver are both pat-0001"},
		{"malformed JSON", proxy(t), `{`, "DataUsageEntity is not valid JSON"},
		{"wrong type", proxy(t), strings.Replace(stubtest.JSON(t, usage("T-1", patientID, receiverID)), `"T-1"`, `1`, 1), "treatmentId: Invalid type. Expected: string, given: integer"},
		{"digest not SHA-384", proxy(t), stubtest.JSON(t, withDigest), "dataMessageDigest: Does not match pattern"},
		{"backdated", proxy(t), stamped(-6 * time.Minute), "before the transaction's"},
		{"in the future", proxy(t), stamped(6 * time.Minute), "after the transaction's"},
		{"far in the future", proxy(t), stamped(24 * time.Hour), "records are accepted within ±5m0s of it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := stubtest.NewStub()
			stubtest.RequireError(t, contract().SaveDataUsage(stubtest.Context(t, stub, tc.submitter), tc.entity), tc.want)
			if len(stub.State) != 0 {
				t.Fatalf("a refused record wrote %d keys", len(stub.State))
			}
		})
	}
}

func TestReadsPerRole(t *testing.T) {
	stub := stubtest.NewStub()
	share(t, stub, usage("T-1", patientID, receiverID))
	readers := []struct {
		name   string
		reader stubtest.Identity
		pids   []string // the PIDs whose records it may read; the others are refused
	}{
		{"the sender", stubtest.NewIdentity(t, hospitals, patientID, nil), []string{patientID}},
		{"the receiver", stubtest.NewIdentity(t, thirdParty, receiverID, nil), []string{receiverID}},
		{"hospital staff", stubtest.NewIdentity(t, hospitals, "staff-0001", map[string]string{"medledger.role": "staff"}), []string{patientID, receiverID}},
		{"the government", stubtest.NewIdentity(t, government, "gov-auditor", nil), []string{patientID, receiverID}},
		{"the sharing proxy", proxy(t), []string{patientID, receiverID}},
		{"another patient", stubtest.NewIdentity(t, hospitals, "pat-0002", nil), nil},
		{"another third party", stubtest.NewIdentity(t, thirdParty, "mindray-analyst", nil), nil},
		{"a third party claiming staff", stubtest.NewIdentity(t, thirdParty, "cqu-staff", map[string]string{"medledger.role": "staff"}), nil},
	}
	for _, tc := range readers {
		t.Run(tc.name, func(t *testing.T) {
			ctx := stubtest.Context(t, stub, tc.reader)
			for _, pid := range []string{patientID, receiverID} {
				_, listed := contract().ListByPid(ctx, pid, 10, "")
				_, queried := contract().QueryByPidAndTid(ctx, pid, "T-1")
				allowed := strings.Contains(strings.Join(tc.pids, ","), pid)
				for name, err := range map[string]error{"ListByPid": listed, "QueryByPidAndTid": queried} {
					if allowed && err != nil {
						t.Errorf("%s(%s): %v", name, pid, err)
					}
					want := fmt.Sprintf("submitter %s of %s may not read the usage records of %s", tc.reader.Certificate.Subject.CommonName, tc.reader.MSPID, pid)
					if !allowed && (err == nil || !strings.Contains(err.Error(), want)) {
						t.Errorf("%s(%s): want %q, got %v", name, pid, want, err)
					}
				}
			}
		})
	}
}

func TestAListOfMoreThanOnePageIsCompleteThroughItsBookmark(t *testing.T) {
	stub := stubtest.NewStub()
	want := []string{}
	for n := range 7 {
		tid := fmt.Sprintf("T-%02d", n)
		share(t, stub, usage(tid, patientID, receiverID), usage(tid, receiverID, patientID), usage(tid, "pat-0002", receiverID))
		want = append(want, tid+":"+patientID, tid+":"+receiverID) // in key order: received, then sent
	}
	ctx := stubtest.Context(t, stub, proxy(t))
	got, bookmark := []string{}, ""
	for pages := 1; ; pages++ {
		list := stubtest.DecodePage[entities.DataUsage](t)(contract().ListByPid(ctx, patientID, 3, bookmark))
		for _, record := range list.Records {
			got = append(got, record.TreatmentID+":"+record.ReceiverPseudonymID)
		}
		if bookmark = list.Bookmark; bookmark == "" {
			break
		}
		if pages > 5 {
			t.Fatalf("more than 5 pages of 3 for 14 records")
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", got, want)
	}
	_, err := contract().ListByPid(ctx, patientID, 101, "")
	stubtest.RequireError(t, err, "page size 101 is outside 1..100")
	_, err = contract().ListByPid(ctx, patientID, 10, "cGF0LTAwMDI")
	stubtest.RequireError(t, err, "is not one of a list of datausage records of pat-0001")
}

func TestAQueryOfMoreSharesThanItReturnsIsRefused(t *testing.T) {
	stub := stubtest.NewStub()
	record := []byte(stubtest.JSON(t, usage("T-1", patientID, receiverID)))
	for n := range maxSharesPerTreatment + 1 {
		key, _ := stub.CreateCompositeKey(usageKind, []string{patientID, "T-1", sent, receiverID, fmt.Sprintf("%064x", n)})
		stub.State[key] = record
	}
	ctx := stubtest.Context(t, stub, proxy(t))
	_, err := contract().QueryByPidAndTid(ctx, patientID, "T-1")
	stubtest.RequireError(t, err, "more than 1000 datausage records of pat-0001, T-1: list them page by page with ListByPid")
	delete(stub.State, func() string {
		key, _ := stub.CreateCompositeKey(usageKind, []string{patientID, "T-1", sent, receiverID, fmt.Sprintf("%064x", 0)})
		return key
	}())
	if all := decodeList(t)(contract().QueryByPidAndTid(ctx, patientID, "T-1")); len(all) != maxSharesPerTreatment {
		t.Fatalf("%d records, want %d", len(all), maxSharesPerTreatment)
	}
}

func TestTheContractAPIAcceptsTheContractAsDefault(t *testing.T) {
	chaincode, err := contractapi.NewChaincode(contract())
	if err != nil {
		t.Fatal(err)
	}
	if chaincode.DefaultContract != "DataUsageContract" {
		t.Fatalf("default contract %q", chaincode.DefaultContract)
	}
}

// requireTwoRecordsOfT1ForBothParties: the sender and the receiver each list, and find under T-1, two records.
func requireTwoRecordsOfT1ForBothParties(t *testing.T, stub *stubtest.Stub) {
	t.Helper()
	ctx := stubtest.Context(t, stub, proxy(t))
	for _, pid := range []string{patientID, receiverID} {
		if list := stubtest.DecodePage[entities.DataUsage](t)(contract().ListByPid(ctx, pid, 10, "")); len(list.Records) != 2 {
			t.Fatalf("ListByPid(%s): %d records, want 2", pid, len(list.Records))
		}
		if byTid := decodeList(t)(contract().QueryByPidAndTid(ctx, pid, "T-1")); len(byTid) != 2 {
			t.Fatalf("QueryByPidAndTid(%s, T-1): %d records, want 2", pid, len(byTid))
		}
	}
}
