"""The sharing proxy's routes, by resource: shares."""
