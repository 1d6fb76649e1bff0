"""What every MedLedger service runs on: typed settings, signed-request authentication, one-line 4xx errors."""
