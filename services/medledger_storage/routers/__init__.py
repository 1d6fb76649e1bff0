"""The storage service's routes, by resource: objects (with their grants) and the audit trail of reads."""
