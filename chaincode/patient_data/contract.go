package main

import (
	"encoding/json"
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"medledger/chaincode/entities"
	"medledger/chaincode/internal/ledger"
	"medledger/chaincode/internal/submitter"
)

// recordKind names the composite keys (PID, TID) of index records: one key per record, so that writes
// for one patient touch different keys and never conflict (the paper kept one growing list per PID).
const recordKind = "patientdata"

// PatientDataContract is the Patient Channel's chaincode (the paper's Algorithm 2).
type PatientDataContract struct {
	contractapi.Contract
	// PatientMSPs are the organisations whose members are patients (the hospitals').
	PatientMSPs []string
}

// SavePatientData stores an index record written and signed by the patient it names.
func (c *PatientDataContract) SavePatientData(ctx contractapi.TransactionContextInterface, entityJSON string) error {
	record, err := entities.ParsePatientData(entityJSON)
	if err != nil {
		return err
	}
	author, err := submitter.Of(ctx.GetClientIdentity())
	if err != nil {
		return err
	}
	if err := author.RequirePatient(record.PatientPseudonymID, c.PatientMSPs); err != nil {
		return err
	}
	signed := []byte(record.DataMessageDigest + record.PatientPseudonymID)
	if err := author.VerifySignature(record.DataSignaturePatient, signed); err != nil {
		return fmt.Errorf("dataSignaturePatient: %w", err)
	}
	store := ledger.Store{Stub: ctx.GetStub(), Kind: recordKind}
	return store.Create(record, record.PatientPseudonymID, record.TreatmentID)
}

// QueryByPidAndTid returns the record of a patient's treatment.
func (c *PatientDataContract) QueryByPidAndTid(ctx contractapi.TransactionContextInterface, pid, tid string) (string, error) {
	if err := entities.CheckPidAndTid(pid, tid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: recordKind}.Read(pid, tid)
}

// ListByPid returns a patient's records as a JSON array, ordered by TID.
func (c *PatientDataContract) ListByPid(ctx contractapi.TransactionContextInterface, pid string) (string, error) {
	if err := entities.CheckValue("pseudonymId", pid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: recordKind}.List(pid)
}

// VerifyDigest says whether the record of (pid, tid) has this data digest: data fetched from storage is
// the data the patient indexed.
func (c *PatientDataContract) VerifyDigest(ctx contractapi.TransactionContextInterface, pid, tid, digest string) (bool, error) {
	if err := entities.CheckPidAndTid(pid, tid); err != nil {
		return false, err
	}
	if err := entities.CheckValue("sha384Hex", digest); err != nil {
		return false, err
	}
	stored, err := c.QueryByPidAndTid(ctx, pid, tid)
	if err != nil {
		return false, err
	}
	var record entities.PatientData
	if err := json.Unmarshal([]byte(stored), &record); err != nil {
		return false, fmt.Errorf("stored record of PID %s and TID %s is unreadable: %w", pid, tid, err)
	}
	return record.DataMessageDigest == digest, nil
}
