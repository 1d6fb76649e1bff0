// Command patient_data serves the Patient Channel's chaincode as a service beside a peer.
package main

import (
	"log"
	"os"
	"strings"

	"medledger/chaincode/internal/ccserver"
)

func main() {
	ccserver.PrintVersionIfAsked()
	patientMSPs := strings.FieldsFunc(os.Getenv("MEDLEDGER_PATIENT_MSP_IDS"), func(r rune) bool { return r == ',' })
	if len(patientMSPs) == 0 {
		log.Fatal("MEDLEDGER_PATIENT_MSP_IDS is not set: name the MSP IDs whose members are patients")
	}
	if err := ccserver.Serve(&PatientDataContract{PatientMSPs: patientMSPs}); err != nil {
		log.Fatal(err)
	}
}
