// Package ledger keeps records under composite keys: one key per record, created once.
package ledger

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Store is the records of one kind (the composite key's object type).
type Store struct {
	Stub shim.ChaincodeStubInterface
	Kind string
}

// Create writes record under (kind, attributes...) unless a record is already there.
func (s Store) Create(record any, attributes ...string) error {
	key, err := s.Stub.CreateCompositeKey(s.Kind, attributes)
	if err != nil {
		return fmt.Errorf("cannot make the %s key: %w", s.Kind, err)
	}
	existing, err := s.Stub.GetState(key)
	if err != nil {
		return fmt.Errorf("cannot read the ledger: %w", err)
	}
	if existing != nil {
		return fmt.Errorf("a %s record for %s already exists", s.Kind, strings.Join(attributes, ", "))
	}
	// Marshalling the typed record (fixed field order) gives every endorsing peer the same bytes.
	value, err := json.Marshal(record)
	if err != nil {
		return err
	}
	return s.Stub.PutState(key, value)
}

// Read returns the record stored under the full key.
func (s Store) Read(attributes ...string) (string, error) {
	key, err := s.Stub.CreateCompositeKey(s.Kind, attributes)
	if err != nil {
		return "", fmt.Errorf("cannot make the %s key: %w", s.Kind, err)
	}
	value, err := s.Stub.GetState(key)
	if err != nil {
		return "", fmt.Errorf("cannot read the ledger: %w", err)
	}
	if value == nil {
		return "", fmt.Errorf("no %s record for %s", s.Kind, strings.Join(attributes, ", "))
	}
	return string(value), nil
}

// List returns, as a JSON array in key order, every record whose key starts with the attributes.
func (s Store) List(attributes ...string) (string, error) {
	results, err := s.Stub.GetStateByPartialCompositeKey(s.Kind, attributes)
	if err != nil {
		return "", fmt.Errorf("cannot read the ledger: %w", err)
	}
	defer results.Close()
	records := []json.RawMessage{}
	for results.HasNext() {
		entry, err := results.Next()
		if err != nil {
			return "", fmt.Errorf("cannot read the ledger: %w", err)
		}
		records = append(records, entry.Value)
	}
	list, err := json.Marshal(records)
	return string(list), err
}
