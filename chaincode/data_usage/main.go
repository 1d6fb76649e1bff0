// Command data_usage serves the Data Usage Channel's chaincode as a service beside a peer.
package main

import (
	"log"

	"medledger/chaincode/internal/ccserver"
)

func main() {
	ccserver.PrintVersionIfAsked()
	if err := ccserver.Serve(&DataUsageContract{}); err != nil {
		log.Fatal(err)
	}
}
