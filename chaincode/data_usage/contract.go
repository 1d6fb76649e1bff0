package main

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"medledger/chaincode/entities"
	"medledger/chaincode/internal/ledger"
	"medledger/chaincode/internal/submitter"
)

// usageKind names the composite keys (PID, TID, direction, other PID, transaction ID) of usage records.
// Each record is stored twice, under its sender and its receiver, as the paper asks; the direction
// keeps A→B and B→A for one treatment apart, and the transaction ID keeps every share: sharing one
// record with one receiver again is another record. Records written before the transaction ID was
// part of the key have four attributes; the queries, by PID or by PID and TID, find both.
const usageKind = "datausage"

const (
	sent     = "sent"
	received = "received"
)

// maxSharesPerTreatment is the most usage records QueryByPidAndTid returns; with more it refuses and
// ListByPid, page by page, lists them.
const maxSharesPerTreatment = 1000

// DataUsageContract is the Data Usage Channel's chaincode (the paper's Algorithm 3).
type DataUsageContract struct {
	contractapi.Contract
	// Organisations are the hospitals' MSPs (staff) and the governments' (supervision, the proxy).
	Organisations submitter.Organisations
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
	if err := author.RequireProxy(c.Organisations); err != nil {
		return err
	}
	if record.SenderPseudonymID == record.ReceiverPseudonymID {
		return fmt.Errorf("sender and receiver are both %s: a usage record is a share with someone else", record.SenderPseudonymID)
	}
	if err := ledger.RequireTimestampNearTransaction(ctx.GetStub(), record.Timestamp); err != nil {
		return err
	}
	share := ctx.GetStub().GetTxID()
	store := ledger.Store{Stub: ctx.GetStub(), Kind: usageKind}
	if err := store.Create(record, record.SenderPseudonymID, record.TreatmentID, sent, record.ReceiverPseudonymID, share); err != nil {
		return err
	}
	return store.Create(record, record.ReceiverPseudonymID, record.TreatmentID, received, record.SenderPseudonymID, share)
}

// requireReader allows pid themselves (sender or receiver: the enrolment ID is the PID), hospital
// staff and the government.
func (c *DataUsageContract) requireReader(ctx contractapi.TransactionContextInterface, pid string) error {
	reader, err := submitter.Of(ctx.GetClientIdentity())
	if err != nil {
		return err
	}
	if reader.EnrolmentID() == pid || reader.IsHospitalStaff(c.Organisations) || reader.IsGovernment(c.Organisations) {
		return nil
	}
	return fmt.Errorf("submitter %s of %s may not read the usage records of %s: senders and receivers read their own, "+
		"hospital staff (%s=%s) and the government all",
		reader.EnrolmentID(), reader.MSPID, pid, submitter.RoleAttribute, submitter.StaffRole)
}

// QueryByPidAndTid returns, as a JSON array, the usage records of a treatment that involve pid (at
// most maxSharesPerTreatment; with more it refuses, and ListByPid lists them).
func (c *DataUsageContract) QueryByPidAndTid(ctx contractapi.TransactionContextInterface, pid, tid string) (string, error) {
	if err := entities.CheckPidAndTid(pid, tid); err != nil {
		return "", err
	}
	if err := c.requireReader(ctx, pid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: usageKind}.ListAll(maxSharesPerTreatment, pid, tid)
}

// ListByPid returns one page of the usage records that involve pid, as sender or receiver, as JSON
// {"records": [...], "bookmark": "...", "fetched": n}: pageSize 1..100; bookmark empty for the first
// page, else the previous page's; the last page's bookmark is empty.
func (c *DataUsageContract) ListByPid(ctx contractapi.TransactionContextInterface, pid string, pageSize int, bookmark string) (string, error) {
	if err := entities.CheckValue("pseudonymId", pid); err != nil {
		return "", err
	}
	if err := c.requireReader(ctx, pid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: usageKind}.List(pageSize, bookmark, pid)
}
