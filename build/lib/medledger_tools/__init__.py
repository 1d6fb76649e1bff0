"""MedLedger command-line tools: the lab, artifact builders and shared safety checks."""
