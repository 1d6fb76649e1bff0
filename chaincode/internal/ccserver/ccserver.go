// Package ccserver runs a contract as a chaincode-as-a-service server with mutual TLS.
package ccserver

import (
	"fmt"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Version is the chaincode artifact's version, set at build time (-ldflags -X ...ccserver.Version=).
var Version = "unreleased"

// PrintVersionIfAsked ends the process after printing Version when the only argument is "version",
// which the artifact checks run.
func PrintVersionIfAsked() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Println(Version)
		os.Exit(0)
	}
}

// Settings come from the environment the chaincode's systemd unit sets.
var settingNames = []string{
	"CHAINCODE_ID",             // the package ID the peer launches the chaincode as
	"CHAINCODE_SERVER_ADDRESS", // host:port to listen on
	"CHAINCODE_TLS_CERT_FILE",  // the server's TLS certificate
	"CHAINCODE_TLS_KEY_FILE",   // and key
	"CHAINCODE_CLIENT_CA_FILE", // the CA chain peers' client certificates must chain to
}

// Serve runs contract until the server stops. There is no plaintext mode: every setting is required.
func Serve(contract contractapi.ContractInterface) error {
	settings := map[string]string{}
	for _, name := range settingNames {
		settings[name] = os.Getenv(name)
		if settings[name] == "" {
			return fmt.Errorf("%s is not set", name)
		}
	}
	files := map[string][]byte{}
	for _, name := range settingNames[2:] {
		content, err := os.ReadFile(settings[name])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files[name] = content
	}
	chaincode, err := contractapi.NewChaincode(contract)
	if err != nil {
		return fmt.Errorf("cannot make the chaincode: %w", err)
	}
	server := &shim.ChaincodeServer{
		CCID:    settings["CHAINCODE_ID"],
		Address: settings["CHAINCODE_SERVER_ADDRESS"],
		CC:      chaincode,
		TLSProps: shim.TLSProperties{
			Cert:          files["CHAINCODE_TLS_CERT_FILE"],
			Key:           files["CHAINCODE_TLS_KEY_FILE"],
			ClientCACerts: files["CHAINCODE_CLIENT_CA_FILE"],
		},
	}
	return server.Start()
}
