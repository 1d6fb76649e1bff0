// Package stubtest gives chaincode unit tests an in-memory ledger and real X.509 client identities.
// Only for tests: the lab tests run the same contracts on real peers.
package stubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fabricCAAttributes is the extension in which Fabric CA puts an identity's ":ecert" attributes.
var fabricCAAttributes = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Stub is a ledger in memory. The ChaincodeStubInterface it embeds is nil: a method the contracts
// are not expected to call panics, which shows up as a test failure.
//
// Each Context starts a transaction: a fresh TxID and TxTime (now); a test may set TxTime after
// Context to stamp the transaction otherwise.
type Stub struct {
	shim.ChaincodeStubInterface
	State   map[string][]byte
	TxID    string
	TxTime  time.Time
	creator []byte
	txCount int
}

// NewStub returns an empty ledger.
func NewStub() *Stub { return &Stub{State: map[string][]byte{}} }

func (s *Stub) GetState(key string) ([]byte, error) { return s.State[key], nil }

func (s *Stub) PutState(key string, value []byte) error {
	s.State[key] = value
	return nil
}

func (s *Stub) GetCreator() ([]byte, error) { return s.creator, nil }

func (s *Stub) GetTxID() string { return s.TxID }

func (s *Stub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(s.TxTime), nil
}

// CreateCompositeKey builds keys the way the shim does: 0x00, type, then each attribute, each followed by 0x00.
func (s *Stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return "\x00" + objectType + "\x00" + strings.Join(append(attributes, ""), "\x00"), nil
}

// keysFrom returns the keys in [start, end), in order, as LevelDB iterates them.
func (s *Stub) keysFrom(start, end string) []string {
	keys := []string{}
	for key := range s.State {
		if start <= key && key < end {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys
}

func (s *Stub) GetStateByPartialCompositeKey(objectType string, attributes []string) (shim.StateQueryIteratorInterface, error) {
	prefix, _ := s.CreateCompositeKey(objectType, attributes)
	iterator := &iterator{}
	for _, key := range s.keysFrom(prefix, prefix+string(utf8.MaxRune)) {
		iterator.results = append(iterator.results, &queryresult.KV{Key: key, Value: s.State[key]})
	}
	return iterator, nil
}

// GetStateByPartialCompositeKeyWithPagination answers as a peer with LevelDB does: the range runs from
// the partial key to the partial key followed by U+10FFFF; a bookmark replaces the range's start, as
// the peer does without checking it; the bookmark returned is the next key in the range, or empty.
func (s *Stub) GetStateByPartialCompositeKeyWithPagination(objectType string, attributes []string, pageSize int32,
	bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if pageSize <= 0 {
		return nil, nil, fmt.Errorf("stubtest: page size %d", pageSize)
	}
	prefix, _ := s.CreateCompositeKey(objectType, attributes)
	start, end := prefix, prefix+string(utf8.MaxRune)
	if bookmark != "" {
		start = bookmark
	}
	keys := s.keysFrom(start, end)
	next := ""
	if len(keys) > int(pageSize) {
		keys, next = keys[:pageSize], keys[pageSize]
	}
	iterator := &iterator{}
	for _, key := range keys {
		iterator.results = append(iterator.results, &queryresult.KV{Key: key, Value: s.State[key]})
	}
	return iterator, &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(keys)), Bookmark: next}, nil
}

type iterator struct {
	results []*queryresult.KV
}

func (i *iterator) HasNext() bool { return len(i.results) > 0 }
func (i *iterator) Close() error  { return nil }
func (i *iterator) Next() (*queryresult.KV, error) {
	next := i.results[0]
	i.results = i.results[1:]
	return next, nil
}

// Identity is a client enrolled the way Fabric CA enrols one: an ECDSA key and a certificate whose
// common name is the enrolment ID, with the CA's attribute extension.
type Identity struct {
	MSPID       string
	Key         *ecdsa.PrivateKey
	Certificate *x509.Certificate
	PEM         []byte
}

// NewIdentity makes a P-256 identity; attributes go where Fabric CA puts ":ecert" attributes.
func NewIdentity(t *testing.T, mspID, enrolmentID string, attributes map[string]string) Identity {
	return NewIdentityOnCurve(t, elliptic.P256(), mspID, enrolmentID, attributes)
}

// NewIdentityOnCurve is NewIdentity with another curve.
func NewIdentityOnCurve(t *testing.T, curve elliptic.Curve, mspID, enrolmentID string, attributes map[string]string) Identity {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: enrolmentID, OrganizationalUnit: []string{"client"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if attributes != nil {
		value, err := json.Marshal(map[string]map[string]string{"attrs": attributes})
		if err != nil {
			t.Fatal(err)
		}
		template.ExtraExtensions = []pkix.Extension{{Id: fabricCAAttributes, Value: value}}
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certificate, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Identity{MSPID: mspID, Key: key, Certificate: certificate, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Sign returns the hex DER ECDSA signature of message (SHA-256; records use the curve's hash, and
// tests that need P-384 sign themselves).
func (i Identity) Sign(t *testing.T, message []byte) string {
	t.Helper()
	digest := sha256.Sum256(message)
	signature, err := ecdsa.SignASN1(rand.Reader, i.Key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(signature)
}

// Context starts a transaction (a new TxID, stamped now) in which identity submits to stub.
func Context(t *testing.T, stub *Stub, identity Identity) *contractapi.TransactionContext {
	t.Helper()
	creator, err := proto.Marshal(&msp.SerializedIdentity{Mspid: identity.MSPID, IdBytes: identity.PEM})
	if err != nil {
		t.Fatal(err)
	}
	stub.creator = creator
	stub.txCount++
	stub.TxID = fmt.Sprintf("%064x", stub.txCount)
	stub.TxTime = time.Now()
	clientIdentity, err := cid.New(stub)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &contractapi.TransactionContext{}
	ctx.SetStub(stub)
	ctx.SetClientIdentity(clientIdentity)
	return ctx
}

// JSON is value as JSON text, the form in which entities reach the chaincode.
func JSON(t *testing.T, value any) string {
	t.Helper()
	text, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// RequireError fails the test unless err says want.
func RequireError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want an error containing %q, got %v", want, err)
	}
}

// Page is one page of a contract's ListByPid answer.
type Page[Record any] struct {
	Records  []Record `json:"records"`
	Bookmark string   `json:"bookmark"`
	Fetched  int      `json:"fetched"`
}

// DecodePage reads a page of a list and checks its count:
// DecodePage[entities.PatientData](t)(contract.ListByPid(ctx, pid, size, bookmark)).
func DecodePage[Record any](t *testing.T) func(string, error) Page[Record] {
	return func(text string, err error) Page[Record] {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var decoded Page[Record]
		if err := json.Unmarshal([]byte(text), &decoded); err != nil || decoded.Fetched != len(decoded.Records) {
			t.Fatalf("%s: %v", text, err)
		}
		return decoded
	}
}
