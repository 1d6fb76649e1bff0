"""The host's end of the collector's uplink: checks each record's MAC and sequence, stores readings before
acknowledging them, and writes a surgery's SHR for the data client (firmware/ is the other end)."""
