// Package submitter decides whether the identity that signed a transaction may write a record.
package submitter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
)

// ProxyAttribute is the certificate attribute (from the CA) that marks the sharing proxy.
const ProxyAttribute = "medledger.proxy"

// Submitter is the client identity of the transaction being executed.
type Submitter struct {
	MSPID       string
	Certificate *x509.Certificate
	identity    cid.ClientIdentity
}

// Of reads the transaction's client identity.
func Of(identity cid.ClientIdentity) (Submitter, error) {
	mspID, err := identity.GetMSPID()
	if err != nil {
		return Submitter{}, fmt.Errorf("cannot read the submitter's MSP ID: %w", err)
	}
	certificate, err := identity.GetX509Certificate()
	if err != nil || certificate == nil {
		return Submitter{}, fmt.Errorf("the submitter has no X.509 certificate: %v", err)
	}
	return Submitter{MSPID: mspID, Certificate: certificate, identity: identity}, nil
}

// EnrolmentID is the ID the CA enrolled the submitter under (the certificate's common name).
func (s Submitter) EnrolmentID() string { return s.Certificate.Subject.CommonName }

// RequirePatient allows only patient pid of a patients' organisation: a patient writes only their own records.
func (s Submitter) RequirePatient(pid string, patientMSPs []string) error {
	if !slices.Contains(patientMSPs, s.MSPID) {
		return fmt.Errorf("submitter %s of %s is not a patient: patients belong to %v", s.EnrolmentID(), s.MSPID, patientMSPs)
	}
	if s.EnrolmentID() != pid {
		return fmt.Errorf("submitter %s is not patient %s: a patient writes only their own records", s.EnrolmentID(), pid)
	}
	return nil
}

// RequireProxy allows only identities whose certificate carries medledger.proxy=true.
func (s Submitter) RequireProxy() error {
	if err := s.identity.AssertAttributeValue(ProxyAttribute, "true"); err != nil {
		return fmt.Errorf("submitter %s of %s is not the sharing proxy (no %s=true in its certificate)",
			s.EnrolmentID(), s.MSPID, ProxyAttribute)
	}
	return nil
}

// VerifySignature checks a hex DER ECDSA signature over message with the submitter's public key,
// hashed with SHA-256 for P-256 keys and SHA-384 for P-384 keys.
func (s Submitter) VerifySignature(signatureHex string, message []byte) error {
	key, ok := s.Certificate.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("submitter %s has no ECDSA key; records are signed with ECDSA", s.EnrolmentID())
	}
	var digest hash.Hash
	switch key.Curve {
	case elliptic.P256():
		digest = sha256.New()
	case elliptic.P384():
		digest = sha512.New384()
	default:
		return fmt.Errorf("submitter %s has a key on %s; records are signed on P-256 or P-384",
			s.EnrolmentID(), key.Curve.Params().Name)
	}
	signature, err := hex.DecodeString(signatureHex)
	if err != nil {
		return fmt.Errorf("signature is not hex: %w", err)
	}
	digest.Write(message)
	if !ecdsa.VerifyASN1(key, digest.Sum(nil), signature) {
		return fmt.Errorf("signature does not verify with the certificate of %s", s.EnrolmentID())
	}
	return nil
}
