// Package ledger keeps records under composite keys: one key per record, created once, listed in pages.
package ledger

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// MaxPageSize is the most records one page of a list holds; a page size outside 1..MaxPageSize is refused.
const MaxPageSize = 100

// TimestampTolerance is how far a record's timestamp may be from its transaction's (the time in the
// transaction's signed header, which the block keeps): records stamped earlier or later are refused.
const TimestampTolerance = 5 * time.Minute

// Store is the records of one kind (the composite key's object type).
type Store struct {
	Stub shim.ChaincodeStubInterface
	Kind string
}

// Page is one page of a list, as list queries return it (JSON): Bookmark, opaque, asks for the next
// page and is empty on the last one; Fetched is the number of records in this page.
type Page struct {
	Records  []json.RawMessage `json:"records"`
	Bookmark string            `json:"bookmark"`
	Fetched  int               `json:"fetched"`
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
	value, err := s.Get(attributes...)
	if err != nil {
		return "", err
	}
	if value == nil {
		return "", fmt.Errorf("no %s record for %s", s.Kind, strings.Join(attributes, ", "))
	}
	return string(value), nil
}

// Get returns the value stored under the full key, nil if there is none.
func (s Store) Get(attributes ...string) ([]byte, error) {
	key, err := s.Stub.CreateCompositeKey(s.Kind, attributes)
	if err != nil {
		return nil, fmt.Errorf("cannot make the %s key: %w", s.Kind, err)
	}
	value, err := s.Stub.GetState(key)
	if err != nil {
		return nil, fmt.Errorf("cannot read the ledger: %w", err)
	}
	return value, nil
}

// Put writes value under the full key, whatever is there.
func (s Store) Put(value []byte, attributes ...string) error {
	key, err := s.Stub.CreateCompositeKey(s.Kind, attributes)
	if err != nil {
		return fmt.Errorf("cannot make the %s key: %w", s.Kind, err)
	}
	return s.Stub.PutState(key, value)
}

// List returns one page, in key order, of the records whose key starts with the attributes. The
// bookmark is empty for the first page, else one that a page of these same attributes returned: any
// other is refused, since the peer would start the range there unchecked.
func (s Store) List(pageSize int, bookmark string, attributes ...string) (string, error) {
	if pageSize < 1 || pageSize > MaxPageSize {
		return "", fmt.Errorf("page size %d is outside 1..%d", pageSize, MaxPageSize)
	}
	prefix, err := s.Stub.CreateCompositeKey(s.Kind, attributes)
	if err != nil {
		return "", fmt.Errorf("cannot make the %s key: %w", s.Kind, err)
	}
	end := prefix + string(utf8.MaxRune) // the end of the peer's range for this partial key
	start := ""
	if bookmark != "" {
		key, err := base64.RawURLEncoding.DecodeString(bookmark)
		if err != nil || !strings.HasPrefix(string(key), prefix) || string(key) >= end {
			return "", fmt.Errorf("bookmark %q is not one of a list of %s records of %s",
				bookmark, s.Kind, strings.Join(attributes, ", "))
		}
		start = string(key)
	}
	results, metadata, err := s.Stub.GetStateByPartialCompositeKeyWithPagination(s.Kind, attributes, int32(pageSize), start)
	if err != nil {
		return "", fmt.Errorf("cannot read the ledger: %w", err)
	}
	defer results.Close()
	page := Page{Records: []json.RawMessage{}}
	for results.HasNext() {
		entry, err := results.Next()
		if err != nil {
			return "", fmt.Errorf("cannot read the ledger: %w", err)
		}
		page.Records = append(page.Records, entry.Value)
	}
	page.Fetched = len(page.Records)
	// LevelDB gives the next key in the range, or nothing after the last; CouchDB gives the range's
	// end once it has run out: both mean this was the last page.
	if next := metadata.GetBookmark(); next != "" && next != end {
		if !strings.HasPrefix(next, prefix) {
			return "", fmt.Errorf("the ledger's bookmark is outside the %s records of %s", s.Kind, strings.Join(attributes, ", "))
		}
		page.Bookmark = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	text, err := json.Marshal(page)
	return string(text), err
}

// ListAll returns, as a JSON array in key order, every record whose key starts with the attributes, or
// an error when there are more than limit of them: never a silently shortened list.
func (s Store) ListAll(limit int, attributes ...string) (string, error) {
	results, metadata, err := s.Stub.GetStateByPartialCompositeKeyWithPagination(s.Kind, attributes, int32(limit), "")
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
	prefix, _ := s.Stub.CreateCompositeKey(s.Kind, attributes)
	if next := metadata.GetBookmark(); next != "" && next != prefix+string(utf8.MaxRune) {
		return "", fmt.Errorf("more than %d %s records of %s: list them page by page with ListByPid",
			limit, s.Kind, strings.Join(attributes, ", "))
	}
	list, err := json.Marshal(records)
	return string(list), err
}

// RequireTimestampNearTransaction refuses a record whose timestamp (milliseconds since the Unix epoch)
// is more than TimestampTolerance before or after the transaction's timestamp.
func RequireTimestampNearTransaction(stub shim.ChaincodeStubInterface, timestampMs int64) error {
	stamped, err := stub.GetTxTimestamp()
	if err != nil || stamped == nil {
		return fmt.Errorf("cannot read the transaction's timestamp: %v", err)
	}
	transaction := stamped.AsTime()
	record := time.UnixMilli(timestampMs).UTC()
	offset := record.Sub(transaction)
	if offset < -TimestampTolerance || offset > TimestampTolerance {
		direction := "before"
		if offset > 0 {
			direction = "after"
		}
		return fmt.Errorf("timestamp %d (%s) is %s %s the transaction's (%s): records are accepted within ±%s of it",
			timestampMs, record.Format(time.RFC3339Nano), offset.Abs().Round(time.Millisecond), direction,
			transaction.UTC().Format(time.RFC3339Nano), TimestampTolerance)
	}
	return nil
}
