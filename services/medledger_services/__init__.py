"""MedLedger's Python services: the ledger entities, a Fabric Gateway client and the command line on top."""
