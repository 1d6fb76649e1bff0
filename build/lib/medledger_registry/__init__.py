"""The registry (the paper's SA, run by the government): registrations, pseudonyms, the certificate directory."""
