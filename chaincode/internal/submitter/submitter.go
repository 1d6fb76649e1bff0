// Package submitter decides what the identity that signed a transaction may write and read: its roles
// come from its organisation's kind in the inventory (hospital, government) and its certificate.
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
	"os"
	"slices"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
)

// ProxyAttribute is the certificate attribute (from the CA) that marks the sharing proxy.
const ProxyAttribute = "medledger.proxy"

// RoleAttribute is the certificate attribute (from the CA) that gives a hospital identity its role;
// StaffRole marks hospital staff.
const (
	RoleAttribute = "medledger.role"
	StaffRole     = "staff"
)

// The chaincode servers' environment names the organisations of each kind (roles/fabric_chaincode).
const (
	HospitalMSPsVariable   = "MEDLEDGER_PATIENT_MSP_IDS"
	GovernmentMSPsVariable = "MEDLEDGER_GOVERNMENT_MSP_IDS"
)

// Organisations are the MSP IDs of the organisations of each kind that gives a role: members of a
// hospital's organisation are its patients and staff, members of a government's supervise.
type Organisations struct {
	Hospitals   []string
	Governments []string
}

// OrganisationsFromEnvironment reads the organisations from MEDLEDGER_PATIENT_MSP_IDS and
// MEDLEDGER_GOVERNMENT_MSP_IDS (comma-separated MSP IDs); both are required.
func OrganisationsFromEnvironment() (Organisations, error) {
	split := func(name string) ([]string, error) {
		ids := strings.FieldsFunc(os.Getenv(name), func(r rune) bool { return r == ',' || r == ' ' })
		if len(ids) == 0 {
			return nil, fmt.Errorf("%s is not set: name the MSP IDs of the organisations of that kind", name)
		}
		return ids, nil
	}
	hospitals, err := split(HospitalMSPsVariable)
	if err != nil {
		return Organisations{}, err
	}
	governments, err := split(GovernmentMSPsVariable)
	if err != nil {
		return Organisations{}, err
	}
	for _, id := range hospitals {
		if slices.Contains(governments, id) {
			return Organisations{}, fmt.Errorf("%s is both a hospital's and a government's MSP", id)
		}
	}
	return Organisations{Hospitals: hospitals, Governments: governments}, nil
}

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

// IsHospitalMember says whether the submitter belongs to a hospital's organisation.
func (s Submitter) IsHospitalMember(orgs Organisations) bool {
	return slices.Contains(orgs.Hospitals, s.MSPID)
}

// IsGovernment says whether the submitter belongs to a government's organisation.
func (s Submitter) IsGovernment(orgs Organisations) bool {
	return slices.Contains(orgs.Governments, s.MSPID)
}

// IsPatient says whether the submitter is patient pid: a hospital organisation's member enrolled as pid.
// Which hospital the PID is bound to is the caller's to check.
func (s Submitter) IsPatient(pid string, orgs Organisations) bool {
	return s.IsHospitalMember(orgs) && s.EnrolmentID() == pid
}

// IsHospitalStaff says whether the submitter is staff of its hospital: a hospital organisation's member
// whose certificate carries medledger.role=staff.
func (s Submitter) IsHospitalStaff(orgs Organisations) bool {
	return s.IsHospitalMember(orgs) && s.identity.AssertAttributeValue(RoleAttribute, StaffRole) == nil
}

// RequirePatient allows only patient pid of a hospital's organisation: a patient writes only their own records.
func (s Submitter) RequirePatient(pid string, orgs Organisations) error {
	if !s.IsHospitalMember(orgs) {
		return fmt.Errorf("submitter %s of %s is not a patient: patients belong to %v", s.EnrolmentID(), s.MSPID, orgs.Hospitals)
	}
	if s.EnrolmentID() != pid {
		return fmt.Errorf("submitter %s is not patient %s: a patient writes only their own records", s.EnrolmentID(), pid)
	}
	return nil
}

// RequireProxy allows only the sharing proxy: an identity of a government's organisation whose
// certificate carries medledger.proxy=true. The attribute from any other organisation's CA counts for nothing.
func (s Submitter) RequireProxy(orgs Organisations) error {
	if !s.IsGovernment(orgs) {
		return fmt.Errorf("submitter %s of %s is not the sharing proxy: the proxy belongs to a government's organisation %v",
			s.EnrolmentID(), s.MSPID, orgs.Governments)
	}
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
