// Package entities holds the ledger's records as ledger_entities.schema.json defines them (the one
// definition, shared with the Python services and the tests) and checks JSON text against it.
package entities

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

//go:embed ledger_entities.schema.json
var schemaJSON []byte

// PatientData is the paper's PatientDataEntity: the index record of one piece of medical data.
type PatientData struct {
	DataMessageDigest    string `json:"dataMessageDigest"`
	DataSaveURL          string `json:"dataSaveUrl"`
	DataSignatureDoctor  string `json:"dataSignatureDoctor"`
	DataSignaturePatient string `json:"dataSignaturePatient"`
	DoctorPseudonymID    string `json:"doctorPseudonymId"`
	PatientPseudonymID   string `json:"patientPseudonymId"`
	Timestamp            int64  `json:"timestamp"`
	TreatmentID          string `json:"treatmentId"`
}

// DataUsage is the paper's DataUsageEntity: one share of medical data, from sender to receiver.
type DataUsage struct {
	TreatmentID         string `json:"treatmentId"`
	SenderPseudonymID   string `json:"senderPseudonymId"`
	ReceiverPseudonymID string `json:"receiverPseudonymId"`
	Timestamp           int64  `json:"timestamp"`
	DataMessageDigest   string `json:"dataMessageDigest"`
}

type schemaDocument struct {
	ID             string                     `json:"$id"`
	MaxEntityBytes int                        `json:"maxEntityBytes"`
	Definitions    map[string]json.RawMessage `json:"definitions"`
}

// The schema is embedded, so a failure here is a build defect: it panics at start, never mid-transaction.
// Every definition is compiled once, before the chaincode serves concurrent transactions.
var document, definitions = mustCompile()

func mustCompile() (schemaDocument, map[string]*gojsonschema.Schema) {
	var doc schemaDocument
	if err := json.Unmarshal(schemaJSON, &doc); err != nil || doc.ID == "" || doc.MaxEntityBytes <= 0 {
		panic(fmt.Sprintf("ledger_entities.schema.json lacks $id or maxEntityBytes: %v", err))
	}
	compiled := make(map[string]*gojsonschema.Schema, len(doc.Definitions))
	for name := range doc.Definitions {
		loader := gojsonschema.NewSchemaLoader()
		if err := loader.AddSchemas(gojsonschema.NewBytesLoader(schemaJSON)); err != nil {
			panic(fmt.Sprintf("ledger_entities.schema.json: %v", err))
		}
		schema, err := loader.Compile(gojsonschema.NewGoLoader(map[string]string{"$ref": doc.ID + "#/definitions/" + name}))
		if err != nil {
			panic(fmt.Sprintf("ledger_entities.schema.json: definition %s: %v", name, err))
		}
		compiled[name] = schema
	}
	return doc, compiled
}

func definition(name string) *gojsonschema.Schema {
	schema, ok := definitions[name]
	if !ok {
		panic("ledger_entities.schema.json has no definition " + name)
	}
	return schema
}

// MaxEntityBytes is the largest entity JSON text the ledger accepts.
func MaxEntityBytes() int { return document.MaxEntityBytes }

// ParsePatientData checks text against PatientDataEntity and decodes it.
func ParsePatientData(text string) (PatientData, error) {
	var record PatientData
	return record, parse(text, "PatientDataEntity", &record)
}

// ParseDataUsage checks text against DataUsageEntity and decodes it.
func ParseDataUsage(text string) (DataUsage, error) {
	var record DataUsage
	return record, parse(text, "DataUsageEntity", &record)
}

// CheckValue checks one value (a query argument) against a definition such as pseudonymId.
func CheckValue(name string, value any) error {
	result, err := definition(name).Validate(gojsonschema.NewGoLoader(value))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !result.Valid() {
		return fmt.Errorf("%q is not a valid %s: %s", value, name, describe(result.Errors()))
	}
	return nil
}

// CheckPidAndTid checks the arguments of a query by PID and TID.
func CheckPidAndTid(pid, tid string) error {
	if err := CheckValue("pseudonymId", pid); err != nil {
		return err
	}
	return CheckValue("treatmentId", tid)
}

func parse(text, name string, into any) error {
	if len(text) > document.MaxEntityBytes {
		return fmt.Errorf("%s is %d bytes; at most %d are accepted", name, len(text), document.MaxEntityBytes)
	}
	result, err := definition(name).Validate(gojsonschema.NewStringLoader(text))
	if err != nil {
		return fmt.Errorf("%s is not valid JSON: %w", name, err)
	}
	if !result.Valid() {
		return fmt.Errorf("invalid %s: %s", name, describe(result.Errors()))
	}
	if err := json.Unmarshal([]byte(text), into); err != nil {
		return fmt.Errorf("invalid %s: %w", name, err)
	}
	return nil
}

func describe(problems []gojsonschema.ResultError) string {
	lines := make([]string, 0, len(problems))
	for _, problem := range problems {
		lines = append(lines, problem.Field()+": "+problem.Description())
	}
	return strings.Join(lines, "; ")
}
