"""The data client: keys, encryption, the Gateway, the services' clients and the `medledger` command."""
