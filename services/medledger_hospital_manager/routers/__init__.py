"""The hospital manager's routes, by resource: appointments."""
