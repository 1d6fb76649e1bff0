"""What the data client and the services share: the ledger's records and the services' request formats."""
