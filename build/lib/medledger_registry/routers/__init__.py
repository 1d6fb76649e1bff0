"""The registry's routes, by resource: registrations, and the certificate directory."""
