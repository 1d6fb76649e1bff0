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

// bindingKind names the composite keys (PID) that bind a patient to the MSP ID of the hospital
// organisation their first record came from: the value is that MSP ID. Written once, then only read.
const bindingKind = "pidorg"

// PatientDataContract is the Patient Channel's chaincode (the paper's Algorithm 2).
type PatientDataContract struct {
	contractapi.Contract
	// Organisations are the hospitals' MSPs (patients, staff) and the governments' (supervision).
	Organisations submitter.Organisations
}

// SavePatientData stores an index record written and signed by the patient it names, from the
// hospital organisation the patient is bound to (the first record binds it).
func (c *PatientDataContract) SavePatientData(ctx contractapi.TransactionContextInterface, entityJSON string) error {
	record, err := entities.ParsePatientData(entityJSON)
	if err != nil {
		return err
	}
	author, err := submitter.Of(ctx.GetClientIdentity())
	if err != nil {
		return err
	}
	pid := record.PatientPseudonymID
	if err := author.RequirePatient(pid, c.Organisations); err != nil {
		return err
	}
	bindings := ledger.Store{Stub: ctx.GetStub(), Kind: bindingKind}
	bound, err := bindings.Get(pid)
	if err != nil {
		return err
	}
	if bound != nil && string(bound) != author.MSPID {
		return fmt.Errorf("patient %s is bound to %s, where their first record came from: a record for them from %s is refused",
			pid, bound, author.MSPID)
	}
	signed := []byte(record.DataMessageDigest + pid)
	if err := author.VerifySignature(record.DataSignaturePatient, signed); err != nil {
		return fmt.Errorf("dataSignaturePatient: %w", err)
	}
	if err := ledger.RequireTimestampNearTransaction(ctx.GetStub(), record.Timestamp); err != nil {
		return err
	}
	if err := (ledger.Store{Stub: ctx.GetStub(), Kind: recordKind}).Create(record, pid, record.TreatmentID); err != nil {
		return err
	}
	if bound == nil {
		return bindings.Put([]byte(author.MSPID), pid)
	}
	return nil
}

// requireReader allows patient pid (bound to the reader's hospital, or not yet bound), staff of the
// hospital pid is bound to, and the government.
func (c *PatientDataContract) requireReader(ctx contractapi.TransactionContextInterface, pid string) error {
	reader, err := submitter.Of(ctx.GetClientIdentity())
	if err != nil {
		return err
	}
	if reader.IsGovernment(c.Organisations) {
		return nil
	}
	if reader.IsHospitalMember(c.Organisations) {
		bound, err := ledger.Store{Stub: ctx.GetStub(), Kind: bindingKind}.Get(pid)
		if err != nil {
			return err
		}
		ownHospital := string(bound) == reader.MSPID
		if reader.IsPatient(pid, c.Organisations) && (bound == nil || ownHospital) {
			return nil
		}
		if ownHospital && reader.IsHospitalStaff(c.Organisations) {
			return nil
		}
	}
	return fmt.Errorf("submitter %s of %s may not read patient %s's records: patients read their own, "+
		"hospital staff (%s=%s) those of their hospital's patients, the government all",
		reader.EnrolmentID(), reader.MSPID, pid, submitter.RoleAttribute, submitter.StaffRole)
}

// QueryByPidAndTid returns the record of a patient's treatment.
func (c *PatientDataContract) QueryByPidAndTid(ctx contractapi.TransactionContextInterface, pid, tid string) (string, error) {
	if err := entities.CheckPidAndTid(pid, tid); err != nil {
		return "", err
	}
	if err := c.requireReader(ctx, pid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: recordKind}.Read(pid, tid)
}

// ListByPid returns one page of a patient's records, ordered by TID, as JSON
// {"records": [...], "bookmark": "...", "fetched": n}: pageSize 1..100; bookmark empty for the first
// page, else the previous page's; the last page's bookmark is empty.
func (c *PatientDataContract) ListByPid(ctx contractapi.TransactionContextInterface, pid string, pageSize int, bookmark string) (string, error) {
	if err := entities.CheckValue("pseudonymId", pid); err != nil {
		return "", err
	}
	if err := c.requireReader(ctx, pid); err != nil {
		return "", err
	}
	return ledger.Store{Stub: ctx.GetStub(), Kind: recordKind}.List(pageSize, bookmark, pid)
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
