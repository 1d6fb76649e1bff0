package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"medledger/chaincode/entities"
	"medledger/chaincode/internal/stubtest"
)

const (
	government   = "OrgGovernmentMSP"
	thirdParty   = "OrgThirdPartyMSP"
	patientID    = "pat-0001"
	receiverID   = "cqu-researcher"
	dataDigest   = "f61b4bb7d39e174d97724bcb19ba1ff928087eff25bfcbeadf26a3bd3354a0e2de7614b09c696f1f4d5023723fab3e36"
	sharingProxy = "svc-proxy"
)

func proxy(t *testing.T) stubtest.Identity {
	return stubtest.NewIdentity(t, government, sharingProxy, map[string]string{"medledger.proxy": "true"})
}

func usage(tid, sender, receiver string) map[string]any {
	return map[string]any{
		"treatmentId":         tid,
		"senderPseudonymId":   sender,
		"receiverPseudonymId": receiver,
		"timestamp":           1607157760372,
		"dataMessageDigest":   dataDigest,
	}
}

// decodeList reads a query's JSON array: decodeList(t)(contract.ListByPid(ctx, pid)).
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
	ctx := stubtest.Context(t, stub, proxy(t))
	contract := &DataUsageContract{}
	record := usage("T-1", patientID, receiverID)

	if err := contract.SaveDataUsage(ctx, stubtest.JSON(t, record)); err != nil {
		t.Fatal(err)
	}

	for _, pid := range []string{patientID, receiverID} {
		list := decodeList(t)(contract.ListByPid(ctx, pid))
		if len(list) != 1 || list[0].ReceiverPseudonymID != receiverID || list[0].DataMessageDigest != dataDigest {
			t.Fatalf("ListByPid(%s) = %+v", pid, list)
		}
		if byTid := decodeList(t)(contract.QueryByPidAndTid(ctx, pid, "T-1")); len(byTid) != 1 {
			t.Fatalf("QueryByPidAndTid(%s, T-1) = %+v", pid, byTid)
		}
	}
	if none := decodeList(t)(contract.QueryByPidAndTid(ctx, patientID, "T-2")); len(none) != 0 {
		t.Fatalf("another treatment: %+v", none)
	}
}

func TestSharesBothWaysForOneTreatmentAreDifferentRecords(t *testing.T) {
	stub := stubtest.NewStub()
	ctx := stubtest.Context(t, stub, proxy(t))
	contract := &DataUsageContract{}
	if err := contract.SaveDataUsage(ctx, stubtest.JSON(t, usage("T-1", patientID, receiverID))); err != nil {
		t.Fatal(err)
	}
	if err := contract.SaveDataUsage(ctx, stubtest.JSON(t, usage("T-1", receiverID, patientID))); err != nil {
		t.Fatal(err)
	}
	if list := decodeList(t)(contract.ListByPid(ctx, patientID)); len(list) != 2 {
		t.Fatalf("%d records for the patient, want 2", len(list))
	}
}

func TestBadUsageRecordsAreRefusedAndWriteNothing(t *testing.T) {
	researcher := stubtest.NewIdentity(t, thirdParty, receiverID, nil)
	notProxy := stubtest.NewIdentity(t, government, sharingProxy, map[string]string{"medledger.proxy": "false"})
	withDigest := usage("T-1", patientID, receiverID)
	withDigest["dataMessageDigest"] = "af1acd6afca06ab0d2790048ffb90ad9593fb8c2"
	cases := []struct {
		name      string
		submitter stubtest.Identity
		entity    string
		want      string
	}{
		{"not the proxy", researcher, stubtest.JSON(t, usage("T-1", patientID, receiverID)), "submitter cqu-researcher of OrgThirdPartyMSP is not the sharing proxy (no medledger.proxy=true in its certificate)"},
		{"proxy attribute false", notProxy, stubtest.JSON(t, usage("T-1", patientID, receiverID)), "is not the sharing proxy"},
		{"sender is receiver", proxy(t), stubtest.JSON(t, usage("T-1", patientID, patientID)), "sender and receiver are both pat-0001"},
		{"malformed JSON", proxy(t), `{`, "DataUsageEntity is not valid JSON"},
		{"wrong type", proxy(t), strings.Replace(stubtest.JSON(t, usage("T-1", patientID, receiverID)), `"T-1"`, `1`, 1), "treatmentId: Invalid type. Expected: string, given: integer"},
		{"digest not SHA-384", proxy(t), stubtest.JSON(t, withDigest), "dataMessageDigest: Does not match pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := stubtest.NewStub()
			err := (&DataUsageContract{}).SaveDataUsage(stubtest.Context(t, stub, tc.submitter), tc.entity)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
			if len(stub.State) != 0 {
				t.Fatalf("a refused record wrote %d keys", len(stub.State))
			}
		})
	}
}

func TestADuplicateShareIsRefused(t *testing.T) {
	stub := stubtest.NewStub()
	ctx := stubtest.Context(t, stub, proxy(t))
	contract := &DataUsageContract{}
	record := stubtest.JSON(t, usage("T-1", patientID, receiverID))
	if err := contract.SaveDataUsage(ctx, record); err != nil {
		t.Fatal(err)
	}
	err := contract.SaveDataUsage(ctx, record)
	if err == nil || !strings.Contains(err.Error(), "a datausage record for pat-0001, T-1, sent, cqu-researcher already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	if len(stub.State) != 2 {
		t.Fatalf("%d keys after a refused duplicate, want 2", len(stub.State))
	}
}

func TestTheContractAPIAcceptsTheContractAsDefault(t *testing.T) {
	chaincode, err := contractapi.NewChaincode(&DataUsageContract{})
	if err != nil {
		t.Fatal(err)
	}
	if chaincode.DefaultContract != "DataUsageContract" {
		t.Fatalf("default contract %q", chaincode.DefaultContract)
	}
}
