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
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// fabricCAAttributes is the extension in which Fabric CA puts an identity's ":ecert" attributes.
var fabricCAAttributes = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Stub is a ledger in memory. The ChaincodeStubInterface it embeds is nil: a method the contracts
// are not expected to call panics, which shows up as a test failure.
type Stub struct {
	shim.ChaincodeStubInterface
	State   map[string][]byte
	creator []byte
}

// NewStub returns an empty ledger.
func NewStub() *Stub { return &Stub{State: map[string][]byte{}} }

func (s *Stub) GetState(key string) ([]byte, error) { return s.State[key], nil }

func (s *Stub) PutState(key string, value []byte) error {
	s.State[key] = value
	return nil
}

func (s *Stub) GetCreator() ([]byte, error) { return s.creator, nil }

// CreateCompositeKey builds keys the way the shim does: 0x00, type, then each attribute, each followed by 0x00.
func (s *Stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return "\x00" + objectType + "\x00" + strings.Join(append(attributes, ""), "\x00"), nil
}

func (s *Stub) GetStateByPartialCompositeKey(objectType string, attributes []string) (shim.StateQueryIteratorInterface, error) {
	prefix, _ := s.CreateCompositeKey(objectType, attributes)
	iterator := &iterator{}
	for key, value := range s.State {
		if strings.HasPrefix(key, prefix) {
			iterator.results = append(iterator.results, &queryresult.KV{Key: key, Value: value})
		}
	}
	sort.Slice(iterator.results, func(i, j int) bool { return iterator.results[i].Key < iterator.results[j].Key })
	return iterator, nil
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

// Context returns a transaction context in which identity submits to stub.
func Context(t *testing.T, stub *Stub, identity Identity) *contractapi.TransactionContext {
	t.Helper()
	creator, err := proto.Marshal(&msp.SerializedIdentity{Mspid: identity.MSPID, IdBytes: identity.PEM})
	if err != nil {
		t.Fatal(err)
	}
	stub.creator = creator
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
