// Command data_usage serves the Data Usage Channel's chaincode as a service beside a peer.
package main

import (
	"log"

	"medledger/chaincode/internal/ccserver"
	"medledger/chaincode/internal/submitter"
)

func main() {
	ccserver.PrintVersionIfAsked()
	organisations, err := submitter.OrganisationsFromEnvironment()
	if err != nil {
		log.Fatal(err)
	}
	if err := ccserver.Serve(&DataUsageContract{Organisations: organisations}); err != nil {
		log.Fatal(err)
	}
}
