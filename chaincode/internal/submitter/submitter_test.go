package submitter

import (
	"slices"
	"strings"
	"testing"
)

func TestOrganisationsComeFromTheEnvironment(t *testing.T) {
	t.Setenv(HospitalMSPsVariable, "OrgPatientMSP,OrgSecondHospitalMSP")
	t.Setenv(GovernmentMSPsVariable, "OrgGovernmentMSP")
	orgs, err := OrganisationsFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(orgs.Hospitals, []string{"OrgPatientMSP", "OrgSecondHospitalMSP"}) || !slices.Equal(orgs.Governments, []string{"OrgGovernmentMSP"}) {
		t.Fatalf("%+v", orgs)
	}
}

func TestEveryKindMustBeNamedAndNoMSPHasTwoKinds(t *testing.T) {
	cases := []struct{ hospitals, governments, want string }{
		{"", "OrgGovernmentMSP", "MEDLEDGER_PATIENT_MSP_IDS is not set"},
		{"OrgPatientMSP", "", "MEDLEDGER_GOVERNMENT_MSP_IDS is not set"},
		{"OrgPatientMSP,OrgGovernmentMSP", "OrgGovernmentMSP", "OrgGovernmentMSP is both a hospital's and a government's MSP"},
	}
	for _, tc := range cases {
		t.Setenv(HospitalMSPsVariable, tc.hospitals)
		t.Setenv(GovernmentMSPsVariable, tc.governments)
		if _, err := OrganisationsFromEnvironment(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v", tc, err)
		}
	}
}
