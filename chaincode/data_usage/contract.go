package main

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"medledger/chaincode/entities"
	"medledger/chaincode/internal/ledger"
	"medledger/chaincode/internal/submitter"
)

// usageKind names the composite keys (PID, TID, direction, other PID) of usage records. Each record
// is stored twice, under its sender and its receiver, as the paper asks; the direction keeps A→B
// and B→A for one treatment apart.
const usageKind = "datausage"

const (
	sent     = "sent"
	received = "received"
)

// DataUsageContract is the Data Usage Channel's chaincode (the paper's Algorithm 3).
type DataUsageContract struct {
	contractapi.Contract
}

// SaveDataUsage stores a usage record written by the sharing proxy, under sender and receiver.
func (c *DataUsageContract) SaveDataUsage(ctx contractapi.TransactionContextInterface, entityJSON string) error {
	record, err := entities.ParseDataUsage(entityJSON)
	if err != nil {
		return err
	}
	author, err := submitter.Of(ctx.GetClientIdentity())
	if err != nil {
		return err
	}
	if err := author.RequireProxy(); err != nil {
		return err
	}
	if record.SenderPseudonymID == record.ReceiverPseudonymID {
		return fmt.Errorf("sender and receiver are both %s: a usage record is a share with someone else", record.SenderPseudonymID)
	}
	store := ledger.Store{Stub: ctx.GetStub(), Kind: usageKind}
	if err := store.Create(record, record.SenderPseudonymID, record.TreatmentID, sent, record.ReceiverPseudonymID); err != nil {
		return err
	}
	return store.Create(record, record.ReceiverPseudonymID, record.TreatmentID, received, record.SenderPseudonymID)
}

// QueryByPidAndTid returns, as a JSON array, the usage records of a treatment that involve pid.
func (c *DataUsageContract) QueryByPidAndTid(ctx contractapi.TransactionContextInterface, pid, tid string) (string, error) {
	if err := entities.CheckPidAndTid(pid, tid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: usageKind}.List(pid, tid)
}

// ListByPid returns, as a JSON array, every usage record that involves pid, as sender or receiver.
func (c *DataUsageContract) ListByPid(ctx contractapi.TransactionContextInterface, pid string) (string, error) {
	if err := entities.CheckValue("pseudonymId", pid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: usageKind}.List(pid)
}
