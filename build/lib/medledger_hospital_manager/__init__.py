"""The hospital manager (one per hospital): appointments, the paper's phase ②."""
